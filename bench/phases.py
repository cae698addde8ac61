"""The phases of a benchmark run, each against servers it starts and always stops.

- ``workloads``: the selected workloads against one server (scimgate or scim2-server);
- ``ceiling``: the bare ASGI app;
- ``workers``: get-user against scimgate started with each ``--workers`` count;
- ``growth``: users added up to each ``--sizes`` entry, a few workloads at each size.
"""

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from . import load, runner, workloads
from .runner import Measurement
from .server import Memory, Server

T = TypeVar("T")
STAGGER = 0.1
"""Seconds between the opening of two of the client's connections."""
GROWTH_WORKLOADS = ("get-user", "filter-user (c=1)", "list-page (c=1)", "list-cursor (c=1)")
"""What the growth phase measures at each size, in its table's order."""


@dataclass
class Target:
    """One server under test, as the workloads reach it."""

    name: str
    path: str
    """The SCIM root on the server, e.g. ``/scim/v2``."""
    token: str
    loaded: load.Loaded
    tag: str
    created: int = 0
    """Users created by earlier phases against the same data."""


@dataclass
class Run:
    """The results of the workloads against one target."""

    target: str
    results: list[Measurement] = field(default_factory=list)
    grown: dict[str, dict[int, list[float]]] = field(default_factory=dict)
    memory: Memory | None = None
    created: int = 0
    load_seconds: float | None = None
    """How long the server took to load its data, when it reports it."""


@dataclass
class Size:
    """One step of the growth phase."""

    users: int
    load_seconds: float
    results: dict[str, Measurement]
    memory: Memory


def client(base_url: str, token: str, concurrency: int, tally: runner.Tally) -> httpx.AsyncClient:
    """The benchmark's HTTP client: one connection per task, statuses counted."""
    return httpx.AsyncClient(
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        timeout=120,
        event_hooks={"response": [tally]},
    )


def say(message: str) -> None:
    """Progress on stderr; the results go to the output file and stdout."""
    print(message, file=sys.stderr, flush=True)


def grow_modes(args: argparse.Namespace) -> list[workloads.GrowMode]:
    """Every combination of ``--grow-batches`` and ``--grow-answers``, each on its group."""
    return [workloads.GrowMode(b, a) for b in args.grow_batches for a in args.grow_answers]


