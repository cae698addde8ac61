"""The workloads: what an IdP sends, as operations for the runner.

Each factory takes the run's ``Context`` and returns one operation. Users created by
the loader are named ``<tag>.user<i>@example.com``, so lookups can name them.
"""

import bisect
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from .load import Loaded
from .runner import Operation, OperationError, expect

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PAGE = 100
SEEK_PAGE = 1000
PATCHED = (200, 204)
"""RFC 7644 §3.5.2: a PATCH answers 200 with the resource, or 204 without it."""
BUCKETS = (100, 1_000, 10_000, 100_000, 1_000_000)
"""Upper bounds of the group sizes ``group-grow`` reports latencies for."""


@dataclass
class Context:
    """What the workloads of one run against one server share."""

    client: httpx.AsyncClient
    loaded: Loaded
    tag: str
    rng: random.Random = field(default_factory=lambda: random.Random(7))  # noqa: S311
    grown: dict[str, dict[int, list[float]]] = field(default_factory=dict)
    """group-grow latencies per mode, then per size bucket."""
    created: int = 0
    """Users the workloads created (create-users, idp-sync), for the exact totals."""

    def user_name(self, index: int) -> str:
        """The userName the loader gave its ``index``-th user."""
        return f"{self.tag}.user{index}@example.com"

    def users(self) -> int:
        """How many users the server holds now: loaded plus created."""
        return len(self.loaded.user_ids) + self.created


@dataclass(frozen=True)
class GrowMode:
    """How group-grow sends its PATCHes: members per PATCH, and the answer asked for.

    ``answer`` "default" sends no ``attributes`` (as Entra does) and takes the server's
    default answer, 200 with the group or 204; "no-content" asks for no attributes
    (``?attributes=``), which scimgate answers with 204.
    """

    batch: int
    answer: str

    @property
    def label(self) -> str:
        """E.g. ``10/PATCH, default``."""
        return f"{self.batch}/PATCH, {self.answer}"

    @property
    def query(self) -> str:
        """The query string of the PATCH."""
        return "?attributes=" if self.answer == "no-content" else ""


ANSWERS = ("default", "no-content")
LATENCY = ("filter-user", "list-page", "list-cursor")
"""The workloads whose latency targets are set at concurrency 1."""


def user_body(user_name: str) -> dict[str, Any]:
    """A User as Okta or Entra create it: name, one work email, active."""
    return {
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "New", "familyName": "User"},
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "active": True,
    }


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    """A PatchOp message."""
    return {"schemas": [PATCH], "Operations": list(operations)}


def create_users(ctx: Context) -> Operation:
    """POST /Users with a new userName each call."""

    async def call(n: int) -> None:
        body = user_body(f"{ctx.tag}.created{n}@example.com")
        expect(await ctx.client.post("/Users", json=body), 201)
        ctx.created += 1

    return call


def get_user(ctx: Context) -> Operation:
    """GET /Users/{id} of a random loaded user."""

    async def call(n: int) -> None:
        expect(await ctx.client.get(f"/Users/{ctx.rng.choice(ctx.loaded.user_ids)}"), 200)

    return call


def filter_user(ctx: Context) -> Operation:
    """GET /Users?filter=userName eq "..." for a random loaded user; exactly one found."""

    async def call(n: int) -> None:
        name = ctx.user_name(ctx.rng.randrange(len(ctx.loaded.user_ids)))
        found = expect(await ctx.client.get("/Users", params=_eq(name)), 200).json()
        if found.get("totalResults") != 1:
            raise OperationError(f"{name}: totalResults {found.get('totalResults')}")

    return call


def _eq(user_name: str) -> dict[str, str]:
    return {"filter": f'userName eq "{user_name}"'}


def _check_total(ctx: Context, body: dict[str, Any]) -> None:
    """A list page's totalResults must be exact: every user, none filtered."""
    if body.get("totalResults") != ctx.users():
        raise OperationError(f"totalResults {body.get('totalResults')}, expected {ctx.users()}")


def list_page(ctx: Context) -> Operation:
    """GET /Users?startIndex=<random, up to the last page>&count=100; exact totalResults."""

    async def call(n: int) -> None:
        start = ctx.rng.randint(1, max(1, ctx.users() - PAGE + 1))
        params = {"startIndex": start, "count": PAGE}
        _check_total(ctx, expect(await ctx.client.get("/Users", params=params), 200).json())

    return call


def list_cursor(ctx: Context, start: str = "") -> Operation:
    """GET /Users?cursor=<next>&count=100 from ``start`` on; exact totalResults.

    At the end of the users the walk starts over at ``start``: a walk started deep
    stays deep.
    """
    state = {"cursor": start}

    async def call(n: int) -> None:
        params: dict[str, str | int] = {"cursor": state["cursor"], "count": PAGE}
        body = expect(await ctx.client.get("/Users", params=params), 200).json()
        state["cursor"] = body.get("nextCursor", start)
        _check_total(ctx, body)

    return call


async def seek(ctx: Context, fraction: float) -> str:
    """The cursor of the page ``fraction`` of the way into the users.

    Walked with pages of 1,000 users to get there quickly (scimgate's cursors name a
    position in a query, not a page size, so the walk then goes on 100 at a time).
    Whole users: asking for ``attributes=id`` made these pages three times slower.
    """
    cursor, seen, target = "", 0, int(fraction * ctx.users())
    while seen + SEEK_PAGE <= target:
        params: dict[str, str | int] = {"cursor": cursor, "count": SEEK_PAGE}
        body = expect(await ctx.client.get("/Users", params=params), 200).json()
        if "nextCursor" not in body:
            break
        cursor, seen = body["nextCursor"], seen + SEEK_PAGE
    return cursor


