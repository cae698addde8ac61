"""Send generated hostile requests to every SCIM and admin endpoint, in process.

The request generator is built from the application's own route table (every method
and path template of ``scim.routes`` and ``admin.api``), so a new endpoint is fuzzed
as soon as it is routed. Each request mixes valid and hostile parts: methods that
exist and ones that do not, paths with real ids, other organizations' ids, random
ids, traversal, NUL, very long and non-ASCII segments, list and search parameters
(filters, sorting, paging, cursors, projection) drawn from a small grammar and then
broken, credentials of the right organization, another one, a revoked token, the
admin key on SCIM routes and a SCIM token on admin routes, and bodies made from valid
ones by dropping, duplicating, retyping and nesting fields, or replaced by bytes that
are not JSON or not UTF-8.

The app runs in this process and is called as an ASGI application (no sockets), on a
fresh SQLite database or on ``--database-url``. Every answer is checked:

- no 5xx (501 is the designed answer of ``/Me``, RFC 7644 §3.11, and is allowed);
- every error on a SCIM route is an RFC 7644 §3.12 Error body with the SCIM media type
  and ``status`` equal to the HTTP status, bulk operation results included;
- every error on an admin route is the admin API's ``{"error", "status"}`` body;
- the request log lost no entry.

Runs are deterministic for a seed: request ``i`` is drawn from a generator seeded with
``(seed, i)`` and the world it acts on, so ``--requests i+1 --show i`` with the same
seed prints the failing request and its answer again. Exits 1 on any failure.

    python scripts/fuzz.py --requests 100000 --seed 7
    python scripts/fuzz.py --requests 20000 --database-url postgresql+psycopg://...
"""

import argparse
import asyncio
import base64
import json
import logging
import os
import random
import re
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from scimgate.app import create_app
from scimgate.config import Settings
from scimgate.domain import organizations, sso, tokens
from scimgate.storage.database import Database

ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
ADMIN_KEY = "fuzz-admin-key"
SCIM_MEDIA = "application/scim+json"
_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")
JSON = Any


# --- requests and answers ----------------------------------------------------------------


@dataclass
class Probe:
    """One generated request, as it goes on the wire."""

    index: int
    method: str
    raw_path: str
    """The path as sent: ASCII, percent-encoded."""
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    route: str
    """The route template the request was generated from, or "junk"."""

    def describe(self, limit: int = 2000) -> str:
        """The request as text, long bodies cut to ``limit`` bytes."""
        body = self.body if len(self.body) <= limit else self.body[:limit] + b"...(cut)"
        headers = "\n".join(f"  {name}: {value[:200]!r}" for name, value in self.headers)
        target = self.raw_path + (f"?{self.query}" if self.query else "")
        return f"{self.method} {target}\n{headers}\n  body ({len(self.body)} bytes): {body!r}"


@dataclass
class Answer:
    """What the application answered."""

    status: int
    headers: dict[str, str]
    body: bytes
    crashed: str | None = None
    """The exception the application let escape, if any."""

    def json(self) -> JSON:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


async def call(app: Starlette, probe: Probe, timeout: float = 60.0) -> Answer:
    """Send ``probe`` through the ASGI application and collect the answer."""
    done = asyncio.Event()
    pending: list[bytes] = [probe.body]
    answer = Answer(0, {}, b"")
    chunks = bytearray()

    async def receive() -> dict[str, Any]:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer.status = int(message["status"])
            answer.headers = {
                k.decode().lower(): v.decode("latin-1") for k, v in message["headers"]
            }
        elif message["type"] == "http.response.body":
            chunks.extend(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    try:
        await asyncio.wait_for(app(_scope(probe), receive, send), timeout)
    except TimeoutError:
        answer.crashed = f"no answer within {timeout} s"
    except Exception as exc:  # the 500 has been sent; the probe reports the cause
        answer.crashed = f"{type(exc).__name__}: {exc}"
    finally:
        done.set()
    answer.body = bytes(chunks)
    if answer.status == 0:
        answer.status = 500
    return answer


def _scope(probe: Probe) -> dict[str, Any]:
    # As uvicorn does: the path is the percent-decoded target, the query stays raw.
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": probe.method,
        "scheme": "http",
        "path": unquote(probe.raw_path),
        "raw_path": probe.raw_path.encode("ascii"),
        "query_string": probe.query.encode("ascii"),
        "root_path": "",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in probe.headers],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 40000),
    }


# --- the world the requests act on --------------------------------------------------------


