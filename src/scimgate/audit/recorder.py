"""Writing log entries after the response, in their own transaction, never failing.

The organization is found from the token's hash, whether or not the token still
works, so a request refused with 401 (revoked or expired token) or 404 (the SSO gate)
is logged for the organization that issued the token. A request whose token matches
no organization has no log to go to: it is only counted.
"""

import logging
from dataclasses import dataclass

import anyio
from starlette.concurrency import run_in_threadpool

from scimgate.domain import tokens
from scimgate.storage.database import Database

from . import entries
from .exchange import Exchange
from .keys import KeyRing

logger = logging.getLogger("scimgate.audit")


@dataclass
class Counters:
    """What this process's request log did since it started."""

    written: int = 0
    """Entries written."""
    unattributed: int = 0
    """SCIM requests whose token (or lack of one) names no organization: not logged."""
    failed: int = 0
    """Entries lost because writing them failed (each failure is logged with its cause)."""


class Recorder:
    """Writes the entry of each captured exchange, counting what happened."""

    def __init__(
        self, db: Database, ring: KeyRing, prefixes: tuple[str, ...], max_body_bytes: int
    ) -> None:
        self.db = db
        self.ring = ring
        self.prefixes = prefixes
        self.max_body_bytes = max_body_bytes
        self.counters = Counters()

    async def record(self, exchange: Exchange) -> None:
        """Write the exchange's entry; whatever goes wrong is logged and counted, not raised."""
        try:
            # Shielded: a client hanging up must not cost the entry of its request.
            with anyio.CancelScope(shield=True):
                written = await run_in_threadpool(self.write, exchange)
        except Exception:
            self.counters.failed += 1
            logger.exception(
                "Could not write the request log entry of %s %s", exchange.method, exchange.path
            )
            return
        if written:
            self.counters.written += 1
        else:
            self.counters.unattributed += 1

    def write(self, exchange: Exchange) -> bool:
        """Write the entry in its own transactions; False when no organization owns it."""
        org_id = exchange.org_id
        if org_id is None and exchange.authorization:
            with self.db.transaction(write=False) as session:
                org_id = tokens.owner_of(session, exchange.authorization)
        # The secret is not needed any more; the entry never holds it.
        exchange.authorization = None
        if org_id is None:
            return False
        # Built (parsed, redacted, encrypted) before the write lock is taken.
        entry = entries.build(exchange, org_id, self.ring, self.prefixes)
        with self.db.transaction(write=True) as session:
            session.add(entry)
        return True
