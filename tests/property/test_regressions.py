"""The inputs the property tests and ``scripts/fuzz.py`` found failing, kept as examples.

Each was a 500, a lost request log entry, a redirect loop or a wrong filter result
before its fix (docs/reliability.md, "Hostile input").
"""

import threading
from collections.abc import Iterator

import httpx2
import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from scimgate.app import create_app
from scimgate.audit.redaction import redact_text
from scimgate.config import Settings
from scimgate.storage.database import Database
from tests.conftest import SCIM_JSON, Tenant, TenantFactory, assert_scim_error, user_body

from .strategies import SEARCH_URN

ADMIN_KEY = "admin-key-for-regressions"
DEEP_ARRAY = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100 + b"1" + b"}" * 100
HOSTILE_BODIES = [
    DEEP_ARRAY,
    DEEP_OBJECT,
    b'{"userName": "a\\ud800@example.com"}',
    b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "\xed\xa0\x80"}',
    b'{"userName": NaN}',
    b'{"userName": "a@example.com", "title": Infinity}',
    b'{"userName": "a@example.com", "x": 1e999}',
]


@pytest.fixture
def keyed(settings: Settings, database: Database) -> Iterator[TestClient]:
    """A client of an app with the admin API on."""
    app = create_app(
        settings.model_copy(update={"admin_api_key": SecretStr(ADMIN_KEY)}), db=database
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def acme(database: Database, keyed: TestClient) -> Tenant:
    return TenantFactory(database, keyed)("acme")


def _log_counters(client: TestClient) -> dict[str, int]:
    response = client.get("/api/request-log", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert response.status_code == 200, response.text
    counters: dict[str, int] = response.json()
    return counters


def test_hostile_json_is_a_400_and_is_logged(acme: Tenant, keyed: TestClient) -> None:
    """Nesting past the parser's stack (was RecursionError: 500), lone surrogates (were
    stored, then every read of the user was a 500), NaN and infinite numbers: 400
    invalidSyntax; the request log keeps the entry (its writer failed on both)."""
    for target in ("/Users", "/.search", "/Bulk"):
        for raw in HOSTILE_BODIES:
            written = _log_counters(keyed)["written"]
            response = acme.post(target, content=raw, headers={"Content-Type": SCIM_JSON})
            assert_scim_error(response, 400, "invalidSyntax")
            assert _log_counters(keyed)["written"] == written + 1, (target, raw[:40])
    assert _log_counters(keyed)["failed"] == 0
    assert acme.get("/Users").status_code == 200


def test_nesting_within_the_limit_is_read(tenant: Tenant) -> None:
    """64 levels are accepted: the limit refuses only what no SCIM message needs."""
    deep: object = "x"
    for _ in range(60):
        deep = [deep]
    response = tenant.post("/Users", json=user_body("deep@example.com", nickName=deep))
    assert_scim_error(response, 400, "invalidValue")


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 5000 + b"]" * 5000,
        b'{"name": "\\udc00"}',
        b'{"name": "\xed\xa0\x80"}',
        b'{"name": NaN}',
    ],
)
def test_hostile_json_on_the_admin_api_is_a_400(keyed: TestClient, raw: bytes) -> None:
    """The admin API reads bodies with the same rules (deep nesting was a 500)."""
    response = keyed.post(
        "/api/orgs", content=raw, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["status"] == 400


def test_nul_in_a_stored_attribute_is_refused(tenant: Tenant) -> None:
    """NUL in an attribute kept in the stored document (title): 400. PostgreSQL stored
    it, then every filter on title failed with a 500 for the whole organization."""
    response = tenant.post("/Users", json=user_body("nul@example.com", title="a\x00b"))
    assert_scim_error(response, 400, "invalidValue")
    created = tenant.post("/Users", json=user_body("nul@example.com", title="ab"))
    path = f"/Users/{created.json()['id']}"
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "addresses", "value": [{"locality": "\x00"}]}],
    }
    assert_scim_error(tenant.patch(path, json=patch), 400, "invalidValue")
    found = tenant.get("/Users", params={"filter": 'title eq "ab" or addresses.locality pr'})
    assert found.status_code == 200 and found.json()["totalResults"] == 1


@pytest.mark.parametrize(
    "text",
    ['displayName eq "ÉMILE Zola"', 'displayName eq "émile zola"', 'title co "É"',
     'title sw "écri"', 'name.familyName eq "ØSTER"', 'emails.type eq "DOMICÍLIO"'],
)  # fmt: skip
def test_case_insensitive_filters_fold_non_ascii_letters(tenant: Tenant, text: str) -> None:
    """caseExact false (RFC 7643 §2.2) holds beyond ASCII: SQLite's lower() folded
    only A to Z, so a user was not found by its own displayName "ÉMILE Zola"."""
    body = user_body(
        "emile@example.fr",
        displayName="ÉMILE Zola",
        title="Écrivain",
        name={"familyName": "Øster"},
        emails=[{"value": "e@example.fr", "type": "Domicílio"}],
    )
    assert tenant.post("/Users", json=body).status_code == 201
    for via in ("get", "search"):
        if via == "get":
            response = tenant.get("/Users", params={"filter": text})
        else:
            search = {"schemas": [SEARCH_URN], "filter": text}
            response = tenant.post("/Users/.search", json=search)
        assert response.status_code == 200, response.text
        assert response.json()["totalResults"] == 1, (via, text)


