"""Server-wide random keys, created once in the database and shared by every worker."""

import base64
import secrets

from sqlalchemy.orm import Session

from scimgate.storage.models import ServerSecret
from scimgate.storage.statements import insert_ignoring_conflicts

CURSOR_KEY = "cursor-signing-key"


def get_or_create(session: Session, name: str) -> bytes:
    """Return the key called ``name``, generating 32 random bytes the first time.

    Two workers starting at once may both generate one; ON CONFLICT keeps the first
    stored, and both then read that one back.
    """
    fresh = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    session.execute(insert_ignoring_conflicts(session, ServerSecret).values(name=name, value=fresh))
    stored = session.get(ServerSecret, name)
    assert stored is not None  # inserted above, or already there
    return base64.urlsafe_b64decode(stored.value)