class Session:
    """A client and a context against one running server, and how to time a workload."""

    def __init__(self, target: Target, srv: Server, concurrency: int) -> None:
        self.tally = runner.Tally()
        base_url = srv.base_url + target.path
        self.client = client(base_url, target.token, max(concurrency, 1), self.tally)
        self.ctx = workloads.Context(
            client=self.client, loaded=target.loaded, tag=target.tag, created=target.created
        )
        self.srv = srv
        self.concurrency = concurrency

    async def time(
        self,
        name: str,
        operation: runner.Operation,
        *,
        duration: float,
        concurrency: int | None = None,
        limit: int | None = None,
        key: str = "",
    ) -> Measurement:
        """Run one workload and return its measurement."""
        say(f"running {name}")
        result = await runner.run(
            name, operation, concurrency=concurrency or self.concurrency, duration=duration,
            limit=limit, server_cpu=self.srv.cpu_seconds, tally=self.tally,
        )  # fmt: skip
        result.key = key
        return result

    async def warm_up(self, duration: float) -> None:
        """First requests pay for imports, the cursor key and the IdP detection.

        The client's connections open one by one, a tenth of a second apart: opened in
        a burst, they are all accepted by whichever uvicorn worker wakes first, and
        with ``--workers 2`` the other worker would serve nothing.
        """
        operation = workloads.get_user(self.ctx)

        async def staggered(index: int) -> None:
            await asyncio.sleep(index * STAGGER)
            await runner.run(
                "warm-up",
                operation,
                concurrency=1,
                duration=max(min(0.5, duration), (self.concurrency - index) * STAGGER),
            )

        await asyncio.gather(*(staggered(index) for index in range(self.concurrency)))

    async def latency_rows(
        self, args: argparse.Namespace, names: list[str] | tuple[str, ...]
    ) -> list[Measurement]:
        """Those of filter-user, list-page and a deep list-cursor walk in ``names``, at c=1."""
        rows = []
        if "filter-user" in names:
            operation = workloads.filter_user(self.ctx)
            rows.append(await self.time("filter-user (c=1)", operation, duration=args.duration,
                                        concurrency=1))  # fmt: skip
        if "list-page" in names:
            operation = workloads.list_page(self.ctx)
            rows.append(await self.time("list-page (c=1)", operation, duration=args.duration,
                                        concurrency=1))  # fmt: skip
        if "list-cursor" in names:
            name = f"list-cursor (c=1, from {args.cursor_depth:.0%})"
            say(f"seeking a cursor {args.cursor_depth:.0%} deep")
            began = time.perf_counter()
            try:
                start = await workloads.seek(self.ctx, args.cursor_depth)
            except (runner.OperationError, httpx.HTTPError) as exc:
                failed = Measurement(name, errors=1, key="list-cursor (c=1)")
                failed.first_error = f"seeking the start: {type(exc).__name__}: {exc}"
                rows.append(failed)
                return rows
            say(f"found it in {time.perf_counter() - began:.1f} s")
            rows.append(
                await self.time(
                    name, workloads.list_cursor(self.ctx, start), duration=args.duration,
                    concurrency=1, key="list-cursor (c=1)",
                )
            )  # fmt: skip
        return rows

    async def group_grow(self, args: argparse.Namespace) -> list[Measurement]:
        """group-grow in every mode, each into its own empty group, members re-counted."""
        rows = []
        duration = args.grow_seconds or float("inf")
        for index, mode in enumerate(grow_modes(args)):
            group_id = self.ctx.loaded.group_ids[1 + index]
            growth = workloads.Growth(self.ctx, group_id, mode, args.grow)
            result = await self.time(
                f"group-grow ({mode.label})", growth, duration=duration,
                limit=growth.patches, key=f"group-grow ({mode.label})",
            )  # fmt: skip
            result.name = f"group-grow ({mode.label}, to {growth.added:,})"
            try:
                lost = await growth.lost()
            except (runner.OperationError, httpx.HTTPError) as exc:
                lost = f"re-reading the group failed: {exc}"
            if lost:
                result.errors += 1
                result.first_error = result.first_error or f"lost members: {lost}"
            rows.append(result)
        return rows

    async def close(self) -> None:
        """Close the client's connections."""
        await self.client.aclose()


