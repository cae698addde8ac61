"""The rules of scimgate: organizations, tokens, users and groups.

Domain functions take an open session, add and flush, and never commit.
"""
