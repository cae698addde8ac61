"""Resolving a SCIM request's organization and running its work in a transaction."""

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from scimgate.config import Settings
from scimgate.domain import organizations, persons, tokens
from scimgate.storage.database import Database
from scimgate.storage.models import Organization

from . import providers
from .throttle import Throttle

T = TypeVar("T")


def base_url(request: Request) -> str:
    """The SCIM base URL the client used: ``…/scim`` or ``…/scim/v2``."""
    settings: Settings = request.app.state.settings
    origin = settings.public_base_url or f"{request.url.scheme}://{request.url.netloc}"
    root_path: str = request.scope.get("root_path", "")
    return origin.rstrip("/") + root_path


async def tenant(request: Request) -> Organization:
    """Authenticate the bearer token and return its organization.

    Authentication reads only; the token's last use and the detected identity provider
    are recorded in a separate short transaction at most once a minute (or when the
    provider changes), so a read request stays a read.
    """
    db: Database = request.app.state.db
    authorization = request.headers.get("authorization")

    user_agent = request.headers.get("user-agent")
    idp, certain = providers.detect(user_agent, request.url.query)

    def authenticate() -> tokens.Credential:
        with db.transaction(write=False) as session:
            return tokens.authenticate(session, authorization)

    credential = await _read(db, authenticate)
    org = credential.org
    # A guess keeps what was recognized for sure.
    seen = idp if certain or org.detected_idp is None else None
    if credential.stale or (seen is not None and seen != org.detected_idp):

        def record() -> None:
            with db.transaction(write=True) as session:
                tokens.record_use(session, credential.token_id)
                organizations.record_idp(session, org.id, seen, user_agent)

        # A write may wait for the lock: always in a thread.
        await run_in_threadpool(record)
    # Kept on the request for its SCIM request log entry.
    request.state.scim_org_id = org.id
    # Counted once the organization is known, so unauthenticated requests count for none.
    throttle: Throttle = request.app.state.throttle
    throttle.admit(request, org.name, org.id)
    return org


async def in_transaction(request: Request, work: Callable[[Session], T], *, write: bool) -> T:
    """Run ``work`` in one transaction that commits only if it returns normally."""
    db: Database = request.app.state.db

    def job() -> T:
        with db.transaction(write=write) as session:
            result = work(session)
            warnings: list[str] = session.info.get(persons.WARNINGS, [])
        if warnings:
            # Kept on the request for the SCIM request log entry.
            request.state.scim_warnings = [*getattr(request.state, "scim_warnings", []), *warnings]
        return result

    return await (run_in_threadpool(job) if write else _read(db, job))


async def _read(db: Database, job: Callable[[], T]) -> T:
    """Run a read-only ``job`` where it costs least.

    SQLite reads run in this process, hold the GIL for nearly all their work and never
    wait for a lock (WAL mode), so a worker thread would add its hop (a measurable
    share of a small request) and no parallelism. PostgreSQL's network round trips
    would stall the event loop: they go to a worker thread. Writes always do, since
    they may wait for a lock.
    """
    if db.reads_in_process:
        return job()
    return await run_in_threadpool(job)
