"""The ``/Bulk`` endpoint (RFC 7644 §3.7).

Each operation is sent through this same ASGI application as an in-process request,
so it gets exactly the routing, authentication, parsing, domain rules and error
mapping of the single-resource endpoint, and its own transaction: an operation that
fails writes nothing, and the ones before it stay written (RFC 7644 §3.7 does not
make a bulk job atomic).
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Scope

from scimgate.config import Settings
from scimgate.errors import (
    InvalidPathError,
    InvalidSyntaxError,
    InvalidValueError,
    PayloadTooLargeError,
    ScimError,
    UnresolvedReferenceError,
)

from .requests import attribute, read_json
from .responses import SCIM_MEDIA_TYPE, ScimResponse, error_response
from .tenancy import base_url, tenant

BULK_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
METHODS = ("POST", "PUT", "PATCH", "DELETE")
_NEEDS_DATA = ("POST", "PUT", "PATCH")

# An operation addresses a collection or one resource of it; a bulkId reference
# ("/Groups/bulkId:qwerty") contains no slash, so it fits the id segment.
_PATH = re.compile(r"/?(Users|Groups)(?:/([^/?#]+))?/?")
# RFC 7644 §3.7.2: "bulkId:<bulkId>" stands for the id of the resource the POST with
# that bulkId creates. Inside a longer string (a path, a PATCH filter) it ends at a
# delimiter.
_REFERENCE = re.compile(r"bulkId:([^\s\"'/?#\[\],]+)")


@dataclass
class _Operation:
    """One entry of ``Operations``, as read from the request."""

    index: int
    method: Any
    path: str
    bulk_id: str | None
    version: str | None
    data: Any
    problem: ScimError | None = None


@dataclass
class _Outcome:
    """What the in-process request for one operation answered."""

    status: int
    headers: dict[str, str]
    body: Any


async def post_bulk(request: Request) -> Response:
    """POST /Bulk: run the operations in order, each on its own (RFC 7644 §3.7)."""
    await tenant(request)
    settings: Settings = request.app.state.settings
    body = await read_json(request, max_bytes=settings.bulk_max_payload_bytes)
    operations, fail_on_errors = _read_job(body, settings)
    results = await _BulkRun(request, operations, fail_on_errors).run()
    return ScimResponse({"schemas": [BULK_RESPONSE_SCHEMA], "Operations": results})


# --- Reading the request ------------------------------------------------------------------


def _read_job(body: dict[str, Any], settings: Settings) -> tuple[list[_Operation], int | None]:
    """Check the BulkRequest envelope; problems inside one operation fail only that one."""
    schemas = attribute(body, "schemas")
    if not isinstance(schemas, list) or BULK_REQUEST_SCHEMA.lower() not in {
        urn.lower() for urn in schemas if isinstance(urn, str)
    }:
        raise InvalidSyntaxError(f'schemas must be ["{BULK_REQUEST_SCHEMA}"].')
    raw = attribute(body, "Operations")
    if not isinstance(raw, list):
        raise InvalidSyntaxError("Operations must be a list of operations (RFC 7644 §3.7).")
    limit = settings.bulk_max_operations
    if len(raw) > limit:
        # RFC 7644 §3.7.4: more operations than maxOperations is 413.
        raise PayloadTooLargeError(
            f"A bulk request may carry at most {limit} operations (maxOperations); this one "
            f"carries {len(raw)}. Split it into several requests."
        )
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise InvalidSyntaxError(
                f"Operations[{index}] must be an object with method, path and data."
            )
    operations = [_read_operation(index, entry) for index, entry in enumerate(raw)]
    return operations, _fail_on_errors(body)


def _fail_on_errors(body: dict[str, Any]) -> int | None:
    value = attribute(body, "failOnErrors")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidValueError(
            "failOnErrors must be a positive integer: the number of failed operations "
            "after which the rest are skipped. Leave it out to run every operation."
        )
    return value


def _read_operation(index: int, raw: dict[str, Any]) -> _Operation:
    method = attribute(raw, "method")
    if isinstance(method, str):
        method = method.upper()
    path, bulk_id, version = (
        attribute(raw, "path"),
        attribute(raw, "bulkId"),
        attribute(raw, "version"),
    )
    operation = _Operation(
        index=index,
        method=method,
        path=path if isinstance(path, str) else "",
        bulk_id=bulk_id if isinstance(bulk_id, str) and bulk_id else None,
        version=version if isinstance(version, str) and version.isascii() else None,
        # A DELETE sends no body, so whatever data it carries is ignored.
        data=attribute(raw, "data") if method in _NEEDS_DATA else None,
    )
    operation.problem = _operation_problem(operation, path, bulk_id, version)
    return operation


def _operation_problem(
    operation: _Operation, path: Any, bulk_id: Any, version: Any
) -> ScimError | None:
    """Say what makes an operation impossible to run, as a 400 for that operation."""
    method = operation.method
    if method not in METHODS:
        return InvalidValueError(f"method must be POST, PUT, PATCH or DELETE, not {method!r}.")
    if bulk_id is not None and operation.bulk_id is None:
        return InvalidValueError("bulkId must be a non-empty string.")
    if method == "POST" and operation.bulk_id is None:
        return InvalidValueError("bulkId is required for POST (RFC 7644 §3.7).")
    if version is not None and operation.version is None:
        return InvalidValueError('version must be an ETag string, such as W/"3".')
    if method in _NEEDS_DATA and not isinstance(operation.data, dict):
        return InvalidValueError(
            f"data is required for {method}: the body a single {method} sends."
        )
    return _path_problem(path)


def _path_problem(path: Any) -> ScimError | None:
    if not isinstance(path, str) or not path:
        return InvalidPathError('path is required, such as "/Users" or "/Groups/{id}".')
    if path.strip("/").split("/")[0] == "Bulk":
        return InvalidPathError("A bulk operation cannot address /Bulk itself.")
    if not _PATH.fullmatch(path):
        return InvalidPathError(
            f"path must be /Users, /Users/{{id}}, /Groups or /Groups/{{id}}, not {path!r}."
        )
    return None


def _declare_bulk_ids(operations: list[_Operation]) -> dict[str, int]:
    """Map each bulkId to the POST that declares it first; refuse later POSTs declaring it.

    A bulkId names one new resource (RFC 7644 §3.7), so references must not be ambiguous.
    """
    owners: dict[str, int] = {}
    for operation in operations:
        if operation.method != "POST" or operation.bulk_id is None:
            continue
        owner = owners.setdefault(operation.bulk_id, operation.index)
        if owner != operation.index and operation.problem is None:
            operation.problem = InvalidValueError(
                f"bulkId {operation.bulk_id!r} is already declared by Operations[{owner}]; "
                "each POST needs its own."
            )
    return owners


# --- bulkId references (RFC 7644 §3.7.2) --------------------------------------------------


def _references(value: Any) -> set[str]:
    """Every bulkId that ``value`` (a string, or JSON data holding strings) refers to."""
    if isinstance(value, str):
        return set(_REFERENCE.findall(value))
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return set().union(*(_references(item) for item in value))
    return set()


def _substitute(value: Any, created: dict[str, str]) -> Any:
    """Replace each bulkId reference in ``value`` by the id its POST created."""
    if isinstance(value, str):
        return _REFERENCE.sub(lambda match: created[match.group(1)], value)
    if isinstance(value, dict):
        return {key: _substitute(item, created) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, created) for item in value]
    return value


def _named(bulk_ids: set[str]) -> str:
    return ", ".join(f'"bulkId:{bulk_id}"' for bulk_id in sorted(bulk_ids))


# --- Running the job ----------------------------------------------------------------------


@dataclass
class _BulkRun:
    """The state of one bulk job: what its POSTs created, and the results so far."""

    request: Request
    operations: list[_Operation]
    fail_on_errors: int | None
    owners: dict[str, int] = field(default_factory=dict)
    created: dict[str, str] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    results: dict[int, dict[str, Any]] = field(default_factory=dict)
    errors: int = 0

    def __post_init__(self) -> None:
        self.owners = _declare_bulk_ids(self.operations)

    @property
    def stopped(self) -> bool:
        # RFC 7644 §3.7.3: once failOnErrors operations have failed, the rest are
        # neither run nor reported.
        return self.fail_on_errors is not None and self.errors >= self.fail_on_errors

    async def run(self) -> list[dict[str, Any]]:
        """Run in order; an operation waiting on a later POST's bulkId is retried after."""
        waiting = self.operations
        while waiting and not self.stopped:
            deferred: list[_Operation] = []
            for op in waiting:
                if self.stopped:
                    break
                if not await self._attempt(op):
                    deferred.append(op)
            if len(deferred) == len(waiting):
                # Nothing could run: what is left waits on bulkIds of operations that
                # wait themselves.
                self._fail_circular(deferred)
                break
            waiting = deferred
        # Results follow the order of the request, so a client can pair them up.
        return [self.results[index] for index in sorted(self.results)]

    async def _attempt(self, op: _Operation) -> bool:
        """Run ``op`` or fail it; False when it must wait for a POST still to run."""
        if op.problem:
            self._fail(op, op.problem)
            return True
        wanted = _references(op.path) | _references(op.data)
        if unknown := wanted - self.owners.keys():
            detail = f"{_named(unknown)} names no POST operation of this bulk request."
            self._fail(op, UnresolvedReferenceError(detail))
            return True
        if lost := wanted & self.failed:
            detail = f"{_named(lost)} cannot be resolved: the POST that declares it failed."
            self._fail(op, UnresolvedReferenceError(detail))
            return True
        if wanted - self.created.keys():
            return False
        path = _substitute(op.path, self.created)
        outcome = await _dispatch(self.request, op, path, _substitute(op.data, self.created))
        self._record(op, path, outcome)
        return True

    def _fail_circular(self, operations: list[_Operation]) -> None:
        for op in operations:
            if self.stopped:
                return
            pending = (_references(op.path) | _references(op.data)) - self.created.keys()
            detail = (
                f"{_named(pending)} cannot be resolved: the operations creating these "
                "resources refer to each other (a circular reference, RFC 7644 §3.7.1)."
            )
            self._fail(op, UnresolvedReferenceError(detail))

    def _fail(self, op: _Operation, error: ScimError) -> None:
        self._record(op, None, _Outcome(error.status, {}, _error_body(error)))

    def _record(self, op: _Operation, path: str | None, outcome: _Outcome) -> None:
        succeeded = 200 <= outcome.status < 300
        result: dict[str, Any] = {"method": op.method}
        if op.bulk_id:
            result["bulkId"] = op.bulk_id
        location = self._location(op, path, outcome)
        if location:
            result["location"] = location
        if succeeded and "etag" in outcome.headers:
            result["version"] = outcome.headers["etag"]
        # RFC 7644 §3.7.3: status is the HTTP status code as a string.
        result["status"] = str(outcome.status)
        if not succeeded:
            result["response"] = outcome.body
            self.errors += 1
        self.results[op.index] = result
        if op.bulk_id is not None and self.owners.get(op.bulk_id) == op.index:
            self._settle(op.bulk_id, outcome if succeeded else None)

    def _settle(self, bulk_id: str, outcome: _Outcome | None) -> None:
        """Remember the id a POST created for its bulkId, or that it created nothing."""
        new_id = outcome.body.get("id") if outcome and isinstance(outcome.body, dict) else None
        if isinstance(new_id, str) and new_id:
            self.created[bulk_id] = new_id
        else:
            self.failed.add(bulk_id)

    def _location(self, op: _Operation, path: str | None, outcome: _Outcome) -> str | None:
        """The resource's URL: required in a result except for a failed POST (RFC 7644 §3.7)."""
        if "location" in outcome.headers:
            return outcome.headers["location"]
        meta = outcome.body.get("meta") if isinstance(outcome.body, dict) else None
        if isinstance(meta, dict) and isinstance(meta.get("location"), str):
            return str(meta["location"])
        if op.method == "POST" or path is None:
            return None
        return base_url(self.request) + "/" + path.strip("/")