async def _workloads(args: argparse.Namespace, target: Target, srv: Server, latency: bool) -> Run:
    session = Session(target, srv, args.concurrency)
    run = Run(target.name)
    try:
        await session.warm_up(args.duration)
        for name, factory in workloads.SIMPLE.items():
            if name in args.workloads:
                run.results.append(
                    await session.time(name, factory(session.ctx), duration=args.duration)
                )
        if latency:
            run.results += await session.latency_rows(args, args.workloads)
        if "group-grow" in args.workloads:
            run.results += await session.group_grow(args)
        if "deprovision" in args.workloads:
            tenth = max(1, len(target.loaded.user_ids) // 10)
            run.results.append(
                await session.time(
                    f"deprovision ({tenth:,} users)", workloads.deprovision(session.ctx),
                    duration=float("inf"), limit=tenth, key="deprovision",
                )
            )  # fmt: skip
    finally:
        await session.close()
    run.grown, run.created = session.ctx.grown, session.ctx.created
    return run


def workloads_against(
    args: argparse.Namespace, target: Target, srv: Server, *, latency: bool
) -> Run:
    """The selected workloads against a running server, then its memory per worker."""
    run = asyncio.run(_workloads(args, target, srv, latency))
    run.memory = srv.memory()
    return run


def reference(args: argparse.Namespace, scratch: Path, token: str, tag: str) -> Run:
    """Start scim2-server preloaded like scimgate, run the same workloads, stop it."""
    ids_file = scratch / "reference-ids.json"
    arguments = [
        "--users", str(args.users), "--groups", str(args.loaded_groups),
        "--group-members", str(min(args.group_members, args.users)), "--tag", tag,
        "--token", token, "--ids", str(ids_file),
    ]  # fmt: skip
    say(f"starting scim2-server with {args.users:,} users preloaded")
    with Server.reference(arguments, args.users) as srv:
        ids: dict[str, Any] = json.loads(ids_file.read_text())
        loaded = load.Loaded(
            user_ids=ids["user_ids"],
            group_ids=ids["group_ids"],
            big_group_id=ids["big_group_id"],
            small_group_id=ids["small_group_id"],
            big_group_size=ids["big_group_size"],
        )
        target = Target("scim2-server", "/v2", token, loaded, tag)
        run = workloads_against(args, target, srv, latency=False)
    run.load_seconds = ids["load_seconds"]
    return run


def ceiling(args: argparse.Namespace) -> Measurement:
    """get-user's shape against the bare ASGI app of bench.ceiling."""
    with Server.ceiling() as bare:
        tally = runner.Tally()

        async def measure() -> Measurement:
            async with client(bare.base_url, "none", args.concurrency, tally) as http:

                async def call(n: int) -> None:
                    runner.expect(await http.get(f"/Users/{n}"), 200)

                say("running the ceiling")
                return await runner.run(
                    "ceiling: bare ASGI get-user", call, concurrency=args.concurrency,
                    duration=args.duration, server_cpu=bare.cpu_seconds, tally=tally,
                )  # fmt: skip

        return asyncio.run(measure())


async def _one(
    target: Target, srv: Server, args: argparse.Namespace, work: Callable[[Session], Awaitable[T]]
) -> T:
    """A session against ``srv``, warmed up, doing ``work``; closed whatever happens."""
    session = Session(target, srv, args.concurrency)
    try:
        await session.warm_up(args.duration)
        return await work(session)
    finally:
        await session.close()


@dataclass
class WorkerRun:
    """get-user against scimgate with one ``--workers`` count."""

    count: int
    result: Measurement
    memory: Memory
    cpu: list[float]
    """CPU seconds each worker spent during the timed run: how the load was spread."""


def workers(args: argparse.Namespace, env: dict[str, str], target: Target) -> list[WorkerRun]:
    """get-user against scimgate started with each ``--workers`` count, same data."""
    rows = []
    for count in args.workers:

        async def get_user(session: Session, count: int = count) -> tuple[Measurement, list[float]]:
            before = session.srv.worker_cpu()
            result = await session.time(
                f"get-user (workers={count})", workloads.get_user(session.ctx),
                duration=args.duration,
            )  # fmt: skip
            now = session.srv.worker_cpu()
            spent = [after - first for after, first in zip(now, before, strict=False)]
            return result, spent

        with Server.scimgate(env, count) as srv:
            result, cpu = asyncio.run(_one(target, srv, args, get_user))
            rows.append(WorkerRun(count, result, srv.memory(), cpu))
    return rows


def growth(
    args: argparse.Namespace, env: dict[str, str], url: str, org_id: str, target: Target
) -> list[Size]:
    """Add users up to each size, then get-user and the latency rows at that size."""
    steps = []
    for size in args.sizes:
        say(f"growing to {size:,} users")
        began = time.perf_counter()
        load.grow(url, org_id, target.loaded, size, target.tag)
        seconds = time.perf_counter() - began

        async def measure(session: Session) -> dict[str, Measurement]:
            found = {
                "get-user": await session.time(
                    "get-user", workloads.get_user(session.ctx), duration=args.duration
                )
            }
            for row in await session.latency_rows(args, workloads.LATENCY):
                found[row.workload] = row
            return found

        with Server.scimgate(env, args.workers[0]) as srv:
            results = asyncio.run(_one(target, srv, args, measure))
            steps.append(Size(size, seconds, results, srv.memory()))
    return steps
