"""Sign-in, sessions, CSRF and access control of the admin web UI, as seen over HTTP."""

import hashlib
import re
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from sqlalchemy import select, update
from starlette.convertors import FloatConvertor, IntegerConvertor, UUIDConvertor
from starlette.routing import BaseRoute, Mount, Route

from scimgate.app import create_app
from scimgate.cli import main
from scimgate.config import Settings
from scimgate.storage.database import Database
from scimgate.storage.models import AdminAccount, AdminSession, Base, utcnow

from .conftest import PASSWORD, Site, csrf_token

SESSION_COOKIE = "scimgate_session"
EVIL = "https://evil.example"
WRONG = "The name or password is wrong"


@pytest.fixture
def two_orgs(site: Site) -> tuple[str, str]:
    """Organizations acme (administered by alice) and globex (not hers): their ids."""
    acme, globex = site.org("acme"), site.org("globex")
    site.admin("alice", "acme")
    return acme, globex


def _login_form(client: httpx2.Client) -> str:
    """Load the sign-in form (setting its cookie); return its CSRF token."""
    answer = client.get("/admin/login")
    assert answer.status_code == 200
    return csrf_token(answer.text)


def _sign_in(
    client: httpx2.Client, username: str, password: str = PASSWORD, **extra: str
) -> httpx2.Response:
    token = _login_form(client)
    data = {"csrf_token": token, "username": username, "password": password, **extra}
    return client.post("/admin/login", data=data)