def patch_user(ctx: Context) -> Operation:
    """PATCH /Users/{id}: replace the displayName of a random loaded user."""

    async def call(n: int) -> None:
        operation = {"op": "replace", "path": "displayName", "value": f"Renamed {n}"}
        user_id = ctx.rng.choice(ctx.loaded.user_ids)
        expect(await ctx.client.patch(f"/Users/{user_id}", json=patch_body(operation)), *PATCHED)

    return call


def idp_sync(ctx: Context) -> Operation:
    """One user's first sync, as Okta and Entra do it: look up, create, then patch."""

    async def call(n: int) -> None:
        name = f"{ctx.tag}.synced{n}@example.com"
        found = expect(await ctx.client.get("/Users", params=_eq(name)), 200).json()
        if found.get("totalResults") != 0:
            raise OperationError(
                f"{name}: totalResults {found.get('totalResults')} before its sync"
            )
        created = expect(await ctx.client.post("/Users", json=user_body(name)), 201).json()
        ctx.created += 1
        operation = {"op": "replace", "path": "displayName", "value": f"Synced {n}"}
        path = f"/Users/{created['id']}"
        expect(await ctx.client.patch(path, json=patch_body(operation)), *PATCHED)

    return call


def get_group(ctx: Context) -> Operation:
    """GET /Groups/{id}?excludedAttributes=members on the loader's large group."""

    async def call(n: int) -> None:
        path = f"/Groups/{ctx.loaded.big_group_id}"
        expect(await ctx.client.get(path, params={"excludedAttributes": "members"}), 200)

    return call


def add_member(ctx: Context, large: bool) -> Operation:
    """One-member PATCH (add) into the large group or the 100-member one.

    Entra's one-PATCH-per-membership push. Each call adds a loaded user that is in
    neither group yet: from the end of the list for the large group, from just past
    the large group's members for the small one, so the two never meet.
    """

    async def call(n: int) -> None:
        loaded = ctx.loaded
        # Past the end (tiny runs only) it wraps around and re-adds members: still
        # a valid PATCH (adding a present member succeeds), no longer a new member.
        spare = max(1, len(loaded.user_ids) - loaded.big_group_size)
        if large:
            group_id, user_id = loaded.big_group_id, loaded.user_ids[-1 - n % spare]
        else:
            index = loaded.big_group_size + n % spare
            group_id, user_id = loaded.small_group_id, loaded.user_ids[index]
        operation = {"op": "add", "path": "members", "value": [{"value": user_id}]}
        expect(await ctx.client.patch(f"/Groups/{group_id}", json=patch_body(operation)), *PATCHED)

    return call


def deprovision(ctx: Context) -> Operation:
    """PATCH active=false on the loaded users, from the last one backwards."""

    async def call(n: int) -> None:
        user_id = ctx.loaded.user_ids[-1 - n]
        operation = {"op": "replace", "path": "active", "value": False}
        expect(await ctx.client.patch(f"/Users/{user_id}", json=patch_body(operation)), *PATCHED)

    return call


class Growth:
    """group-grow into one empty group: ``mode.batch`` loaded users per PATCH, up to ``size``.

    Each PATCH's latency is kept under the bucket of the group's size after it. Both
    200 and 204 are success (``PATCHED``); the run's statuses tell which one came.
    """

    def __init__(self, ctx: Context, group_id: str, mode: GrowMode, size: int) -> None:
        self.ctx, self.group_id, self.mode, self.size = ctx, group_id, mode, size
        self.added = 0
        self.buckets = ctx.grown.setdefault(mode.label, {})

    @property
    def patches(self) -> int:
        """PATCHes needed to reach ``size``."""
        return -(-self.size // self.mode.batch)

    async def __call__(self, n: int) -> None:
        first, stop = n * self.mode.batch, min((n + 1) * self.mode.batch, self.size)
        members = [{"value": user_id} for user_id in self.ctx.loaded.user_ids[first:stop]]
        body = patch_body({"op": "add", "path": "members", "value": members})
        started = time.perf_counter()
        response = await self.ctx.client.patch(
            f"/Groups/{self.group_id}{self.mode.query}", json=body
        )
        elapsed = time.perf_counter() - started
        expect(response, *PATCHED)
        self.added += len(members)
        index = bisect.bisect_left(BUCKETS, stop)
        bucket = BUCKETS[index] if index < len(BUCKETS) else stop
        self.buckets.setdefault(bucket, []).append(elapsed)

    async def lost(self) -> str | None:
        """Read the group back; describe the members missing from it, if any."""
        path = f"/Groups/{self.group_id}"
        body = expect(await self.ctx.client.get(path, params={"attributes": "members"}), 200)
        found = len(body.json().get("members") or [])
        return None if found == self.added else f"group holds {found} members, {self.added} added"


SIMPLE: dict[str, Callable[[Context], Operation]] = {
    "create-users": create_users,
    "get-user": get_user,
    "filter-user": filter_user,
    "list-page": list_page,
    "list-cursor": list_cursor,
    "patch-user": patch_user,
    "idp-sync": idp_sync,
    "get-group": get_group,
    "add-member (100-member group)": lambda ctx: add_member(ctx, large=False),
    "add-member (large group)": lambda ctx: add_member(ctx, large=True),
}
"""The workloads that run for the configured duration."""
