"""Re-encrypting request log entries under the newest key of the ring.

After a new key is appended to ``SCIMGATE_LOG_KEYS`` (and every server restarted with
it), ``scimgate logs rekey`` moves the older entries to it; the old key can then be
dropped. Work goes in batches of entries, each batch in its own transaction.
"""

from dataclasses import dataclass

from sqlalchemy import select

from scimgate.errors import ScimError
from scimgate.storage.database import Database
from scimgate.storage.models import RequestLogEntry

from . import cipher
from .keys import KeyRing

BATCH = 200


@dataclass(frozen=True)
class Rekeyed:
    """What a rekey did."""

    key_id: str
    """The key every readable entry is now sealed with."""
    rekeyed: int
    unreadable: int
    """Entries left as they were: their key is not in the ring, or does not open them."""


def _rekey_entry(ring: KeyRing, entry: RequestLogEntry) -> bool:
    sealed = cipher.Sealed(key_id=entry.key_id, nonce=entry.nonce, ciphertext=entry.payload)
    try:
        payload = cipher.unseal(ring, entry.org_id, sealed)
    except ScimError:
        return False
    resealed = cipher.seal(ring, entry.org_id, payload)
    entry.key_id, entry.nonce, entry.payload = (
        resealed.key_id,
        resealed.nonce,
        resealed.ciphertext,
    )
    return True


def rekey(db: Database, ring: KeyRing, batch: int = BATCH) -> Rekeyed:
    """Seal every entry not under the newest key again under it."""
    newest = ring.newest_id
    after, rekeyed, unreadable = 0, 0, 0
    while True:
        with db.transaction(write=True) as session:
            rows = session.scalars(
                select(RequestLogEntry)
                .where(RequestLogEntry.key_id != newest, RequestLogEntry.id > after)
                .order_by(RequestLogEntry.id)
                .limit(batch)
            ).all()
            for entry in rows:
                if _rekey_entry(ring, entry):
                    rekeyed += 1
                else:
                    unreadable += 1
        if len(rows) < batch:
            return Rekeyed(key_id=newest, rekeyed=rekeyed, unreadable=unreadable)
        after = rows[-1].id
