"""The JSON admin API under ``/api``: parse, one admin operation, respond.

It is not SCIM: errors are ``{"error": detail, "status": n}``. Callers send
``Authorization: Bearer <admin_api_key>``; while no key is configured the API does
not exist (404), so an unconfigured server exposes nothing.
"""

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from scimgate.audit import queries
from scimgate.audit.keys import KeyRing
from scimgate.audit.recorder import Recorder
from scimgate.config import Settings
from scimgate.domain import breaker
from scimgate.errors import (
    InvalidSyntaxError,
    InvalidValueError,
    NotFoundError,
    ScimError,
    UnauthorizedError,
)
from scimgate.scim import limits
from scimgate.scim.requests import decode_json
from scimgate.scim.tenancy import in_transaction

from . import operations as ops
from .operations import OrgChanges

logger = logging.getLogger("scimgate.admin")

# Admin bodies are a handful of fields; anything larger is a mistake.
_MAX_BODY_BYTES = 64 * 1024
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")

Work = Callable[[Session], Any]


@dataclass(frozen=True)
class Call:
    """What a handler reads from a request: path, query and JSON body."""

    path: Mapping[str, str]
    query: Mapping[str, str]
    body: dict[str, Any]
    settings: Settings
    ring: KeyRing
    """The request log key ring, to decrypt log entries."""


Builder = Callable[[Call], Work]


def error_response(error: ScimError) -> JSONResponse:
    """The admin API's error body for any scimgate error."""
    headers = {}
    if isinstance(error, UnauthorizedError):
        headers["WWW-Authenticate"] = 'Bearer realm="scimgate-admin"'  # RFC 6750 §3
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return JSONResponse(
        {"error": error.detail, "status": error.status}, status_code=error.status, headers=headers
    )


