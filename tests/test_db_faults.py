"""A busy or unreachable database answers 503 with Retry-After, never 500, and recovers.

SQLite: another process holding the write lock past ``sqlite_busy_timeout_ms``.
PostgreSQL: the server going away mid-load, simulated without touching the shared
server by connecting through a TCP proxy that the test stops (dropping every
connection, as a restart would) and starts again.
"""

import asyncio
import shutil
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from scimgate.app import create_app
from scimgate.config import Settings
from scimgate.storage.database import Database
from scimgate.storage.models import Person, User, UserEmail
from tests.conftest import (
    POSTGRES_URL,
    TEST_LOG_KEYS,
    TenantFactory,
    assert_scim_error,
    user_body,
)
from tests.serve import ServerProcess, environment, free_port, scim_client, set_up_organization


@pytest.fixture
def sqlite_path(sqlite_template: Path, tmp_path: Path) -> Path:
    """A migrated SQLite database file of this test's own."""
    path = tmp_path / "scimgate.db"
    shutil.copy(sqlite_template, path)
    return path


def test_sqlite_locked_by_another_process_answers_503(sqlite_path: Path) -> None:
    """A write that cannot get SQLite's lock in time answers 503 + Retry-After, then works.

    Reads go on meanwhile (WAL), and the refused write leaves nothing behind.
    """
    url = f"sqlite:///{sqlite_path}"
    settings = Settings(
        database_url=url, log_keys=SecretStr(TEST_LOG_KEYS), sqlite_busy_timeout_ms=200
    )
    setup = Database(url)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        tenant = TenantFactory(setup, client)("acme")
        assert tenant.post("/Users", json=user_body("first@example.com")).status_code == 201

        holder = sqlite3.connect(sqlite_path, isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            refused = tenant.post("/Users", json=user_body("blocked@example.com"))
            assert_scim_error(refused, 503)
            assert int(refused.headers["Retry-After"]) >= 1
            listed = tenant.get("/Users")
            assert listed.status_code == 200 and listed.json()["totalResults"] == 1
        finally:
            holder.rollback()
            holder.close()

        names = [u["userName"] for u in tenant.get("/Users").json()["Resources"]]
        assert names == ["first@example.com"]
        assert tenant.post("/Users", json=user_body("blocked@example.com")).status_code == 201
    setup.dispose()


class TcpProxy:
    """Forwards a local port to PostgreSQL; ``stop`` drops every connection at once."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    def start(self) -> None:
        """Listen (again) on the proxy's port."""

        async def listen() -> None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

        self._call(listen())

    def stop(self) -> None:
        """Stop listening and reset every open connection, as a crashed server would."""

        async def drop() -> None:
            assert self._server is not None
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()
            await self._server.wait_closed()

        self._call(drop())

    def close(self) -> None:
        """Stop the proxy and its event loop."""
        if self._server is not None and self._server.is_serving():
            self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, upstream_writer}
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass  # the other side is gone: drop this one too
        finally:
            self._writers.discard(writer)
            writer.transport.abort()


@dataclass
class Load:
    """Clients creating users in a loop; what each request was answered."""

    http: httpx2.Client
    acknowledged: dict[str, str] = field(default_factory=dict)
    """userName → id of every create answered 201."""
    attempted: set[str] = field(default_factory=set)
    statuses: list[int] = field(default_factory=list)
    missing_retry_after: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, client: int) -> None:
        """Create users until told to stop (bounded, in case nobody does)."""
        for n in range(5000):
            if self.stop.is_set():
                return
            name = f"load{client}-{n}@example.com"
            with self.lock:
                self.attempted.add(name)
            body = user_body(name, name={"givenName": "Load"}, emails=[{"value": name}])
            response = self.http.post("/Users", json=body)
            with self.lock:
                self.statuses.append(response.status_code)
                if response.status_code == 201:
                    self.acknowledged[name] = response.json()["id"]
                elif response.status_code == 503 and "Retry-After" not in response.headers:
                    self.missing_retry_after += 1
            if response.status_code == 503:
                time.sleep(0.05)

    def summary(self) -> str:
        """The answers so far, by status."""
        with self.lock:
            return str(sorted(Counter(self.statuses).items()))

    def count(self, status: int) -> int:
        """How many requests were answered ``status`` so far."""
        with self.lock:
            return self.statuses.count(status)


def _wait_for(load: Load, condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {load.summary()}"
        time.sleep(0.05)


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    """A TCP proxy in front of the test PostgreSQL server."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL half skipped: set SCIMGATE_TEST_POSTGRES_URL to run it")
    url = make_url(POSTGRES_URL)
    tcp = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    tcp.start()
    yield tcp
    tcp.close()


def test_postgres_outage_answers_503_and_recovers(
    proxy: TcpProxy, postgres_database: Database
) -> None:
    """While PostgreSQL is unreachable every request answers 503 with Retry-After.

    Under a load of 4 clients, the database goes away (every connection reset,
    new ones refused) and comes back; /healthz says 503 meanwhile. The same server
    process then serves again, and every create it acknowledged is stored whole.
    """
    assert POSTGRES_URL is not None
    env = environment(POSTGRES_URL)
    org = set_up_organization(env, f"outage-{uuid.uuid4().hex[:8]}")
    behind_proxy = make_url(POSTGRES_URL).set(port=proxy.port)
    server_env = {**env, "SCIMGATE_DATABASE_URL": behind_proxy.render_as_string(False)}
    server = ServerProcess(server_env, workers=2)
    server.start()
    try:
        with scim_client(server.url, org.token, timeout=30) as http, ThreadPoolExecutor(4) as pool:
            load = Load(http)
            clients: list[Future[None]] = [pool.submit(load.run, n) for n in range(4)]
            _wait_for(load, lambda: load.count(201) >= 20, "creates before the outage")

            proxy.stop()
            refused_before = load.count(503)
            _wait_for(load, lambda: load.count(503) >= refused_before + 8, "503s during the outage")
            assert httpx2.get(server.url + "/healthz", timeout=30).status_code == 503

            proxy.start()
            created_before = load.count(201)
            _wait_for(
                load, lambda: load.count(201) >= created_before + 20, "creates after recovery"
            )
            assert httpx2.get(server.url + "/healthz", timeout=30).status_code == 200
            load.stop.set()
            for client in clients:
                client.result()
        assert set(load.statuses) <= {201, 503}, sorted(set(load.statuses))
        assert load.missing_retry_after == 0
    finally:
        server.close()
    _assert_stored_whole(postgres_database, org.id, load)


def _assert_stored_whole(db: Database, org_id: str, load: Load) -> None:
    """Acknowledged creates are all stored; others were at most attempted; none partly."""
    with db.transaction(write=False) as session:
        users = select(User.user_name, User.id).where(User.org_id == org_id)
        stored = {name: user_id for name, user_id in session.execute(users)}
        per_user = (
            select(User.id, func.count(UserEmail.id))
            .outerjoin(UserEmail, UserEmail.user_id == User.id)
            .where(User.org_id == org_id)
            .group_by(User.id)
        )
        emails = {user_id: count for user_id, count in session.execute(per_user)}
        personless = session.scalar(
            select(func.count())
            .select_from(User)
            .outerjoin(Person, Person.id == User.person_id)
            .where(User.org_id == org_id, Person.id.is_(None))
        )
    assert load.acknowledged.items() <= stored.items()
    assert set(stored) <= load.attempted
    assert personless == 0
    assert set(emails.values()) == {1}