def _set_cookie(answer: httpx2.Response, name: str) -> str:
    """The Set-Cookie header of the response that sets ``name``."""
    found = [h for h in answer.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert len(found) == 1, answer.headers.get_list("set-cookie")
    return found[0]


def _cookie_value(header: str) -> str:
    return header.split(";", 1)[0].split("=", 1)[1]


def _goes_to_sign_in(answer: httpx2.Response) -> bool:
    return answer.status_code == 303 and answer.headers["location"].startswith("/admin/login")


def _with_session(site: Site, secret: str) -> httpx2.Client:
    """A fresh client presenting only the session cookie ``secret``."""
    client = site.http()
    client.cookies.set(SESSION_COOKIE, secret, domain="127.0.0.1", path="/admin")
    return client


def _snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the sessions (whose activity time moves)."""
    with database.transaction() as session:
        return {
            table.name: sorted(
                (tuple(map(repr, row)) for row in session.execute(select(table))), key=repr
            )
            for table in Base.metadata.sorted_tables
            if table.name != "admin_sessions"
        }


OrgRoutes = list[tuple[str, Route]]


@pytest.fixture
def org_routes(settings: Settings, database: Database) -> OrgRoutes:
    """Every route of the app under ``/admin/orgs/{org}``, with its full path format."""

    def walk(routes: list[BaseRoute], prefix: str) -> Iterator[tuple[str, Route]]:
        for route in routes:
            if isinstance(route, Mount):
                # A Mount's path_format ends in "/{path}"; its own prefix is .path.
                yield from walk(list(route.routes), prefix + route.path)
            elif isinstance(route, Route):
                yield prefix + route.path_format, route

    app = create_app(settings, db=database)
    found = [
        (path, route)
        for path, route in walk(list(app.routes), "")
        if path == "/admin/orgs/{org}" or path.startswith("/admin/orgs/{org}/")
    ]
    # The walk must find the pages, or every check below would pass on nothing.
    assert "/admin/orgs/{org}" in [path for path, _ in found]
    return found


def _dummy(convertor: object) -> str:
    if isinstance(convertor, IntegerConvertor):
        return "1"
    if isinstance(convertor, FloatConvertor):
        return "1.5"
    if isinstance(convertor, UUIDConvertor):
        return str(uuid.uuid4())
    return uuid.uuid4().hex


def _paths(routes: OrgRoutes, org: str, method: str) -> list[str]:
    """The paths of every org route taking ``method``, for ``org`` and dummy other values."""
    found = []
    for path, route in routes:
        if route.methods and method in route.methods:
            values = {name: _dummy(conv) for name, conv in route.param_convertors.items()}
            found.append(path.format(**{**values, "org": org}))
    return found


def test_signed_out_visitors_are_sent_to_sign_in_and_change_nothing(
    site: Site, two_orgs: tuple[str, str], org_routes: OrgRoutes
) -> None:
    """Without a session, pages redirect to the sign-in form with next=, and POSTs do nothing."""
    acme, _ = two_orgs
    before = _snapshot(site.database)
    with site.http() as client:
        home = client.get("/admin")
        assert home.status_code == 303 and home.headers["location"] == "/admin/login?next=/admin"
        for path in [f"/admin/orgs/{acme}", *_paths(org_routes, acme, "GET")]:
            answer = client.get(path)
            assert _goes_to_sign_in(answer), path
            assert answer.headers["location"] == f"/admin/login?next={path}"
        for path in ["/admin/logout", *_paths(org_routes, acme, "POST")]:
            answer = client.post(path, data={"csrf_token": "guess", "name": "x"})
            assert _goes_to_sign_in(answer), path
    assert _snapshot(site.database) == before


def test_the_sign_in_form_refuses_a_missing_or_foreign_token_and_a_foreign_origin(
    site: Site, two_orgs: tuple[str, str]
) -> None:
    """POST /admin/login needs its cookie, the same token in the form and no foreign Origin."""
    data = {"username": "alice", "password": PASSWORD}
    with site.http() as client:
        assert client.post("/admin/login", data={**data, "csrf_token": "x"}).status_code == 403
        token = _login_form(client)
        assert client.post("/admin/login", data=data).status_code == 403
        refused = client.post("/admin/login", data={**data, "csrf_token": token + "x"})
        assert refused.status_code == 403 and SESSION_COOKIE not in refused.headers.get(
            "set-cookie", ""
        )
        foreign = client.post(
            "/admin/login", data={**data, "csrf_token": token}, headers={"Origin": EVIL}
        )
        assert foreign.status_code == 403
        assert client.get("/admin").status_code == 303
        # The same form from this site's page signs in.
        assert client.post("/admin/login", data={**data, "csrf_token": token}).status_code == 303
        assert client.get("/admin").status_code == 200


def _error_text(answer: httpx2.Response) -> str:
    found = re.search(r'<p class="notice error" role="alert"[^>]*>(.*?)</p>', answer.text, re.S)
    assert found, answer.text
    return found.group(1)


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(
    site: Site, two_orgs: tuple[str, str]
) -> None:
    """Both answer 401 with the same text, which does not say which part was wrong."""
    with site.http() as client:
        wrong = _sign_in(client, "alice", "not the password at all")
        unknown = _sign_in(client, "nobody", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert WRONG in _error_text(wrong)
    assert _error_text(wrong) == _error_text(unknown)
    assert SESSION_COOKIE not in wrong.headers.get("set-cookie", "")


def _unlock(monkeypatch: pytest.MonkeyPatch, settings: Settings, username: str) -> int:
    monkeypatch.setenv("SCIMGATE_DATABASE_URL", settings.database_url)
    return main(["admin", "unlock", username, "--json"])


def test_five_failures_lock_the_account_until_unlocked_and_a_success_resets_the_count(
    site: Site,
    two_orgs: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
) -> None:
    """After 5 wrong passwords in a row the right one is refused too, until `admin unlock`."""
    with site.http() as client:
        for _ in range(4):
            assert _sign_in(client, "alice", "wrong password!").status_code == 401
        # A success in between starts the count again: 4 + 1 failures lock nothing.
        assert _sign_in(client, "alice").status_code == 303
        assert _sign_in(client, "alice", "wrong password!").status_code == 401
        assert _sign_in(client, "alice").status_code == 303

        for _ in range(5):
            assert _sign_in(client, "alice", "wrong password!").status_code == 401
        locked = _sign_in(client, "alice")
        assert locked.status_code == 401 and WRONG in _error_text(locked)

        assert _unlock(monkeypatch, settings, "alice") == 0
        assert '"locked_until": null' in capsys.readouterr().out
        assert _sign_in(client, "alice").status_code == 303


def test_the_session_cookie_is_httponly_lax_scoped_to_admin_and_new_at_each_sign_in(
    site: Site, two_orgs: tuple[str, str]
) -> None:
    """A cookie planted before sign-in is not adopted; each sign-in makes a new session.

    Signing in again from the same browser ends the session it had.
    """
    with site.http() as client:
        client.cookies.set(SESSION_COOKIE, "planted-by-someone", domain="127.0.0.1", path="/admin")
        answer = _sign_in(client, "alice")
        assert answer.status_code == 303
        header = _set_cookie(answer, SESSION_COOKIE)
        flags = [part.strip().lower() for part in header.split(";")[1:]]
        assert "httponly" in flags and "samesite=lax" in flags and "path=/admin" in flags
        first = _cookie_value(header)
        assert first != "planted-by-someone" and len(first) >= 40

        again = _sign_in(client, "alice")
        second = _cookie_value(_set_cookie(again, SESSION_COOKIE))
        assert second != first
    with _with_session(site, "planted-by-someone") as planted:
        assert _goes_to_sign_in(planted.get("/admin"))
    with _with_session(site, first) as replaced:
        assert _goes_to_sign_in(replaced.get("/admin"))
    with _with_session(site, second) as browser:
        assert browser.get("/admin").status_code == 200


def test_sign_out_needs_post_and_the_token_then_ends_the_session(
    site: Site, two_orgs: tuple[str, str]
) -> None:
    """GET /admin/logout is 405, a POST without the token 403; a real one ends the cookie."""
    with closing(site.sign_in_http("alice")) as client:
        secret = client.cookies[SESSION_COOKIE]
        token = csrf_token(client.get("/admin").text)
        assert client.get("/admin/logout").status_code == 405
        assert client.post("/admin/logout", data={}).status_code == 403
        assert client.post("/admin/logout", data={"csrf_token": "x" * 43}).status_code == 403
        foreign = client.post("/admin/logout", data={"csrf_token": token}, headers={"Origin": EVIL})
        assert foreign.status_code == 403
        assert client.get("/admin").status_code == 200

        out = client.post("/admin/logout", data={"csrf_token": token})
        assert out.status_code == 303 and out.headers["location"] == "/admin/login"
        assert 'scimgate_session=""' in _set_cookie(out, SESSION_COOKIE)
    with _with_session(site, secret) as replayed:
        assert _goes_to_sign_in(replayed.get("/admin"))


@pytest.mark.parametrize("column", ["last_seen_at", "expires_at"])
def test_an_idle_or_expired_session_goes_back_to_sign_in(
    site: Site, two_orgs: tuple[str, str], column: str
) -> None:
    """A session idle for over an hour, or past its 12-hour end, no longer opens pages."""
    with closing(site.sign_in_http("alice")) as client:
        assert client.get("/admin").status_code == 200
        past = {
            "last_seen_at": utcnow() - timedelta(hours=1, minutes=1),
            "expires_at": utcnow() - timedelta(seconds=1),
        }[column]
        with site.database.transaction() as session:
            session.execute(update(AdminSession).values({column: past}))
        assert _goes_to_sign_in(client.get("/admin"))


def test_ended_sessions_are_swept_at_the_next_sign_in(
    site: Site, two_orgs: tuple[str, str]
) -> None:
    """Sessions past their end do not pile up: the next sign-in removes them."""
    with closing(site.sign_in_http("alice")), closing(site.sign_in_http("alice")):
        with site.database.transaction() as session:
            session.execute(update(AdminSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        with closing(site.sign_in_http("alice")) as fresh:
            assert fresh.get("/admin").status_code == 200
    with site.database.transaction() as session:
        assert len(session.scalars(select(AdminSession)).all()) == 1


def test_recent_activity_keeps_a_session_open(site: Site, two_orgs: tuple[str, str]) -> None:
    """A session seen 59 minutes ago still works, and its idle clock starts again."""
    with closing(site.sign_in_http("alice")) as client:
        with site.database.transaction() as session:
            session.execute(
                update(AdminSession).values(last_seen_at=utcnow() - timedelta(minutes=59))
            )
        assert client.get("/admin").status_code == 200
        with site.database.transaction() as session:
            seen = session.scalars(select(AdminSession.last_seen_at)).one()
        assert utcnow() - seen < timedelta(minutes=1)


FOREIGN_TARGETS = [
    "//evil.example/x",
    "https://evil.example",
    "/scim/v2/Users",
    "/admin\\evil",
    "/\\evil.example",
    "/admin/../scim/v2/Users",
    "/admin/%2e%2e/scim/v2/Users",
    "/administrator",
    "javascript:alert(1)",
]


def test_sign_in_never_redirects_outside_the_admin_pages(
    site: Site, two_orgs: tuple[str, str]
) -> None:
    """A next= of another site, another part of this one or a dot segment leads to /admin."""
    with site.http() as client:
        for target in FOREIGN_TARGETS:
            form = client.get("/admin/login", params={"next": target})
            hidden = re.search(r'name="next" value="([^"]*)"', form.text)
            assert hidden and hidden.group(1) == "/admin", target
        # The form's own field is checked again when it comes back (each sign-in
        # costs a password hash, so a few stand for the rest).
        for target in FOREIGN_TARGETS[::3]:
            answer = _sign_in(client, "alice", next=target)
            assert answer.status_code == 303, target
            assert answer.headers["location"] == "/admin", target


def test_sign_in_returns_to_the_page_asked_for(site: Site, two_orgs: tuple[str, str]) -> None:
    """A next= of an admin page is where the browser goes after signing in."""
    acme, _ = two_orgs
    wanted = f"/admin/orgs/{acme}/logs"
    with site.http() as client:
        answer = _sign_in(client, "alice", next=wanted)
    assert answer.status_code == 303 and answer.headers["location"] == wanted


def _assert_security_headers(answer: httpx2.Response) -> None:
    policy = answer.headers["content-security-policy"]
    directives = {
        part.strip().split(" ", 1)[0]: part.strip() for part in policy.split(";") if part.strip()
    }
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert directives["default-src"] == "default-src 'none'"
    assert directives["script-src"] == "script-src 'self'"
    assert directives["style-src"] == "style-src 'self'"
    assert directives["frame-ancestors"] == "frame-ancestors 'none'"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_admin_pages_forbid_inline_script_framing_and_caching(
    site: Site, two_orgs: tuple[str, str]
) -> None:
    """Sign-in, home, error and redirect responses all carry the security headers."""
    _, globex = two_orgs
    with site.http() as anonymous:
        _assert_security_headers(anonymous.get("/admin/login"))
        _assert_security_headers(anonymous.get("/admin"))
    with closing(site.sign_in_http("alice")) as client:
        home = client.get("/admin")
        assert home.status_code == 200
        _assert_security_headers(home)
        assert "<script>" not in home.text and " style=" not in home.text
        _assert_security_headers(client.get(f"/admin/orgs/{globex}"))
        _assert_security_headers(client.get("/admin/no/such/page"))


def test_passwords_and_session_secrets_are_not_stored(
    site: Site, two_orgs: tuple[str, str]
) -> None:
    """The password is kept as an argon2id hash, the session cookie only as its SHA-256."""
    with closing(site.sign_in_http("alice")) as client:
        secret = client.cookies[SESSION_COOKIE]
    with site.database.transaction() as session:
        hashes = list(session.scalars(select(AdminAccount.password_hash)))
        ids = list(session.scalars(select(AdminSession.id)))
    assert len(hashes) == 1
    for stored in hashes:
        assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert ids == [hashlib.sha256(secret.encode()).hexdigest()]
    assert secret not in ids[0]


def test_an_administrator_of_one_organization_gets_404_for_every_page_of_another(
    site: Site, two_orgs: tuple[str, str], org_routes: OrgRoutes
) -> None:
    """Every GET and POST route under /admin/orgs/{org} answers 404 for an org not granted."""
    acme, globex = two_orgs
    with closing(site.sign_in_http("alice")) as client:
        token = csrf_token(client.get("/admin").text)
        before = _snapshot(site.database)
        for ref in (globex, "globex", "GLOBEX", "no-such-org"):
            assert client.get(f"/admin/orgs/{ref}").status_code == 404, ref
        for path in _paths(org_routes, globex, "GET"):
            answer = client.get(path)
            assert answer.status_code == 404, path
            assert "globex" not in answer.text, path
        for path in _paths(org_routes, globex, "POST"):
            answer = client.post(path, data={"csrf_token": token, "name": "x", "confirm": "x"})
            assert answer.status_code == 404, path
        assert _snapshot(site.database) == before
        # The pages that take only the organization open for her own, so the 404s
        # above are the access check and not missing pages.
        for path, route in org_routes:
            if route.methods and "GET" in route.methods and set(route.param_convertors) == {"org"}:
                assert client.get(path.format(org=acme)).status_code == 200, path


def test_org_pages_of_my_own_organization_refuse_a_post_without_the_token(
    site: Site, two_orgs: tuple[str, str], org_routes: OrgRoutes
) -> None:
    """A POST to any org route without the session's CSRF token answers 403, changing nothing."""
    acme, _ = two_orgs
    with closing(site.sign_in_http("alice")) as client:
        before = _snapshot(site.database)
        for path in _paths(org_routes, acme, "POST"):
            assert client.post(path, data={"name": "x"}).status_code == 403, path
            other = client.post(path, data={"csrf_token": "not-the-token", "name": "x"})
            assert other.status_code == 403, path
    assert _snapshot(site.database) == before


def test_an_oversized_form_is_refused_with_413_even_when_chunked(
    site: Site, two_orgs: tuple[str, str]
) -> None:
    """The sign-in form is open to anyone: a huge body is cut off at 1 MiB, not held whole."""

    def chunks() -> Iterator[bytes]:
        yield b"username=alice&password="
        for _ in range(40):
            yield b"x" * 65536

    with site.http() as client:
        token = _login_form(client)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        answer = client.post(
            "/admin/login", content=chunks(), headers=headers, params={"csrf_token": token}
        )
        assert answer.status_code == 413
        assert "larger than" in answer.text
        # The server is fine afterwards, and a normal form still works.
        assert _sign_in(client, "alice").status_code == 303
