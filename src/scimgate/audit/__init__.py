"""The SCIM request log: every SCIM request of an organization, encrypted at rest.

``capture`` records each exchange, ``recorder`` writes it in its own transaction,
``cipher`` and ``keys`` keep bodies unreadable without the key ring, ``retention``
purges old entries, ``rotation`` re-encrypts them, and ``queries`` finds them.
"""
