"""Replaying an identity provider's SCIM traffic against a running scimgate.

Shared by the per-IdP modules of this package. Requests go over real HTTP (the
``server_url`` fixture) through ``http.client``, which adds nothing of its own but
``Host`` and ``Content-Length``: the request line, the query string (``%20`` or ``+``)
and every header, a missing ``User-Agent`` included, are exactly what a test names.
Bodies are JSON texts or raw bytes, sent as given.

The checks here are the ones every IdP makes of our answers; what only one IdP checks
belongs in its own module.
"""

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

from scimgate.domain import organizations
from scimgate.storage.database import Database
from scimgate.storage.models import Role, User

SCIM_JSON = "application/scim+json"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"


@dataclass(frozen=True)
class Reply:
    """One answer of the server, read in full."""

    method: str
    target: str
    status: int
    headers: dict[str, str]
    """Header names lower-cased."""
    text: str

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.text)

    @property
    def body(self) -> dict[str, Any]:
        """The body as a JSON object (a failed assertion when it is not one)."""
        parsed = self.json() if self.text else None
        assert isinstance(parsed, dict), f"{self}: the body is not a JSON object"
        return parsed

    def __str__(self) -> str:
        return f"{self.method} {self.target} -> {self.status} {self.text[:2000]}"


class Replayer:
    """Sends one IdP's requests to a SCIM base URL, with that IdP's headers.

    ``headers`` are sent on every request, ``content_type`` (when given) on every
    request with a body; the ``headers`` of one ``send`` override both, a value of None
    leaving a header out. ``authorization`` is the whole header value; the default is
    ``Bearer <token>``.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        headers: dict[str, str],
        *,
        content_type: str | None = None,
        authorization: str | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        assert parts.hostname and parts.port, base_url
        self.host, self.port, self.prefix = parts.hostname, parts.port, parts.path.rstrip("/")
        self.headers = {"Authorization": authorization or f"Bearer {token}", **headers}
        self.content_type = content_type

    def send(
        self,
        method: str,
        target: str,
        body: Any = None,
        *,
        headers: dict[str, str | None] | None = None,
    ) -> Reply:
        """Send ``method target`` (relative to the base URL) and read the answer.

        ``body`` is serialized as compact JSON unless it is ``bytes``, sent as is.
        """
        merged: dict[str, str | None] = dict(self.headers)
        if body is None:
            payload = None
        elif isinstance(body, bytes):
            payload = body
        else:
            payload = json.dumps(body, separators=(",", ":")).encode()
        if payload is not None and self.content_type:
            merged["Content-Type"] = self.content_type
        merged.update(headers or {})
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            connection.putrequest(method, self.prefix + target, skip_accept_encoding=True)
            for name, value in merged.items():
                if value is not None:
                    connection.putheader(name, value)
            if payload is not None:
                connection.putheader("Content-Length", str(len(payload)))
            connection.endheaders(payload)
            response = connection.getresponse()
            text = response.read().decode()
            received = {name.lower(): value for name, value in response.getheaders()}
        finally:
            connection.close()
        return Reply(method, target, response.status, received, text)

    def get(self, target: str, **kwargs: Any) -> Reply:
        return self.send("GET", target, **kwargs)

    def post(self, target: str, body: Any, **kwargs: Any) -> Reply:
        return self.send("POST", target, body, **kwargs)

    def put(self, target: str, body: Any, **kwargs: Any) -> Reply:
        return self.send("PUT", target, body, **kwargs)

    def patch(self, target: str, body: Any, **kwargs: Any) -> Reply:
        return self.send("PATCH", target, body, **kwargs)

    def delete(self, target: str, **kwargs: Any) -> Reply:
        return self.send("DELETE", target, **kwargs)


def query(*pairs: tuple[str, str], plus: bool = False) -> str:
    """A query string, every value percent-encoded; spaces as ``+`` when ``plus``.

    ``query(("filter", 'userName eq "a@b.c"'))`` gives
    ``?filter=userName%20eq%20%22a%40b.c%22``.
    """
    encode = quote_plus if plus else quote
    return "?" + "&".join(f"{name}={encode(value, safe='')}" for name, value in pairs)


def patch_op(*operations: dict[str, Any]) -> dict[str, Any]:
    """A PatchOp message holding these operations, in order."""
    return {"schemas": [PATCH_URN], "Operations": list(operations)}


def assert_scim_json(reply: Reply) -> None:
    """The answer is declared as ``application/scim+json`` (RFC 7644 §3.1)."""
    assert reply.headers.get("content-type", "").startswith(SCIM_JSON), reply


def assert_resource(reply: Reply, status: int = 200) -> dict[str, Any]:
    """Check a status and a SCIM resource body with an ``id``; return the body."""
    assert reply.status == status, reply
    assert_scim_json(reply)
    body = reply.body
    assert isinstance(body.get("id"), str) and body["id"], reply
    return body


def assert_created(reply: Reply, resource_type: str) -> dict[str, Any]:
    """A 201 whose ``Location`` names the new resource (RFC 7644 §3.3); return the body."""
    body = assert_resource(reply, 201)
    location = reply.headers.get("location", "")
    assert location.endswith(f"/{resource_type}s/{body['id']}"), reply
    assert body["meta"]["location"] == location, reply
    assert body["meta"]["resourceType"] == resource_type, reply
    return body


def assert_list(reply: Reply, total: int, *, start_index: int = 1) -> list[dict[str, Any]]:
    """Check a 200 ListResponse with integer paging fields; return its resources.

    IdPs read ``totalResults``, ``startIndex`` and ``itemsPerPage`` as JSON numbers
    (a string fails them) and expect ``Resources`` to be an array, empty included.
    """
    assert reply.status == 200, reply
    assert_scim_json(reply)
    body = reply.body
    assert body["schemas"] == [LIST_URN], reply
    for field in ("totalResults", "startIndex", "itemsPerPage"):
        assert type(body.get(field)) is int, f"{field} is not an integer: {reply}"
    resources = body.get("Resources", [])
    assert isinstance(resources, list), reply
    assert body["totalResults"] == total, reply
    assert body["startIndex"] == start_index, reply
    assert body["itemsPerPage"] == len(resources), reply
    return resources


def assert_error(reply: Reply, status: int, scim_type: str | None = None) -> dict[str, Any]:
    """Check an RFC 7644 §3.12 Error: schema, ``status`` as a string, a ``detail``."""
    assert reply.status == status, reply
    assert_scim_json(reply)
    body = reply.body
    assert body["schemas"] == [ERROR_URN], reply
    assert body["status"] == str(status), reply
    assert body.get("scimType") == scim_type, reply
    assert isinstance(body.get("detail"), str) and body["detail"].strip(), reply
    return body


def assert_no_content(reply: Reply) -> None:
    """A 204 without a body whose ETag names the new version (RFC 7644 §3.5.2, §3.14)."""
    assert reply.status == 204, reply
    assert reply.text == "", reply
    assert reply.headers.get("etag", "").startswith('W/"'), reply


def assert_no_content_or_resource(reply: Reply) -> None:
    """A PATCH succeeded: 204 without a body, or 200 with the resource."""
    if reply.status == 204:
        assert reply.text == "", reply
    else:
        assert_resource(reply, 200)


def detected_idp(database: Database, organization: str) -> str | None:
    """The identity provider scimgate recorded for an organization."""
    with database.transaction() as session:
        return organizations.get(session, organization).detected_idp


def stored_state(database: Database, user_id: str) -> tuple[bool | None, str | None]:
    """A member's stored ``active`` flag and the name of their role (None: no role).

    What the app grants follows from these two: a deactivated member holds no role.
    """
    with database.transaction(write=False) as session:
        user = session.get(User, user_id)
        assert user is not None, f"no user {user_id}"
        role = None if user.role_id is None else session.get(Role, user.role_id)
        return user.active, None if role is None else role.name
