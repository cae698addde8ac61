"""Purging request log entries older than their organization's retention period.

Entries are deleted in small batches, each in its own transaction, so a large purge
never holds SQLite's write lock long enough to make a SCIM request wait.
"""

import logging
from datetime import datetime, timedelta

import anyio
from sqlalchemy import CursorResult, delete, select
from starlette.concurrency import run_in_threadpool

from scimgate.storage.database import Database
from scimgate.storage.models import Organization, RequestLogEntry, utcnow

logger = logging.getLogger("scimgate.audit")

BATCH = 1000


def purge(db: Database, now: datetime | None = None, batch: int = BATCH) -> int:
    """Delete every entry older than its organization's retention; return how many."""
    now = now or utcnow()
    with db.transaction(write=False) as session:
        periods = list(session.scalars(select(Organization.log_retention_days).distinct()))
    return sum(_purge_period(db, days, now - timedelta(days=days), batch) for days in periods)


def _purge_period(db: Database, days: int, cutoff: datetime, batch: int) -> int:
    """Delete, batch by batch, the old entries of the organizations keeping ``days`` days."""
    orgs = select(Organization.id).where(Organization.log_retention_days == days)
    old = (
        select(RequestLogEntry.id)
        .where(RequestLogEntry.org_id.in_(orgs), RequestLogEntry.created_at < cutoff)
        .limit(batch)
    )
    removed = 0
    while True:
        with db.transaction(write=True) as session:
            result = session.execute(delete(RequestLogEntry).where(RequestLogEntry.id.in_(old)))
        assert isinstance(result, CursorResult)
        removed += result.rowcount
        if result.rowcount < batch:
            return removed


async def purge_periodically(db: Database, interval_seconds: float) -> None:
    """Purge every ``interval_seconds`` until cancelled; a failed purge waits for the next."""
    while True:
        await anyio.sleep(interval_seconds)
        try:
            removed = await run_in_threadpool(purge, db)
        except Exception:
            logger.exception("The periodic request log purge failed; it runs again later.")
            continue
        if removed:
            logger.info("Purged %d request log entries past their retention.", removed)
