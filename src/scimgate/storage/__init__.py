"""Persistence: SQLAlchemy models, the database handle, query helpers and migrations.

Code here adds and flushes but never commits: the request (or CLI command) owns the
transaction.
"""