# --- Sending one operation through the application ----------------------------------------


class _Exchange:
    """The client side of one in-process HTTP exchange: sends a body, records the answer."""

    def __init__(self, body: bytes) -> None:
        self._body: bytes | None = body
        self._done = anyio.Event()
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.content = bytearray()

    async def receive(self) -> Message:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        # Like a client that stays connected until it has read the whole response.
        await self._done.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            self.headers = {
                name.decode("latin-1").lower(): value.decode("latin-1")
                for name, value in message.get("headers", [])
            }
        elif message["type"] == "http.response.body":
            self.content.extend(message.get("body", b""))
            if not message.get("more_body", False):
                self._done.set()

    def finish(self) -> None:
        self._done.set()


async def _dispatch(request: Request, op: _Operation, path: str, data: Any) -> _Outcome:
    """Send ``op`` to the application as its own request, with the caller's credentials."""
    body = b"" if op.method == "DELETE" else json.dumps(data).encode()
    exchange = _Exchange(body)
    app: Callable[..., Any] = request.app
    try:
        await app(_sub_scope(request, op, path, body), exchange.receive, exchange.send)
    except Exception:
        # Starlette's ServerErrorMiddleware re-raises an unexpected error after it has
        # logged it and sent the 500; that 500 is this operation's result alone.
        if exchange.status is None:
            return _Outcome(500, {}, _error_body(ScimError()))
    finally:
        exchange.finish()
    return _Outcome(exchange.status or 500, exchange.headers, _json(bytes(exchange.content)))