@dataclass
class World:
    """Organizations, credentials and the ids the generator may name."""

    tokens: dict[str, str]
    """SCIM tokens by role: a (target), b (another org), off, nosso, revoked."""
    orgs: dict[str, str]
    """Organization ids by the same roles, and "play" for admin changes."""
    names: dict[str, str]
    users: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    other_users: list[str] = field(default_factory=list)
    other_groups: list[str] = field(default_factory=list)
    cursors: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=lambda: ["Team 0", "Team 1"])
    roles: list[str] = field(default_factory=lambda: ["member", "admin", "owner", "observer"])
    entries: list[str] = field(default_factory=list)

    def learn(self, probe: Probe, answer: Answer) -> None:
        """Remember ids and cursors the answer reveals, for later requests to name."""
        body = answer.json()
        if not isinstance(body, dict) or answer.status >= 300:
            return
        if isinstance(body.get("nextCursor"), str):
            _keep(self.cursors, body["nextCursor"])
        meta = body.get("meta")
        kind = meta.get("resourceType") if isinstance(meta, dict) else None
        if probe.method == "POST" and isinstance(body.get("id"), str):
            pool = {"User": self.users, "Group": self.groups}.get(str(kind))
            if pool is not None and _authorization(probe) == self.tokens["a"]:
                _keep(pool, body["id"])
        if "/logs" in probe.raw_path and isinstance(body.get("entries"), list):
            for entry in body["entries"]:
                if isinstance(entry, dict) and "id" in entry:
                    _keep(self.entries, str(entry["id"]))
        if probe.method == "POST" and probe.raw_path.startswith("/api/"):
            pool = {"teams": self.teams, "roles": self.roles}.get(probe.raw_path.rsplit("/")[-1])
            if pool is not None and isinstance(body.get("name"), str):
                _keep(pool, body["name"])

    def forget(self, probe: Probe, answer: Answer) -> None:
        """Drop an id a DELETE removed."""
        if probe.method == "DELETE" and answer.status == 204:
            last = unquote(probe.raw_path).rstrip("/").rsplit("/", 1)[-1]
            for pool in (self.users, self.groups):
                if last in pool:
                    pool.remove(last)


def _keep(pool: list[str], value: str, size: int = 200) -> None:
    if value not in pool:
        pool.append(value)
        del pool[:-size]


def _authorization(probe: Probe) -> str | None:
    value = next((v for k, v in probe.headers if k.lower() == "authorization"), None)
    return value.removeprefix("Bearer ") if value else None


def build_world(db: Database, tag: str) -> World:
    """Create the organizations and tokens the run uses (names unique per run)."""
    issued: dict[str, str] = {}
    ids: dict[str, str] = {}
    names: dict[str, str] = {}
    with db.transaction() as session:
        for role, has_sso, scim_on in [
            ("a", True, True),
            ("b", True, True),
            ("off", True, False),
            ("nosso", False, False),
            ("play", True, True),
        ]:
            name = f"fuzz-{role}-{tag}"
            org = organizations.create(session, name)
            if has_sso:
                organizations.configure_sso(session, org, sso.demo_settings(name))
            organizations.set_scim_enabled(org, scim_on)
            if role == "a":
                # Teams and roles follow groups, so group changes reach that code too.
                for flag in ("sync_groups_to_teams", "assign_roles_from_groups", "phone_sync"):
                    organizations.set_flag(session, org, flag, True)
            issued[role] = tokens.issue(session, org).secret
            ids[role], names[role] = org.id, name
            if role == "a":
                revoked = tokens.issue(session, org)
                session.flush()
                tokens.revoke(session, org, revoked.token.id)
                issued["revoked"] = revoked.secret
    return World(tokens=issued, orgs=ids, names=names)


# --- hostile values -----------------------------------------------------------------------

HOSTILE_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "' OR 1=1 --",
    '"; DROP TABLE users; --',
    "x' OR 'a'='a",
    "%",
    "_",
    "%_%",
    "\\",
    "\\\\\\",
    "../../etc/passwd",
    "..%2f..%2f",
    "\u202eevil",
    "\ufeff",
    "\ud800",
    "\U0001d518\U0001d52b\U0001d526 \u2713 \u540d\u524d",  # mathematical letters, CJK
    "\u01c4 \u00df \u0130 \u0131 \ufb03",  # letters whose case mapping changes length
    "\t\n\r",
    "null",
    "true",
    "1e309",
    "-0",
    "9" * 40,
    'W/"1"',
    "*",
    "${jndi:ldap://127.0.0.1/x}",
    "<script>alert(1)</script>",
    "bulkId:nope",
    "bulkId:b1",
]


def text(rng: random.Random) -> str:
    """A string, hostile often."""
    roll = rng.random()
    if roll < 0.45:
        return rng.choice(HOSTILE_TEXT)
    if roll < 0.55:
        return rng.choice("ab%_\\'\"") * rng.choice([300, 5000, 70_000])
    if roll < 0.75:
        return "".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(rng.randint(1, 12)))
    return rng.choice(["ada", "Bob", "x", "Engineering", "work", "mobile", "+1 555 0100"])


def number(rng: random.Random) -> JSON:
    """A number, including ones no column can hold."""
    return rng.choice([0, -1, 1, 2**31, 2**63, -(2**63) - 1, 10**30, 1.5, -0.0, 1e308, 3])


