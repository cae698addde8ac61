"""Shared fixtures: a real database on both dialects, the app, and tenant factories.

Every storage-touching test runs twice, on SQLite and on PostgreSQL. PostgreSQL comes
from ``SCIMGATE_TEST_POSTGRES_URL``; without it those runs are skipped with a reason,
unless ``SCIMGATE_REQUIRE_POSTGRES=1`` (as in CI), where its absence fails the run.
"""

import base64
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy import text
from starlette.testclient import TestClient

from scimgate.app import create_app
from scimgate.config import Settings
from scimgate.domain import organizations, sso, tokens
from scimgate.storage.database import Database
from scimgate.storage.models import Base

POSTGRES_URL = os.environ.get("SCIMGATE_TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("SCIMGATE_REQUIRE_POSTGRES") == "1"
SCIM_JSON = "application/scim+json"
# A fixed ring entry ("id:base64 of 32 bytes"), so tests can rebuild the same ring.
TEST_LOG_KEYS = "test:" + base64.b64encode(bytes(range(7, 39))).decode()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating each time is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[Database]:
    """The PostgreSQL test database, migrated from scratch once per run."""
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("SCIMGATE_REQUIRE_POSTGRES=1 but SCIMGATE_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL half skipped: set SCIMGATE_TEST_POSTGRES_URL to run it")
    db = Database(POSTGRES_URL)
    with db.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(text(f'DROP TABLE IF EXISTS "{table.name}" CASCADE'))
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        # Trigger functions outlive the tables (migration 0008).
        connection.execute(text("DROP FUNCTION IF EXISTS scimgate_count_resource() CASCADE"))
    db.upgrade()
    yield db
    db.dispose()


def _truncate(db: Database) -> None:
    names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def dialect(request: pytest.FixtureRequest) -> str:
    """The database dialect a test runs on."""
    return str(request.param)


@pytest.fixture
def database(dialect: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty, migrated database of the test's dialect."""
    if dialect == "sqlite":
        path = tmp_path / "scimgate.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        db = Database(f"sqlite:///{path}")
        yield db
        db.dispose()
        return
    db = request.getfixturevalue("postgres_database")
    _truncate(db)
    yield db
    _truncate(db)


@pytest.fixture
def settings(database: Database) -> Settings:
    """Settings pointing at the test database, with a request log key ring."""
    return Settings(
        database_url=database.engine.url.render_as_string(hide_password=False),
        log_keys=SecretStr(TEST_LOG_KEYS),
    )


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    """An HTTP client talking to the app over ASGI."""
    with TestClient(create_app(settings, db=database), raise_server_exceptions=False) as test:
        yield test


@dataclass
class Tenant:
    """An organization with a SCIM token, and a client that sends it."""

    org_id: str
    name: str
    token: str
    client: TestClient
    prefix: str = "/scim/v2"

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """Headers of an authenticated SCIM request."""
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx2.Response:
        """Send an authenticated request to a path under the SCIM base URL."""
        headers = self.headers(kwargs.pop("headers", None))
        if "json" in kwargs:
            headers.setdefault("Content-Type", SCIM_JSON)
        response: httpx2.Response = self.client.request(
            method, self.prefix + path, headers=headers, **kwargs
        )
        return response

    def get(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.request("DELETE", path, **kwargs)


class TenantFactory:
    """Builds organizations through the domain layer, as the CLI does."""

    def __init__(self, database: Database, client: TestClient) -> None:
        self.database = database
        self.client = client
        self.count = 0

    def __call__(
        self, name: str | None = None, *, sso_on: bool = True, scim_on: bool = True
    ) -> Tenant:
        self.count += 1
        name = name or f"org-{self.count}"
        with self.database.transaction() as session:
            org = organizations.create(session, name)
            if sso_on:
                organizations.configure_sso(session, org, sso.demo_settings(name))
            organizations.set_scim_enabled(org, scim_on)
            issued = tokens.issue(session, org)
        return Tenant(org_id=org.id, name=name, token=issued.secret, client=self.client)


@pytest.fixture
def make_tenant(database: Database, client: TestClient) -> TenantFactory:
    """A factory of organizations with SSO configured, SCIM on and a token."""
    return TenantFactory(database, client)


@pytest.fixture
def tenant(make_tenant: TenantFactory) -> Tenant:
    """One ready organization."""
    return make_tenant("acme")


def user_body(user_name: str, **extra: Any) -> dict[str, Any]:
    """A minimal SCIM User creation body."""
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        **extra,
    }


def group_body(display_name: str, members: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """A minimal SCIM Group creation body."""
    body: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": display_name,
        **extra,
    }
    if members is not None:
        body["members"] = [{"value": member} for member in members]
    return body


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    """A SCIM PatchOp body."""
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": list(operations),
    }


def assert_scim_error(
    response: httpx2.Response, status: int, scim_type: str | None = None
) -> dict[str, Any]:
    """Check an RFC 7644 §3.12 error response and return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(SCIM_JSON)
    body: dict[str, Any] = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type
    assert isinstance(body.get("detail"), str) and body["detail"]
    return body


@pytest.fixture
def server_url(settings: Settings, database: Database) -> Iterator[str]:
    """Serve the app with uvicorn on a free local port for the length of a test."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings, db=database), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}/scim/v2"
    server.should_exit = True
    thread.join(timeout=10)