@pytest.mark.parametrize("path", ["/scim", "/scim/", "/api", "/api/"])
def test_base_paths_answer_404_without_a_redirect(keyed: TestClient, path: str) -> None:
    """Starlette redirected "/api" to "/api/", which the path normalizer turns back into
    "/api": a redirect loop. Now a 404 in the area's own error format."""
    response = keyed.get(
        path, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, follow_redirects=False
    )
    assert response.status_code == 404, response.headers
    if path.startswith("/scim"):
        assert_scim_error(response, 404)
    else:
        assert set(response.json()) == {"error", "status"}


def test_search_body_filter_with_a_lone_surrogate(tenant: Tenant) -> None:
    """A filter arriving in a search body can hold an escaped lone surrogate, which no
    query string can: it is refused before it reaches the database driver (was 500)."""
    raw = b'{"schemas": ["' + SEARCH_URN.encode() + b'"], "filter": "userName eq \\"\\ud83d\\""}'
    response = tenant.post("/Users/.search", content=raw, headers={"Content-Type": SCIM_JSON})
    assert_scim_error(response, 400, "invalidSyntax")
    paired = raw.replace(b"\\ud83d", b"\\ud83d\\ude00")
    answered: httpx2.Response = tenant.post(
        "/Users/.search", content=paired, headers={"Content-Type": SCIM_JSON}
    )
    assert answered.status_code == 200, answered.text


@pytest.mark.parametrize("resource", ["/Users", "/Groups"])
def test_huge_start_index_is_an_empty_page(tenant: Tenant, resource: str) -> None:
    """startIndex=10^20 overflowed SQLite's integer (500); it now selects the empty
    page past the last resource, as any startIndex beyond the total does."""
    tenant.post("/Users", json=user_body("one@example.com"))
    for start in ("100000000000000000000", "-100000000000000000000"):
        response = tenant.get(resource, params={"startIndex": start, "count": "5"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["Resources"]) == (0 if start[0] != "-" else body["totalResults"])
    search = {"schemas": [SEARCH_URN], "startIndex": 10**20}
    response = tenant.post("/.search", json=search)
    assert response.status_code == 200 and response.json()["Resources"] == []


def test_password_redaction_of_hostile_text_returns() -> None:
    """The request log's text redaction backtracked quadratically (minutes for 200 kB
    of backslashes or of brace-free "value" pairs), holding up the log writer and so
    every request. A liveness bound, not a performance check: it now takes
    milliseconds, and the bound is thirty seconds."""
    hostile = [
        '{"op": "add", "value": "' + "\\\\" * 70_000,
        '"value":"x",' * 20_000,
        '"path":"password",' * 10_000 + '"value":"secret"',
    ]
    results: list[str] = []
    worker = threading.Thread(target=lambda: results.extend(map(redact_text, hostile)))
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive() and len(results) == 3
    assert "secret" not in results[2]


def test_value_before_or_after_a_password_path_is_redacted() -> None:
    """In text, a "value" in the same object as a password path is hidden, on either
    side of it; values of other objects are kept."""
    text = '[{"value":"s1","path":"password"},{"path":"x:password","value":"s2"},{"value":"kept"'
    redacted = redact_text(text)
    assert "s1" not in redacted and "s2" not in redacted and '"kept"' in redacted


def test_nul_in_the_path_is_logged(acme: Tenant, keyed: TestClient) -> None:
    """A path holding %00 is a 404, and its request log entry is written: PostgreSQL
    refused the NUL in the entry's path column and the entry was lost."""
    written = _log_counters(keyed)["written"]
    for kind in ("Users", "Groups"):
        assert_scim_error(acme.get(f"/{kind}/%00"), 404)
    assert _log_counters(keyed)["written"] == written + 2
    assert _log_counters(keyed)["failed"] == 0


@pytest.mark.parametrize("resource", ["/Users", "/Groups"])
def test_filter_escape_for_a_lone_surrogate_is_an_invalid_filter(
    tenant: Tenant, resource: str
) -> None:
    """The filter grammar's own JSON string escapes can spell a lone surrogate
    (``"\\ud800"``) in plain ASCII; it reached the database driver, which cannot
    encode it (500). Now 400 invalidFilter, from a query string or a search body."""
    text = 'displayName eq "a" or displayName co "\\udfff"'
    assert_scim_error(tenant.get(resource, params={"filter": text}), 400, "invalidFilter")
    search = {"schemas": [SEARCH_URN], "filter": text}
    assert_scim_error(tenant.post(f"{resource}/.search", json=search), 400, "invalidFilter")