def _error_body(error: ScimError) -> Any:
    """The SCIM Error body (RFC 7644 §3.12) a single request would have answered."""
    return json.loads(bytes(error_response(error).body))


def _json(content: bytes) -> Any:
    try:
        return json.loads(content) if content else None
    except ValueError:
        return None


def _sub_scope(request: Request, op: _Operation, path: str, body: bytes) -> Scope:
    """An ASGI scope for ``path`` under the base URL the bulk request came in on."""
    mount: str = request.scope.get("root_path", "")
    full_path = mount + "/" + path.strip("/")
    headers = [(b"content-length", str(len(body)).encode())]
    if body:
        headers.append((b"content-type", SCIM_MEDIA_TYPE.encode()))
    # The operations are the client's own requests: the same credentials and host, and the
    # same User-Agent, which tells which IdP is talking (scim/providers.py); without it
    # each operation would look like a client that sends none.
    for name in ("authorization", "host", "user-agent"):
        if name in request.headers:
            headers.append((name.encode(), request.headers[name].encode("latin-1")))
    if op.version:
        # RFC 7644 §3.7: "version" is the ETag a single request sends as If-Match.
        headers.append((b"if-match", op.version.encode("latin-1")))
    scope: Scope = {
        "type": "http",
        "asgi": request.scope.get("asgi", {"version": "3.0"}),
        "http_version": request.scope.get("http_version", "1.1"),
        "method": op.method,
        "scheme": request.scope.get("scheme", "http"),
        "path": full_path,
        "raw_path": quote(full_path).encode(),
        "query_string": b"",
        "root_path": request.scope.get("app_root_path", ""),
        "headers": headers,
        "server": request.scope.get("server"),
        "client": request.scope.get("client"),
    }
    if "state" in request.scope:
        scope["state"] = dict(request.scope["state"])
    return scope