def junk(rng: random.Random, depth: int = 0) -> JSON:
    """Any JSON value."""
    roll = rng.random()
    if depth > 2 or roll < 0.3:
        return text(rng)
    if roll < 0.45:
        return number(rng)
    if roll < 0.6:
        return rng.choice([True, False, None])
    if roll < 0.8:
        return [junk(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {text(rng)[:20]: junk(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def email(rng: random.Random) -> str:
    """A userName: usually a fresh valid address, sometimes a taken or broken one."""
    roll = rng.random()
    if roll < 0.7:
        return f"u{rng.randrange(10**9)}@example.com"
    if roll < 0.8:
        return rng.choice(["ada@example.com", "ADA@EXAMPLE.COM", "bob@example.org"])
    return rng.choice(["not-an-email", "a@b", "@", "x" * 300 + "@example.com", text(rng)])


def some_id(rng: random.Random, pool: list[str]) -> str:
    """An id from ``pool`` most of the time, else a hostile one."""
    if pool and rng.random() < 0.8:
        return rng.choice(pool)
    return rng.choice([str(uuid.UUID(int=rng.getrandbits(128))), "bulkId:b1", text(rng)])


# --- filters ------------------------------------------------------------------------------

USER_ATTRS = [
    "userName",
    "displayName",
    "name.givenName",
    "name.familyName",
    "title",
    "externalId",
    "id",
    "active",
    "emails",
    "emails.value",
    "emails.type",
    "emails.primary",
    "phoneNumbers.value",
    "addresses.locality",
    "meta.created",
    "meta.lastModified",
    "meta.version",
    "meta.resourceType",
    "x509Certificates.value",
    "nickName",
    "members",
    f"{ENTERPRISE_URN}:employeeNumber",
    f"{ENTERPRISE_URN}:manager.value",
    f"{USER_URN}:userName",
    "members.value",
    "members.display",
    "unknownAttr",
    "name",
]
OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]


def literal(rng: random.Random) -> str:
    """A filter comparison value: quoted strings, numbers, booleans, null, dates."""
    return rng.choice(
        [
            json.dumps(text(rng)[:50]),
            json.dumps(rng.choice(["ada@example.com", "work", "Ada", "a"])),
            '"2024-01-31T12:00:00Z"',
            '"not-a-date"',
            "true",
            "false",
            "null",
            str(number(rng)),
            "1e999999",
            '"unterminated',
        ]
    )


def scim_filter(rng: random.Random, depth: int = 0) -> str:
    """A filter from the RFC 7644 §3.4.2.2 grammar, sometimes broken on purpose."""
    roll = rng.random()
    attr = rng.choice(USER_ATTRS)
    if depth > 3 or roll < 0.4:
        return f"{attr} {rng.choice(OPERATORS)} {literal(rng)}"
    if roll < 0.5:
        return f"{attr} pr"
    if roll < 0.6:
        return f"not ({scim_filter(rng, depth + 1)})"
    if roll < 0.7:
        sub = rng.choice(["type", "value", "primary", "display", "value.x"])
        inner = f"{sub} {rng.choice(OPERATORS)} {literal(rng)}"
        return f"{rng.choice(['emails', 'phoneNumbers', 'members', 'name', 'addresses'])}[{inner}]"
    if roll < 0.85:
        joined = f" {rng.choice(['and', 'or', 'AND', 'Or'])} "
        return joined.join(scim_filter(rng, depth + 1) for _ in range(rng.randint(2, 3)))
    return rng.choice(
        [
            "(" * 500 + 'userName eq "a"' + ")" * 500,
            "not (" * 200 + "active eq true" + ")" * 200,
            " or ".join(['userName eq "a"'] * 400),
            'userName eq "a" and',
            'emails[type eq "work"',
            'userName eq "x\\"',
            text(rng),
            "userName eq " + "9" * 5000,
        ]
    )


# --- bodies -------------------------------------------------------------------------------


def user_body(rng: random.Random, world: World) -> JSON:
    body: dict[str, Any] = {"schemas": [USER_URN], "userName": email(rng)}
    if rng.random() < 0.5:
        body["name"] = {"givenName": text(rng)[:40], "familyName": "Lovelace"}
    if rng.random() < 0.5:
        body["emails"] = [
            {
                "value": email(rng),
                "type": rng.choice(["work", "home"]),
                "primary": rng.random() < 0.5,
            }
            for _ in range(rng.randint(0, 3))
        ]
    if rng.random() < 0.3:
        body["phoneNumbers"] = [
            {"value": rng.choice(["+1 555 0100", "12", text(rng)]), "type": "work"}
        ]
    for key in ("displayName", "title", "externalId", "nickName", "locale", "timezone"):
        if rng.random() < 0.25:
            body[key] = text(rng)
    if rng.random() < 0.3:
        body["active"] = rng.choice([True, False, "True", "False", None])
    if rng.random() < 0.3:
        body["schemas"].append(ENTERPRISE_URN)
        manager = rng.choice([some_id(rng, world.users), {"value": some_id(rng, world.users)}])
        body[ENTERPRISE_URN] = {"employeeNumber": text(rng), "manager": manager}
    if rng.random() < 0.1:
        body["addresses"] = [{"type": "work", "locality": text(rng), "primary": True}]
    if rng.random() < 0.02:
        body["password"] = "s3cret!"  # noqa: S105 (a test value)
    if rng.random() < 0.05:
        body[rng.choice(["groups", "id", "meta", "urn:example:custom:1.0:User"])] = junk(rng)
    return body


def members(rng: random.Random, world: World) -> list[JSON]:
    pools = [world.users, world.groups, world.other_users, world.other_groups]
    chosen = []
    for _ in range(rng.randint(0, 4)):
        member: dict[str, Any] = {"value": some_id(rng, rng.choice(pools))}
        if rng.random() < 0.3:
            member["type"] = rng.choice(["User", "Group", "user", text(rng)])
        chosen.append(member)
    return chosen


def group_body(rng: random.Random, world: World) -> JSON:
    body: dict[str, Any] = {
        "schemas": [GROUP_URN],
        "displayName": rng.choice([f"g{rng.randrange(10**6)}", "Engineering", text(rng)]),
    }
    if rng.random() < 0.6:
        body["members"] = members(rng, world)
    if rng.random() < 0.3:
        body["externalId"] = text(rng)
    return body


USER_PATHS = [
    "active",
    "userName",
    "displayName",
    "name.givenName",
    "name",
    "emails",
    "title",
    'emails[type eq "work"].value',
    'emails[type eq "work"]',
    "emails[primary eq true]",
    'phoneNumbers[type eq "mobile"].value',
    f"{ENTERPRISE_URN}:manager",
    f"{ENTERPRISE_URN}:employeeNumber",
    "externalId",
    "groups",
    "id",
    "meta.version",
    "urn:example:custom:1.0:User:thing",
    "emails[",
    "name..givenName",
    "x" * 300,
]
GROUP_PATHS = [
    "members",
    "displayName",
    "externalId",
    'members[value eq "{id}"]',
    "members[",
    'members[display co "a"]',
    "id",
    f"{GROUP_URN}:displayName",
    "members.value",
]


def patch_body(rng: random.Random, world: World, group: bool) -> JSON:
    operations = []
    for _ in range(rng.randint(1, 4)):
        op: dict[str, Any] = {"op": rng.choice(["add", "replace", "remove", "Replace", "move"])}
        roll = rng.random()
        if roll < 0.8:
            path = rng.choice(GROUP_PATHS if group else USER_PATHS)
            op["path"] = path.replace("{id}", some_id(rng, world.users))
        if group and rng.random() < 0.6:
            op["value"] = rng.choice([members(rng, world), f"g{rng.randrange(10**6)}"])
        elif "path" not in op:
            op["value"] = user_body(rng, world) if not group else {"displayName": text(rng)}
        elif rng.random() < 0.8:
            op["value"] = rng.choice([junk(rng), True, text(rng), email(rng)])
        operations.append(op)
    return {"schemas": [PATCH_URN], "Operations": operations}


def search_body(rng: random.Random, world: World) -> JSON:
    body: dict[str, Any] = {"schemas": [SEARCH_URN]}
    body.update(list_params(rng, world, as_json=True))
    return body


def bulk_body(rng: random.Random, world: World) -> JSON:
    operations = []
    for index in range(rng.choice([0, 1, 2, 3, 5, 8])):
        method = rng.choice(["POST", "PUT", "PATCH", "DELETE", "GET", None])
        kind = rng.choice(["Users", "Groups"])
        op: dict[str, Any] = {"method": method, "bulkId": f"b{index}"}
        target = some_id(rng, world.users if kind == "Users" else world.groups)
        op["path"] = rng.choice([f"/{kind}", f"/{kind}/{target}", f"/{kind}/bulkId:b0", "/Bulk"])
        if method == "PATCH":
            op["data"] = patch_body(rng, world, kind == "Groups")
        elif method in ("POST", "PUT"):
            op["data"] = (user_body if kind == "Users" else group_body)(rng, world)
        operations.append(op)
    if rng.random() < 0.01:
        operations = [{"method": "DELETE", "path": "/Users/x"}] * 1001
    body: dict[str, Any] = {"schemas": [BULK_URN], "Operations": operations}
    if rng.random() < 0.3:
        body["failOnErrors"] = rng.choice([1, 2, 0, -1, "1", None])
    return body


def admin_body(rng: random.Random, route: str, world: World) -> JSON:
    if route.endswith("/orgs"):
        return {"name": rng.choice([f"fuzz-org-{rng.randrange(10**9)}", text(rng)])}
    if route.endswith("/roles"):
        return {
            "name": rng.choice([f"role{rng.randrange(1000)}", text(rng)]),
            "weight": number(rng),
        }
    if "/roles/" in route:
        return {"weight": rng.choice([number(rng), "5", True])}
    if "role-mappings" in route:
        return {"role": rng.choice([*world.roles, text(rng)])}
    if route.endswith("/teams"):
        return {"name": rng.choice([f"team{rng.randrange(1000)}", text(rng)])}
    if "log-retention" in route:
        return {"days": number(rng)}
    if route == "/orgs/{org}":
        flag = rng.choice(["scim_enabled", "google_directory_sync", "phone_sync", "x"])
        return {flag: rng.choice([True, False, "yes"]), "default_role": rng.choice(world.roles)}
    return junk(rng)


def mutate(rng: random.Random, value: JSON, depth: int = 0) -> JSON:
    """Change one node of a JSON document: drop, retype, nest or rename a field."""
    if isinstance(value, dict) and value and depth < 4 and rng.random() < 0.6:
        key = rng.choice(list(value))
        copy = dict(value)
        roll = rng.random()
        if roll < 0.2:
            del copy[key]
        elif roll < 0.3:
            copy[key.upper()] = copy.pop(key)
        else:
            copy[key] = mutate(rng, copy[key], depth + 1)
        return copy
    if isinstance(value, list) and value and depth < 4 and rng.random() < 0.6:
        items = list(value)
        index = rng.randrange(len(items))
        items[index] = mutate(rng, items[index], depth + 1)
        return items
    roll = rng.random()
    if roll < 0.1:
        nested: JSON = value
        for _ in range(rng.choice([20, 70, 300])):
            nested = [nested]
        return nested
    if roll < 0.2:
        return [value, value]
    return junk(rng)


def encode(rng: random.Random, body: JSON) -> bytes:
    """Serialize a body, or break it in a way a real client or attacker might."""
    roll = rng.random()
    try:
        raw = json.dumps(body, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
    except RecursionError:  # mutations nested it deeper than the encoder goes
        return b'{"a":' * 2000 + b"1" + b"}" * 2000
    if roll < 0.8:
        return raw
    breakers: list[Callable[[bytes], bytes]] = [
        lambda b: b[: len(b) // 2],
        lambda b: b"",
        lambda b: b"\xff\xfe" + b,
        lambda b: b"\xef\xbb\xbf" + b,
        lambda b: b.replace(b'"', b"'", 1),
        lambda b: b"[" * 100_000 + b"]" * 100_000,
        lambda b: b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        lambda b: b.replace(b"{", b'{"schemas":1,', 1),
        lambda b: b"null",
        lambda b: b"NaN",
        lambda b: b'{"userName": Infinity, "x": NaN}',
        lambda b: bytes(rng.randrange(256) for _ in range(rng.randint(1, 200))),
        lambda b: b + b"garbage",
        lambda b: b.replace(b"a", b"\xc3\x28"),
        lambda b: b'{"x":"' + b"a" * 11_000_000 + b'"}',
    ]
    return rng.choice(breakers)(raw)


# --- paths, queries, headers --------------------------------------------------------------


def list_params(rng: random.Random, world: World, *, as_json: bool = False) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if rng.random() < 0.7:
        params["filter"] = scim_filter(rng)
    if rng.random() < 0.3:
        params["sortBy"] = rng.choice([*USER_ATTRS, text(rng)])
        params["sortOrder"] = rng.choice(["ascending", "descending", "sideways"])
    if rng.random() < 0.3:
        params["startIndex"] = rng.choice([1, 0, -5, 2, 10**20, "x", 1.5, text(rng)])
    if rng.random() < 0.3:
        params["count"] = rng.choice([0, 1, -1, 5, 10**20, 1001, "ten"])
    if rng.random() < 0.2:
        params["cursor"] = rng.choice(["", *world.cursors[-3:], text(rng), "eyJ4Ijox" * 3])
    if rng.random() < 0.2:
        params["attributes"] = rng.choice(["userName", "members", "emails.value", text(rng)])
    if rng.random() < 0.2:
        params["excludedAttributes"] = rng.choice(["members", "groups", text(rng)])
    if as_json:
        for key in list(params):
            if rng.random() < 0.15:
                params[key] = junk(rng)
        return params
    return {key: str(value) for key, value in params.items()}


def _quote(value: str, safe: str = "") -> str:
    # A lone surrogate is sent as the bytes UTF-8 would give it, as a hostile client can.
    return quote(value, safe=safe, errors="surrogatepass")


def query_string(rng: random.Random, params: dict[str, Any]) -> str:
    if rng.random() < 0.05:
        return rng.choice(["%", "%zz", "filter=%ff%fe", "&&==", "filter", "a=" + "b" * 9000])
    return "&".join(f"{_quote(str(key))}={_quote(str(value))}" for key, value in params.items())


def encode_segment(rng: random.Random, value: str) -> str:
    roll = rng.random()
    if roll < 0.05:
        return rng.choice(["..%2f..%2fapi", "%2e%2e", "..", ".", "%00", "%zz", "%ff", "a%2Fb"])
    return _quote(value)


def fill_path(rng: random.Random, template: str, world: World) -> str:
    def value(match: re.Match[str]) -> str:
        return encode_segment(rng, param_value(rng, match.group(1), template, world))

    return _PARAM.sub(value, template)


def param_value(rng: random.Random, name: str, template: str, world: World) -> str:
    if rng.random() < 0.15:
        return rng.choice([text(rng), "x" * 5000, str(uuid.UUID(int=rng.getrandbits(128)))])
    if name == "id" and template.startswith("/Groups"):
        return some_id(rng, rng.choice([world.groups, world.groups, world.other_groups]))
    if name == "id" and template.startswith("/Users"):
        return some_id(rng, rng.choice([world.users, world.users, world.other_users]))
    if name == "id":
        return rng.choice(["User", "Group", USER_URN, ENTERPRISE_URN, "Nope"])
    if name == "org":
        # Admin changes to the target organization would switch its SCIM off for good.
        roles = ["play", "b"] if template == "/orgs/{org}" else ["a", "a", "play", "b"]
        role = rng.choice(roles)
        return rng.choice([world.orgs[role], world.names[role], world.names[role].upper()])
    pools = {
        "name": world.roles,
        "group": world.groups,
        "team": world.teams,
        "user": world.users,
        "entry": world.entries,
    }
    return some_id(rng, pools.get(name, []))


SCIM_PREFIXES = ["/scim/v2"] * 7 + ["/scim"] * 2 + ["//scim//v2", "/scim/v2/", "/SCIM/v2"]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "FOO", "get"]
CONTENT_TYPES = [
    "application/json; charset=utf-8",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "",
    "application/scim+json; charset=latin-1",
    "APPLICATION/SCIM+JSON",
    "application/json;;;",
    "*/*",
]
USER_AGENTS = ["Okta SCIM Client 1.0.0", "Azure AD SCIM Client", "Keycloak", "Go-http-client/2.0"]


def scim_headers(rng: random.Random, world: World) -> list[tuple[str, str]]:
    roll = rng.random()
    if roll < 0.85:
        auth = f"Bearer {world.tokens['a']}"
    else:
        auth = rng.choice(
            [
                f"Bearer {world.tokens[rng.choice(['b', 'off', 'nosso', 'revoked'])]}",
                f"Bearer {ADMIN_KEY}",
                "Bearer",
                "Basic dXNlcjpwYXNz",
                f"bearer  {world.tokens['a']}  ",
                f"Bearer {world.tokens['a']} extra",
                "",
                "Bearer " + "x" * 10_000,
                "Bearer \u00e9\u00ff",
            ]
        )
    headers = [("authorization", auth)] if rng.random() > 0.02 else []
    return headers + common_headers(rng)


def admin_headers(rng: random.Random, world: World) -> list[tuple[str, str]]:
    if rng.random() < 0.85:
        auth = f"Bearer {ADMIN_KEY}"
    else:
        auth = rng.choice(
            [f"Bearer {world.tokens['a']}", "Bearer", "", f"Basic {ADMIN_KEY}", "Bearer wrong"]
        )
    return [("authorization", auth), *common_headers(rng)]


def common_headers(rng: random.Random) -> list[tuple[str, str]]:
    headers = [("host", "testserver" if rng.random() < 0.98 else rng.choice(["[::1", "a b", ""]))]
    content_type = SCIM_MEDIA if rng.random() < 0.85 else rng.choice(CONTENT_TYPES)
    if content_type:
        headers.append(("content-type", content_type))
    if rng.random() < 0.1:
        name = rng.choice(["if-match", "if-none-match"])
        headers.append((name, rng.choice(['W/"1"', 'W/"2"', "*", '"x"', "W/", 'W/"99999999999"'])))
    if rng.random() < 0.2:
        headers.append(("user-agent", rng.choice(USER_AGENTS)))
    if rng.random() < 0.02:
        headers.append(("content-length", rng.choice(["-1", "abc", "99999999999", "0"])))
    return headers


# --- routes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """A method and path template of the route table."""

    area: str
    """"scim" or "admin"."""
    method: str
    template: str


def endpoints(app: Starlette) -> list[Endpoint]:
    """Every routed method and path template under the SCIM and admin mounts."""
    found: list[Endpoint] = []
    for mount in app.routes:
        if not isinstance(mount, Mount) or mount.path not in ("/scim/v2", "/api"):
            continue
        area = "scim" if mount.path.startswith("/scim") else "admin"
        for route in mount.routes:
            if isinstance(route, Route):
                for method in sorted(route.methods or ()):
                    found.append(Endpoint(area, method, route.path))
    return found


def generate(rng: random.Random, index: int, routes: list[Endpoint], world: World) -> Probe:
    """Draw request ``index``."""
    endpoint = rng.choice(routes)
    method = endpoint.method if rng.random() < 0.9 else rng.choice(METHODS)
    path = fill_path(rng, endpoint.template, world)
    if endpoint.area == "scim":
        raw_path, headers = rng.choice(SCIM_PREFIXES) + path, scim_headers(rng, world)
    else:
        raw_path, headers = "/api" + path, admin_headers(rng, world)
    route = f"{endpoint.area} {endpoint.method} {endpoint.template}"
    if rng.random() < 0.02:
        raw_path, route = (
            rng.choice(["/", "/scimx", "/api/", "/nope", "/scim/v2/Users/a/b"]),
            "junk",
        )
    params: dict[str, Any] = {}
    if endpoint.template in ("/Users", "/Groups") and endpoint.method == "GET":
        params = list_params(rng, world)
    elif endpoint.area == "admin" and rng.random() < 0.5:
        params = admin_query(rng)
    elif rng.random() < 0.2:
        params = {
            rng.choice(["attributes", "excludedAttributes"]): rng.choice(["", "members", text(rng)])
        }
    body = b""
    if method in ("POST", "PUT", "PATCH") or rng.random() < 0.05:
        document = body_for(rng, endpoint, world)
        if rng.random() < 0.4:
            for _ in range(rng.randint(1, 3)):
                document = mutate(rng, document)
        body = encode(rng, document)
    return Probe(index, method, raw_path, query_string(rng, params), headers, body, route)


def admin_query(rng: random.Random) -> dict[str, Any]:
    keys = ["limit", "offset", "dry_run", "status", "resource", "event", "since", "until", "target"]
    values = [
        "1",
        "-1",
        "10**9",
        "99999999999999999999",
        "true",
        "maybe",
        "4xx",
        "404",
        "2024-01-01",
    ]
    chosen = rng.sample(keys, rng.randint(1, 3))
    return {key: rng.choice([*values, text(rng)]) for key in chosen}


def body_for(rng: random.Random, endpoint: Endpoint, world: World) -> JSON:
    template = endpoint.template
    if endpoint.area == "admin":
        return admin_body(rng, template, world)
    if template.endswith(".search"):
        return search_body(rng, world)
    if template == "/Bulk":
        return bulk_body(rng, world)
    group = template.startswith("/Groups")
    if endpoint.method == "PATCH":
        return patch_body(rng, world, group)
    return group_body(rng, world) if group else user_body(rng, world)


# --- checks -------------------------------------------------------------------------------


# What a problem is, as the first words of its text.
SERVER_ERROR, CRASH = "5xx", "unhandled exception"
NOT_SCIM, OTHER = "not an RFC 7644 Error body", "wrong answer"


def problems(probe: Probe, answer: Answer) -> list[str]:
    """What is wrong with the answer to ``probe``; empty when all is well."""
    found: list[str] = []
    if answer.crashed:
        found.append(f"{CRASH}: the application raised {answer.crashed}")
    if answer.status >= 500 and answer.status != 501:
        found.append(f"{SERVER_ERROR}: {answer.status}")
    if 300 <= answer.status < 400 and answer.status != 304:
        # Paths are normalized before routing, so a redirect would only loop.
        found.append(f"{OTHER}: redirect {answer.status} to {answer.headers.get('location')!r}")
    path = re.sub(r"/{2,}", "/", unquote(probe.raw_path))
    if path.startswith("/scim"):
        found += scim_problems(answer)
    elif path == "/api" or path.startswith("/api/"):
        found += admin_problems(answer)
    return found


def scim_problems(answer: Answer) -> list[str]:
    if answer.status < 400:
        body = answer.json()
        if answer.body and body is None:
            return [f"{OTHER}: a SCIM success body is not JSON"]
        if isinstance(body, dict) and body.get("schemas") == [
            BULK_URN.replace("Request", "Response")
        ]:
            return bulk_problems(body)
        return []
    found = error_problems(answer.status, answer.json())
    if not answer.headers.get("content-type", "").startswith(SCIM_MEDIA):
        found.append(f"{NOT_SCIM}: content-type {answer.headers.get('content-type')!r}")
    return found


def error_problems(status: int, body: JSON) -> list[str]:
    """Check an RFC 7644 §3.12 Error body."""
    if not isinstance(body, dict) or body.get("schemas") != [ERROR_URN]:
        return [f"{NOT_SCIM}: {str(body)[:200]}"]
    if body.get("status") != str(status):
        return [f"{NOT_SCIM}: status {body.get('status')!r} for HTTP {status}"]
    if not isinstance(body.get("detail"), str):
        return [f"{NOT_SCIM}: no detail"]
    return []


def bulk_problems(body: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for result in body.get("Operations") or []:
        status = int(result.get("status", "0"))
        if status >= 500:
            found.append(f"{SERVER_ERROR}: a bulk operation answered {status}: {str(result)[:300]}")
        if status >= 400:
            found += [
                f"{p} (bulk operation)" for p in error_problems(status, result.get("response"))
            ]
    return found


def admin_problems(answer: Answer) -> list[str]:
    if answer.status < 400:
        return [] if answer.json() is not None else [f"{OTHER}: an admin success body is not JSON"]
    body = answer.json()
    if not isinstance(body, dict) or set(body) != {"error", "status"}:
        return [f"{OTHER}: not an admin error body: {str(body)[:200]}"]
    if body["status"] != answer.status:
        return [f"{OTHER}: admin error status {body['status']!r} for HTTP {answer.status}"]
    return []


# --- running ------------------------------------------------------------------------------


class CapturedErrors(logging.Handler):
    """Keeps the last logged traceback, to show with a failure, and the request log's
    write failures, which no answer shows."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last = ""
        self.lost_entries: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        if record.name == "scimgate.audit":
            self.lost_entries.append(text[-3000:])
        else:
            self.last = text


@dataclass
class Report:
    """The outcome of a run."""

    seed: int
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: int = 0
    non_scim_errors: int = 0
    failures: list[str] = field(default_factory=list)
    log_failures: int = 0
    seconds: float = 0.0
    slowest: list[tuple[float, int, str]] = field(default_factory=list)
    """The slowest requests: (seconds, index, route)."""

    def summary(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "requests": self.requests,
            "seconds": round(self.seconds, 1),
            "requests_per_second": round(self.requests / self.seconds, 1) if self.seconds else 0,
            "statuses": dict(sorted(self.statuses.items())),
            "server_errors": self.server_errors,
            "non_scim_errors": self.non_scim_errors,
            "request_log_failures": self.log_failures,
            "failures": len(self.failures),
            "slowest": [f"{t:.2f}s #{i} {route}" for t, i, route in sorted(self.slowest)[::-1]],
        }


def probes(seed: int, count: int, routes: list[Endpoint], world: World) -> Iterator[Probe]:
    for index in range(count):
        # Not for secrets: a seeded, reproducible generator is the point.
        yield generate(random.Random(f"{seed}:{index}"), index, routes, world)  # noqa: S311


async def seed_world(app: Starlette, world: World) -> None:
    """Give the target and the other organization a few users and groups to name."""
    for role, user_pool, group_pool in [
        ("b", world.other_users, world.other_groups),
        ("a", world.users, world.groups),
    ]:
        headers = [("authorization", f"Bearer {world.tokens[role]}"), ("host", "testserver")]
        headers.append(("content-type", SCIM_MEDIA))
        for n in range(12):
            body: dict[str, Any] = {
                "schemas": [USER_URN],
                "userName": f"seed{n}@example.com",
                "title": f"t{n}",
            }
            probe = Probe(-1, "POST", "/scim/v2/Users", "", headers, json.dumps(body).encode(), "")
            user_pool.append(str((await call(app, probe)).json()["id"]))
        for n in range(4):
            body = {
                "schemas": [GROUP_URN],
                "displayName": f"Team {n}",
                "members": [{"value": v} for v in user_pool[n::4]],
            }
            probe = Probe(-1, "POST", "/scim/v2/Groups", "", headers, json.dumps(body).encode(), "")
            group_pool.append(str((await call(app, probe)).json()["id"]))


async def run(app: Starlette, world: World, args: argparse.Namespace) -> Report:
    report = Report(seed=args.seed)
    routes = endpoints(app)
    captured = CapturedErrors()
    logger = logging.getLogger("scimgate")
    logger.addHandler(captured)
    # Kept here, to show with each failure, instead of on the terminal.
    logger.setLevel(logging.ERROR)
    logger.propagate = False
    started = time.perf_counter()
    for probe in probes(args.seed, args.requests, routes, world):
        begun = time.perf_counter()
        answer = await call(app, probe)
        report.slowest = sorted(
            [*report.slowest, (time.perf_counter() - begun, probe.index, probe.route)]
        )[-5:]
        report.requests += 1
        report.statuses[answer.status] += 1
        world.learn(probe, answer)
        world.forget(probe, answer)
        found = problems(probe, answer)
        if args.show == probe.index:
            print(probe.describe(10_000), "\n->", answer.status, answer.body[:10_000])
        if found:
            report.server_errors += any(p.startswith((SERVER_ERROR, CRASH)) for p in found)
            report.non_scim_errors += any(p.startswith(NOT_SCIM) for p in found)
            report.failures.append(failure(report.seed, probe, answer, found, captured))
            captured.last = ""
            if len(report.failures) >= args.max_failures:
                break
        if args.progress and report.requests % args.progress == 0:
            print(f"{report.requests} requests, {len(report.failures)} failures", file=sys.stderr)
    report.seconds = time.perf_counter() - started
    report.log_failures = app.state.request_log.counters.failed
    report.failures += [f"LOST REQUEST LOG ENTRY\n{text}" for text in captured.lost_entries[:5]]
    return report


def failure(
    seed: int, probe: Probe, answer: Answer, found: list[str], captured: CapturedErrors
) -> str:
    lines = [
        f"FAILURE at seed {seed} index {probe.index} ({probe.route}): {'; '.join(found)}",
        f"reproduce: python scripts/fuzz.py --seed {seed} --requests {probe.index + 1} "
        f"--show {probe.index}",
        probe.describe(),
        f"-> {answer.status} {answer.body[:500]!r}",
    ]
    if captured.last:
        lines.append(captured.last[-3000:])
    return "\n".join(lines)


def make_app(database_url: str | None, workdir: Path) -> tuple[Starlette, Database]:
    url = database_url or f"sqlite:///{workdir / 'fuzz.db'}"
    db = Database(url)
    db.upgrade()
    key = base64.b64encode(os.urandom(32)).decode()
    settings = Settings(
        database_url=url,
        log_keys=SecretStr(f"fuzz:{key}"),
        admin_api_key=SecretStr(ADMIN_KEY),
        log_purge_interval_seconds=0,
        # The run deletes and deactivates many users: the mass-deprovisioning breaker
        # would answer its designed 503 to most of them.
        breaker_share=0,
    )
    return create_app(settings, db=db), db


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000, help="how many requests to send")
    parser.add_argument("--seed", type=int, default=1, help="seed of the request generator")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: a fresh SQLite file)")
    parser.add_argument("--show", type=int, help="print request INDEX and its answer in full")
    parser.add_argument("--max-failures", type=int, default=20, help="stop after this many")
    parser.add_argument("--progress", type=int, default=0, help="report every N requests")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)
    with tempfile.TemporaryDirectory() as workdir:
        app, db = make_app(args.database_url, Path(workdir))
        world = build_world(db, uuid.uuid4().hex[:8])
        report = asyncio.run(_session(app, world, args))
        db.dispose()
    for text_ in report.failures:
        print(text_, "\n", file=sys.stderr)
    summary = report.summary()
    print(json.dumps(summary) if args.json else "\n".join(f"{k}: {v}" for k, v in summary.items()))
    return 1 if report.failures or report.log_failures else 0


async def _session(app: Starlette, world: World, args: argparse.Namespace) -> Report:
    await seed_world(app, world)
    return await run(app, world, args)


if __name__ == "__main__":
    sys.exit(main())
