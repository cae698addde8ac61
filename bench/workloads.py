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
from .runner import Operation, expect

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PAGE = 100
BUCKETS = (100, 1_000, 10_000, 100_000, 1_000_000)
"""Upper bounds of the group sizes ``group-grow`` reports latencies for."""


@dataclass
class Context:
    """What the workloads of one run share."""

    client: httpx.AsyncClient
    loaded: Loaded
    tag: str
    rng: random.Random = field(default_factory=lambda: random.Random(7))  # noqa: S311
    cursor: str = ""
    grown: dict[str, dict[int, list[float]]] = field(default_factory=dict)
    """group-grow latencies per mode, then per size bucket."""

    def user_name(self, index: int) -> str:
        """The userName the loader gave its ``index``-th user."""
        return f"{self.tag}.user{index}@example.com"


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
        if found["totalResults"] != 1:
            raise AssertionError(f"{name}: totalResults {found['totalResults']}")

    return call


def _eq(user_name: str) -> dict[str, str]:
    return {"filter": f'userName eq "{user_name}"'}


def list_page(ctx: Context) -> Operation:
    """GET /Users?startIndex=<random, up to the last page>&count=100."""

    async def call(n: int) -> None:
        start = ctx.rng.randint(1, max(1, len(ctx.loaded.user_ids) - PAGE + 1))
        params = {"startIndex": start, "count": PAGE}
        expect(await ctx.client.get("/Users", params=params), 200)

    return call


def list_cursor(ctx: Context) -> Operation:
    """GET /Users?cursor=<next>&count=100, walking all users and starting over at the end."""

    async def call(n: int) -> None:
        params: dict[str, str | int] = {"cursor": ctx.cursor, "count": PAGE}
        body = expect(await ctx.client.get("/Users", params=params), 200).json()
        ctx.cursor = body.get("nextCursor", "")

    return call


def patch_user(ctx: Context) -> Operation:
    """PATCH /Users/{id}: replace the displayName of a random loaded user."""

    async def call(n: int) -> None:
        operation = {"op": "replace", "path": "displayName", "value": f"Renamed {n}"}
        user_id = ctx.rng.choice(ctx.loaded.user_ids)
        expect(await ctx.client.patch(f"/Users/{user_id}", json=patch_body(operation)), 200)

    return call


def idp_sync(ctx: Context) -> Operation:
    """One user's first sync, as Okta and Entra do it: look up, create, then patch."""

    async def call(n: int) -> None:
        name = f"{ctx.tag}.synced{n}@example.com"
        found = expect(await ctx.client.get("/Users", params=_eq(name)), 200).json()
        if found["totalResults"] != 0:
            raise AssertionError(f"{name} exists before its sync")
        created = expect(await ctx.client.post("/Users", json=user_body(name)), 201).json()
        operation = {"op": "replace", "path": "displayName", "value": f"Synced {n}"}
        path = f"/Users/{created['id']}"
        expect(await ctx.client.patch(path, json=patch_body(operation)), 200)

    return call


def get_group(ctx: Context) -> Operation:
    """GET /Groups/{id}?excludedAttributes=members on the loader's large group."""

    async def call(n: int) -> None:
        path = f"/Groups/{ctx.loaded.big_group_id}"
        expect(await ctx.client.get(path, params={"excludedAttributes": "members"}), 200)

    return call


def deprovision(ctx: Context) -> Operation:
    """PATCH active=false on the loaded users, from the last one backwards."""

    async def call(n: int) -> None:
        user_id = ctx.loaded.user_ids[-1 - n]
        operation = {"op": "replace", "path": "active", "value": False}
        expect(await ctx.client.patch(f"/Users/{user_id}", json=patch_body(operation)), 200)

    return call


def group_grow(ctx: Context, group_id: str, mode: str) -> Operation:
    """PATCH one more loaded user into the group per call; latency kept per size bucket.

    ``mode`` "full" answers 200 with the whole group, as Entra's PATCH gets it;
    "no-content" asks for no attributes (``?attributes=``), which answers 204.
    """
    buckets = ctx.grown.setdefault(mode, {})
    query = "?attributes=" if mode == "no-content" else ""
    status = 204 if mode == "no-content" else 200

    async def call(n: int) -> None:
        operation = {"op": "add", "path": "members", "value": [{"value": ctx.loaded.user_ids[n]}]}
        started = time.perf_counter()
        response = await ctx.client.patch(f"/Groups/{group_id}{query}", json=patch_body(operation))
        elapsed = time.perf_counter() - started
        expect(response, status)
        bucket = BUCKETS[bisect.bisect_left(BUCKETS, n + 1)]
        buckets.setdefault(bucket, []).append(elapsed)

    return call


SIMPLE: dict[str, Callable[[Context], Operation]] = {
    "create-users": create_users,
    "get-user": get_user,
    "filter-user": filter_user,
    "list-page": list_page,
    "list-cursor": list_cursor,
    "patch-user": patch_user,
    "idp-sync": idp_sync,
    "get-group": get_group,
}
"""The workloads that run for the configured duration."""
