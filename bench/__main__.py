"""python -m bench: load data, start scimgate, run the workloads, write the results.

Example: ``python -m bench --users 10000 --grow 2000 --duration 5 --concurrency 8``.
"""

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from . import load, report, runner, server, workloads

ALL = [*workloads.SIMPLE, "group-grow", "deprovision", "ceiling"]


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line of the benchmark."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp dir")
    parser.add_argument("--users", type=int, default=1000, help="users the loader creates")
    parser.add_argument("--groups", type=int, default=10, help="groups the loader creates")
    parser.add_argument(
        "--group-members", type=int, default=1000, help="members of get-group's group"
    )
    parser.add_argument("--grow", type=int, default=500, help="group-grow's final size")
    parser.add_argument("--concurrency", type=int, default=4, help="tasks sending requests")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per workload")
    parser.add_argument("--workers", type=int, default=1, help="scimgate serve --workers")
    parser.add_argument(
        "--workloads", default=",".join(ALL), help=f"comma-separated, of: {', '.join(ALL)}"
    )
    parser.add_argument("--output", type=Path, default=Path("bench/results/latest.md"))
    args = parser.parse_args(argv)
    args.workloads = [name.strip() for name in args.workloads.split(",") if name.strip()]
    unknown = set(args.workloads) - set(ALL)
    if unknown:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    if args.grow > args.users:
        parser.error("--grow cannot exceed --users: group-grow adds loaded users")
    return args


def _client(base_url: str, token: str, concurrency: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        timeout=60,
    )


async def _scimgate_runs(
    args: argparse.Namespace, srv: server.Server, ctx: workloads.Context
) -> list[runner.Measurement]:
    results = []
    options: dict[str, Any] = {"concurrency": args.concurrency, "server_cpu": srv.cpu_seconds}
    # Warm-up: first requests pay for imports, the cursor key and the IdP detection.
    await runner.run("warm-up", workloads.get_user(ctx), **{**options, "duration": 0.5})
    for name, factory in workloads.SIMPLE.items():
        if name in args.workloads:
            print(f"running {name}", file=sys.stderr, flush=True)
            results.append(await runner.run(name, factory(ctx), duration=args.duration, **options))
    if "group-grow" in args.workloads:
        for mode, group_id in zip(("full", "no-content"), ctx.loaded.group_ids[1:3], strict=True):
            print(f"running group-grow ({mode})", file=sys.stderr, flush=True)
            operation = workloads.group_grow(ctx, group_id, mode)
            results.append(
                await runner.run(
                    f"group-grow ({mode}, to {args.grow})",
                    operation,
                    duration=float("inf"),
                    limit=args.grow,
                    **options,
                )
            )
    if "deprovision" in args.workloads:
        print("running deprovision", file=sys.stderr, flush=True)
        tenth = max(1, len(ctx.loaded.user_ids) // 10)
        results.append(
            await runner.run(
                f"deprovision ({tenth} users)",
                workloads.deprovision(ctx),
                duration=float("inf"),
                limit=tenth,
                **options,
            )
        )
    return results


async def _ceiling(args: argparse.Namespace) -> runner.Measurement:
    with server.Server.ceiling() as bare:
        async with _client(bare.base_url, "none", args.concurrency) as client:

            async def call(n: int) -> None:
                runner.expect(await client.get(f"/Users/{n}"), 200)

            return await runner.run(
                "ceiling: bare ASGI get-user",
                call,
                concurrency=args.concurrency,
                duration=args.duration,
                server_cpu=bare.cpu_seconds,
            )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write the results file; 0 when no operation failed."""
    args = parse(argv)
    tag = secrets.token_hex(4)
    with tempfile.TemporaryDirectory(prefix="scimgate-bench-") as scratch:
        url = args.database_url or f"sqlite:///{scratch}/bench.db"
        env = server.environment(url)
        tenant = server.create_tenant(env, f"bench-{tag}")
        began = time.perf_counter()
        loaded = load.load(
            url, tenant.org_id, users=args.users, groups=max(args.groups, 3),
            group_members=min(args.group_members, args.users), tag=tag,
        )  # fmt: skip
        load_seconds = time.perf_counter() - began
        print(f"loaded {args.users} users in {load_seconds:.1f} s", file=sys.stderr)
        with server.Server.scimgate(env, args.workers) as srv:
            ctx_client = _client(srv.base_url + "/scim/v2", tenant.token, args.concurrency)
            ctx = workloads.Context(client=ctx_client, loaded=loaded, tag=tag)
            results = asyncio.run(_with_client(_scimgate_runs(args, srv, ctx), ctx_client))
            rss = srv.rss_bytes()
    if "ceiling" in args.workloads:
        results.append(asyncio.run(_ceiling(args)))
    setup = {
        "database": url.split("://", 1)[0] + (" (temp file)" if not args.database_url else ""),
        "users loaded": f"{args.users:,} in {load_seconds:.1f} s "
        f"({args.users / load_seconds:,.0f}/s, with persons and emails)",
        "groups loaded": f"{max(args.groups, 3)}; get-group's group has "
        f"{min(args.group_members, args.users):,} members",
        "concurrency": args.concurrency,
        "seconds per timed workload": args.duration,
        "server": f"scimgate serve --workers {args.workers}, request log on",
        "server resident memory after the run": f"{rss / 2**20:.0f} MiB",
    }
    notes = _ratios(results)
    text = report.document(setup, results, ctx.grown, notes)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    return 1 if any(result.errors for result in results) else 0


async def _with_client(work: Any, client: httpx.AsyncClient) -> list[runner.Measurement]:
    async with client:
        result: list[runner.Measurement] = await work
        return result


def _ratios(results: list[runner.Measurement]) -> list[str]:
    by_name = {result.name: result for result in results}
    get_user, bare = by_name.get("get-user"), by_name.get("ceiling: bare ASGI get-user")
    if get_user is None or bare is None or not bare.rate:
        return []
    return [
        f"get-user reaches {get_user.rate / bare.rate:.0%} of the bare ASGI ceiling's "
        "requests/s (target: at least 40%)"
    ]


if __name__ == "__main__":
    sys.exit(main())
