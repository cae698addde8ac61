"""What reaches the database: no body, query or token in the clear, no password at all."""

import json
import uuid
from pathlib import Path

from sqlalchemy import text

from scimgate.audit.keys import KeyRing
from scimgate.storage.database import Database
from tests.audit.conftest import log_entries, payload
from tests.conftest import Tenant, patch_body, user_body


def _raw_database(database: Database) -> bytes:
    """Every byte the database holds for the request log, as the disk or a dump shows it."""
    if database.dialect == "sqlite":
        path = Path(str(database.engine.url.database))
        files = [path, path.with_name(path.name + "-wal")]
        return b"".join(file.read_bytes() for file in files if file.exists())
    with database.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM request_log_entries")).all()
    # Binary columns as stored (their ::text form is hex, which would hide anything).
    return b"\n".join(
        value if isinstance(value, bytes) else str(value).encode() for row in rows for value in row
    )


def _send_marked_requests(tenant: Tenant, marker: str) -> str:
    """Requests carrying ``marker`` where the application itself stores nothing of it."""
    ignored = {"urn:example:params:scim:schemas:extension:marker:2.0:User": {"note": marker}}
    created = tenant.post("/Users", json=user_body("ada@example.com", **ignored))
    assert created.status_code == 201, created.text
    user_id: str = created.json()["id"]
    assert tenant.get("/Users", params={"filter": f'userName eq "{marker}"'}).status_code == 200
    assert tenant.post("/Users", json=user_body(f"{marker} is no email")).status_code == 400
    return user_id


def test_bodies_and_queries_are_unreadable_at_rest(
    tenant: Tenant, database: Database, ring: KeyRing
) -> None:
    """A marker sent in bodies and a query is in the decrypted entries, never in the database."""
    marker = f"marker-{uuid.uuid4().hex}"
    user_id = _send_marked_requests(tenant, marker)
    entries = log_entries(database)
    assert len(entries) == 3
    decrypted = json.dumps([payload(ring, entry) for entry in entries])
    assert decrypted.count(marker) >= 3
    raw = _raw_database(database)
    # The check can see the log: the clear columns (the path with the user id) are there.
    assert user_id.encode() in raw
    assert marker.encode() not in raw


def test_authorization_is_never_stored(tenant: Tenant, database: Database, ring: KeyRing) -> None:
    """The bearer token is neither in the database nor in any decrypted entry."""
    tenant.post("/Users", json=user_body("ada@example.com"))
    tenant.get("/Users", headers={"If-None-Match": 'W/"1"'})
    secret = tenant.token.removeprefix("scimgate_").encode()
    assert secret not in _raw_database(database)
    for entry in log_entries(database):
        opened = payload(ring, entry)
        assert tenant.token not in json.dumps(opened)
        assert "authorization" not in opened["request"]["headers"]


def test_passwords_are_redacted(tenant: Tenant, database: Database, ring: KeyRing) -> None:
    """Passwords, as an attribute in any case or as a PATCH value, are gone before sealing."""
    secret = f"pw-{uuid.uuid4().hex}"
    qualified = "urn:ietf:params:scim:schemas:core:2.0:User:PassWord"
    created = tenant.post("/Users", json=user_body("ada@example.com", PASSWORD=secret))
    user_id = created.json()["id"]
    change = patch_body(
        {"op": "replace", "path": "password", "value": secret},
        {"op": "replace", "value": {qualified: secret}},
    )
    assert tenant.patch(f"/Users/{user_id}", json=change).status_code == 200
    create, patch = (payload(ring, entry) for entry in log_entries(database))
    assert create["request"]["body"]["PASSWORD"] == "[redacted]"
    operations = patch["request"]["body"]["Operations"]
    assert operations[0]["value"] == "[redacted]"
    assert operations[1]["value"] == {qualified: "[redacted]"}
    assert secret not in json.dumps([create, patch])


def test_a_password_key_spelled_with_json_escapes_is_redacted(
    tenant: Tenant, database: Database, ring: KeyRing
) -> None:
    """The quick "does this body mention a password" check must not miss escaped keys."""
    secret = f"pw-{uuid.uuid4().hex}"
    raw = '{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], '
    raw += f'"userName": "esc@example.com", "\\u0070assword": "{secret}"}}'
    created = tenant.post("/Users", content=raw, headers={"Content-Type": "application/scim+json"})
    assert created.status_code == 201, created.text
    (entry,) = log_entries(database)
    opened = payload(ring, entry)
    assert opened["request"]["body"]["password"] == "[redacted]"
    assert secret not in json.dumps(opened)