def _authenticate(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    # An empty key (SCIMGATE_ADMIN_API_KEY= in a deployment file) leaves the API off:
    # otherwise "Authorization: Bearer" alone would match it.
    if settings.admin_api_key is None or not settings.admin_api_key.get_secret_value().strip():
        raise NotFoundError("Not found.")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    # Digests of equal length, compared in constant time: neither the key's characters
    # nor its length show in the response time.
    expected = hashlib.sha256(settings.admin_api_key.get_secret_value().encode()).digest()
    offered = hashlib.sha256(given.strip().encode()).digest()
    if scheme.lower() != "bearer" or not hmac.compare_digest(offered, expected):
        raise UnauthorizedError("Send Authorization: Bearer <admin API key>.")
    return settings


async def _json_body(request: Request) -> dict[str, Any]:
    # Read only up to the limit: a chunked body has no length to refuse it by.
    raw = await limits.read_body(request, _MAX_BODY_BYTES)
    if not raw.strip():
        return {}
    # The SCIM layer's reader: it also refuses nesting deep enough to exhaust the
    # parser's stack, and text no database column can store.
    body = decode_json(raw)
    if not isinstance(body, dict):
        raise InvalidSyntaxError("The body must be a JSON object.")
    return body


def _endpoint(
    build: Builder, *, write: bool = False, status: int = 200
) -> Callable[[Request], Awaitable[Response]]:
    """A handler that authenticates, builds the work from the request and runs it."""

    async def handle(request: Request) -> Response:
        try:
            settings = _authenticate(request)
            body = await _json_body(request) if write else {}
            ring = _recorder(request).ring
            call = Call(_path_params(request), request.query_params, body, settings, ring)
            result = await in_transaction(request, build(call), write=write)
        except ScimError as exc:
            return error_response(exc)
        except Exception:  # reported as a JSON 500, never as a SCIM error body
            logger.exception("Unhandled error on %s %s", request.method, request.url.path)
            return error_response(ScimError())
        return JSONResponse(result, status_code=status)

    return handle


# --- reading requests --------------------------------------------------------------------


def _path_params(request: Request) -> Mapping[str, str]:
    params: dict[str, str] = request.path_params
    # No name or id holds NUL, and PostgreSQL refuses to compare text holding one.
    if any("\x00" in value for value in params.values()):
        raise NotFoundError("Nothing is named or identified by a value holding NUL.")
    return params


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise InvalidValueError(f"{key!r} is required and must be a string.")
    if "\x00" in value:
        # The domain stores names as given; PostgreSQL would refuse NUL with a 500.
        raise InvalidValueError(f"{key!r} must not contain a NUL character.")
    return value


def _integer(body: Mapping[str, Any], key: str) -> int:
    value = body.get(key)
    # JSON true is a Python int; a weight of "true" is a mistake, not 1.
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidValueError(f"{key!r} is required and must be an integer.")
    return value


def _boolean(body: Mapping[str, Any], key: str) -> bool:
    value = body[key]
    if not isinstance(value, bool):
        raise InvalidValueError(f"{key!r} must be true or false.")
    return value


def _dry_run(call: Call) -> bool:
    value = call.query.get("dry_run", "false").lower()
    if value not in _TRUE + _FALSE:
        raise InvalidValueError("dry_run must be true or false.")
    return value in _TRUE


def _query_int(call: Call, key: str, default: int) -> int:
    raw = call.query.get(key)
    if raw is None:
        return default
    try:
        # The range is checked by the operation, which the command line shares.
        return int(raw)
    except ValueError:
        raise InvalidValueError(f"{key} must be an integer.") from None


def _org_changes(body: Mapping[str, Any]) -> OrgChanges:
    known = {*ops.SWITCHES, *ops.FLAGS, "default_role"}
    unknown = sorted(set(body) - known)
    if unknown:
        raise InvalidValueError(f"Unknown fields {unknown}; known: {sorted(known)}.")
    return OrgChanges(
        switches={key: _boolean(body, key) for key in ops.SWITCHES if key in body},
        flags={key: _boolean(body, key) for key in ops.FLAGS if key in body},
        default_role=_text(body, "default_role") if "default_role" in body else None,
    )


# --- handlers ----------------------------------------------------------------------------


def _update_org(call: Call) -> Work:
    changes = _org_changes(call.body)
    return lambda s: ops.update_org(s, call.path["org"], changes)


def _create_role(call: Call) -> Work:
    name, weight = _text(call.body, "name"), _integer(call.body, "weight")
    return lambda s: ops.create_role(s, call.path["org"], name, weight)


def _set_weight(call: Call) -> Work:
    weight, dry_run = _integer(call.body, "weight"), _dry_run(call)
    return lambda s: ops.set_role_weight(
        s, call.path["org"], call.path["name"], weight, dry_run=dry_run
    )


def _map_group(call: Call) -> Work:
    role, dry_run = _text(call.body, "role"), _dry_run(call)
    return lambda s: ops.map_group(s, call.path["org"], call.path["group"], role, dry_run=dry_run)


def _unmap_group(call: Call) -> Work:
    dry_run = _dry_run(call)
    return lambda s: ops.map_group(s, call.path["org"], call.path["group"], None, dry_run=dry_run)


def _list_members(call: Call) -> Work:
    settings = call.settings
    limit = min(_query_int(call, "limit", settings.default_page_size), settings.max_page_size)
    offset = _query_int(call, "offset", 0)
    return lambda s: ops.list_members(s, call.path["org"], limit, offset)


def _window(call: Call) -> tuple[int, int, str]:
    """``limit`` (capped like SCIM's ``count``), ``offset`` and ``search`` of a listing."""
    settings = call.settings
    limit = min(_query_int(call, "limit", settings.default_page_size), settings.max_page_size)
    search = call.query.get("search", "")
    if "\x00" in search:
        raise InvalidValueError("search must not contain a NUL character.")
    return limit, _query_int(call, "offset", 0), search


def _list_groups(call: Call) -> Work:
    limit, offset, search = _window(call)
    return lambda s: ops.page_groups(s, call.path["org"], limit, offset, search)


def _show_team(call: Call) -> Work:
    # Without ``limit`` the whole team, as before paging existed; with it, one page.
    if "limit" not in call.query and "offset" not in call.query and "search" not in call.query:
        return lambda s: ops.show_team(s, call.path["org"], call.path["team"])
    limit, offset, search = _window(call)
    return lambda s: ops.show_team(
        s, call.path["org"], call.path["team"], limit=limit, offset=offset, search=search
    )


def _create_org(call: Call) -> Work:
    name = _text(call.body, "name")
    return lambda s: ops.create_org(s, name)


def _list_logs(call: Call) -> Work:
    settings, query = call.settings, call.query
    limit = min(_query_int(call, "limit", settings.default_page_size), settings.max_page_size)
    offset = _query_int(call, "offset", 0)
    wanted = queries.parse_filter(
        status=query.get("status"),
        resource=query.get("resource"),
        event=query.get("event"),
        since=query.get("since"),
        until=query.get("until"),
        target=query.get("target"),
    )
    return lambda s: ops.list_logs(s, call.path["org"], call.ring, wanted, limit, offset)


def _show_log(call: Call) -> Work:
    return lambda s: ops.show_log(s, call.path["org"], call.path["entry"], call.ring)


def _set_log_retention(call: Call) -> Work:
    days = _integer(call.body, "days")
    return lambda s: ops.log_retention(s, call.path["org"], days)


def _recorder(request: Request) -> Recorder:
    recorder: Recorder = request.app.state.request_log
    return recorder


async def _request_log_counters(request: Request) -> Response:
    """What this server process's request log wrote, could not attribute, and lost."""
    try:
        _authenticate(request)
    except ScimError as exc:
        return error_response(exc)
    return JSONResponse(asdict(_recorder(request).counters))


def _create_team(call: Call) -> Work:
    name = _text(call.body, "name")
    return lambda s: ops.create_team(s, call.path["org"], name)


def _breaker_status(call: Call) -> Work:
    defaults = breaker.Limits.from_settings(call.settings)
    return lambda s: ops.breaker_status(s, call.path["org"], defaults)


def _configure_breaker(call: Call) -> Work:
    # Each limit is a number, or null for the server's default; the domain checks them.
    changes = dict(call.body)
    defaults = breaker.Limits.from_settings(call.settings)
    return lambda s: ops.configure_breaker(s, call.path["org"], defaults, changes)


def _approve_breaker(call: Call) -> Work:
    unknown = sorted(set(call.body) - {"seconds"})
    if unknown:
        raise InvalidValueError(f"Unknown fields {unknown}; known: ['seconds'].")
    seconds = _integer(call.body, "seconds") if "seconds" in call.body else None
    defaults = breaker.Limits.from_settings(call.settings)
    return lambda s: ops.approve_breaker(s, call.path["org"], defaults, seconds)


def _path(action: Callable[..., Any], *keys: str) -> Builder:
    """A builder handing the path parameters ``keys``, in order, to ``action``."""
    return lambda call: lambda s: action(s, *(call.path[key] for key in keys))


def _route(path: str, method: str, build: Builder, *, status: int = 200) -> Route:
    endpoint = _endpoint(build, write=method != "GET", status=status)
    return Route(path, endpoint, methods=[method])


def admin_routes() -> list[Route]:
    """The admin API's routes, to be mounted at ``/api``."""
    return _org_routes() + _team_routes() + _log_routes() + _breaker_routes()


def _org_routes() -> list[Route]:
    org = "/orgs/{org}"
    return [
        _route("/orgs", "GET", _path(ops.list_orgs)),
        _route("/orgs", "POST", _create_org, status=201),
        _route(org, "GET", _path(ops.show_org, "org")),
        _route(org, "PATCH", _update_org),
        _route(f"{org}/roles", "GET", _path(ops.list_roles, "org")),
        _route(f"{org}/roles", "POST", _create_role, status=201),
        _route(f"{org}/roles/{{name}}", "PATCH", _set_weight),
        _route(f"{org}/role-mappings", "GET", _path(ops.list_mappings, "org")),
        _route(f"{org}/groups", "GET", _list_groups),
        _route(f"{org}/role-mappings/{{group}}", "PUT", _map_group),
        _route(f"{org}/role-mappings/{{group}}", "DELETE", _unmap_group),
    ]


def _team_routes() -> list[Route]:
    org, team = "/orgs/{org}", "/orgs/{org}/teams/{team}"
    member = f"{team}/members/{{user}}"
    return [
        _route(f"{org}/teams", "GET", _path(ops.list_teams, "org")),
        _route(f"{org}/teams", "POST", _create_team, status=201),
        _route(team, "GET", _show_team),
        _route(member, "PUT", _path(ops.add_to_team, "org", "team", "user")),
        _route(member, "DELETE", _path(ops.remove_from_team, "org", "team", "user")),
        _route(f"{org}/members", "GET", _list_members),
        _route(f"{org}/members/{{user}}", "GET", _path(ops.show_member, "org", "user")),
    ]


def _log_routes() -> list[Route]:
    logs, retention = "/orgs/{org}/logs", "/orgs/{org}/log-retention"
    return [
        _route(logs, "GET", _list_logs),
        _route(f"{logs}/{{entry}}", "GET", _show_log),
        _route(retention, "GET", _path(ops.log_retention, "org")),
        _route(retention, "PUT", _set_log_retention),
        Route("/request-log", _request_log_counters, methods=["GET"]),
    ]


def _breaker_routes() -> list[Route]:
    path = "/orgs/{org}/breaker"
    return [
        _route(path, "GET", _breaker_status),
        _route(path, "PATCH", _configure_breaker),
        _route(f"{path}/approve", "POST", _approve_breaker),
    ]
