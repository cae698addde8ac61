"""python -m bench: load data, start scimgate, run the workloads, write the results.

Example: ``python -m bench --users 10000 --grow 2000 --duration 5 --concurrency 8``.

Phases, in order (each starts its servers and stops them, errors included):

1. scimgate: the ``--workloads`` at ``--concurrency`` for ``--duration`` seconds each;
   with ``--latency`` (the default) also ``filter-user``, ``list-page`` and a
   ``list-cursor`` walk started ``--cursor-depth`` of the way into the users, at
   concurrency 1 (rows ``... (c=1)``). List and cursor pages check that
   ``totalResults`` is the exact user count.
2. ``--compare scim2-server`` (the default): the same workloads against scim2-server,
   preloaded in memory with the same users and groups by ``bench.reference``, then a
   "scimgate vs scim2-server" table of ops/s and their ratio. Its errors are reported,
   not hidden; ``--compare none`` skips it.
3. ``ceiling``: get-user's shape against a bare ASGI app.
4. ``--workers 1,2``: get-user against scimgate started with each count, same data,
   with the ratio to the first count and the resident memory of each worker. The
   first count also serves phases 1 and 5.
5. ``--sizes 10000,100000,1000000``: users added up to each size (same loader), then
   get-user and the concurrency-1 rows at that size, and the memory per worker: the
   "growth" table. ``--workloads=`` (empty) with ``--compare none`` runs this alone.

group-grow grows one empty group per mode to ``--grow`` members (at most ``--users``:
it adds loaded users): every ``--grow-batches`` size (members per PATCH, e.g. ``1,10``)
with every ``--grow-answers`` form (``default``: no ``attributes`` parameter, the
answer Entra gets; ``no-content``: ``?attributes=``). 200 and 204 both count as
success; the answers column shows which came. ``--grow-seconds`` caps each mode. The
group is re-read at the end and missing members count as an error.

Costs at scale (2 CPUs): the loader writes about 25,000 users a second on SQLite and
20,000 on PostgreSQL; scim2-server preloads about 8,000 a second in roughly 6 KB of
memory each; reaching the deep cursor walks 1,000-user pages, about 4 minutes at a
million users on SQLite (``--cursor-depth 0`` starts at the first page instead).
"""

import argparse
import importlib.metadata
import importlib.util
import secrets
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import load, phases, report, server, workloads
from .phases import Run, Target
from .runner import Measurement
from .server import Server

ALL = [*workloads.SIMPLE, "group-grow", "deprovision", "ceiling"]
COMPARE = ("scim2-server", "none")


def _numbers(text: str) -> list[int]:
    try:
        numbers = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not comma-separated integers: {text}") from None
    if not numbers or any(number < 1 for number in numbers):
        raise argparse.ArgumentTypeError(f"expected positive integers: {text}")
    return numbers


def _answers(text: str) -> list[str]:
    answers = [part.strip() for part in text.split(",") if part.strip()]
    unknown = set(answers) - set(workloads.ANSWERS)
    if not answers or unknown:
        raise argparse.ArgumentTypeError(f"expected some of: {', '.join(workloads.ANSWERS)}")
    return answers


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line of the benchmark."""
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    add = parser.add_argument
    add("--database-url", help="default: a fresh SQLite file in a temp dir")
    add("--users", type=int, default=1000, help="users the loader creates")
    add("--groups", type=int, default=10, help="groups the loader creates (at least 1 + modes)")
    add("--group-members", type=int, default=1000, help="members of get-group's group")
    add("--grow", type=int, default=500, help="group-grow's final size (at most --users)")
    add("--grow-batches", type=_numbers, default=[1, 10], help="members per PATCH, e.g. 1,10")
    add("--grow-answers", type=_answers, default=list(workloads.ANSWERS),
        help="group-grow PATCH forms: default,no-content")  # fmt: skip
    add("--grow-seconds", type=float, help="stop each group-grow mode after this long")
    add("--concurrency", type=int, default=4, help="tasks sending requests")
    add("--duration", type=float, default=3.0, help="seconds per timed workload")
    add("--latency", action=argparse.BooleanOptionalAction, default=True,
        help="also run filter-user, list-page, list-cursor at concurrency 1")  # fmt: skip
    add("--cursor-depth", type=float, default=0.5,
        help="where the c=1 cursor walk starts, as a fraction of the users")  # fmt: skip
    add("--compare", choices=COMPARE, default="scim2-server", help="the reference server")
    add("--workers", type=_numbers, default=[1], help="scimgate serve --workers; 1,2 compares")
    add("--sizes", type=_numbers, default=[], help="growth phase, e.g. 10000,100000,1000000")
    add("--workloads", default=",".join(ALL), help=f"comma-separated, of: {', '.join(ALL)}")
    add("--output", type=Path, default=Path("bench/results/latest.md"))
    args = parser.parse_args(argv)
    args.workloads = [name.strip() for name in args.workloads.split(",") if name.strip()]
    unknown = set(args.workloads) - set(ALL)
    if unknown:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    if args.grow > args.users:
        parser.error("--grow cannot exceed --users: group-grow adds loaded users")
    if not 0 <= args.cursor_depth < 1:
        parser.error("--cursor-depth is a fraction: at least 0, below 1")
    if args.sizes != sorted(set(args.sizes)) or (args.sizes and args.sizes[0] < args.users):
        parser.error("--sizes must grow, from at least --users")
    if args.compare == "scim2-server" and importlib.util.find_spec("scim2_server") is None:
        parser.error("scim2-server is not installed: pip install -e '.[bench]', or --compare none")
    modes = len(args.grow_batches) * len(args.grow_answers)
    # Group 0 is get-group's; each group-grow mode grows its own empty group.
    args.loaded_groups = max(args.groups, 1 + modes)
    return args


def _setup(args: argparse.Namespace, load_seconds: float, ours: Run) -> dict[str, Any]:
    setup: dict[str, Any] = {
        "database": args.database_url.split("://", 1)[0] if args.database_url else
        "sqlite (temp file)",
        "users loaded": f"{args.users:,} in {load_seconds:.1f} s "
        f"({args.users / max(load_seconds, 1e-9):,.0f}/s, with persons and emails)",
        "groups loaded": f"{args.loaded_groups:,}; get-group's group has "
        f"{min(args.group_members, args.users):,} members",
        "concurrency": args.concurrency,
        "seconds per timed workload": args.duration,
        "server": f"scimgate serve --workers {args.workers[0]}, request log on",
    }  # fmt: skip
    if ours.memory is not None:
        setup["scimgate resident memory after the run"] = ours.memory.describe()
    return setup


def _reference_setup(theirs: Run) -> dict[str, Any]:
    version = importlib.metadata.version("scim2-server")
    setup = {
        "reference": f"scim2-server {version}, InMemoryStorage behind its ASGI application, "
        "uvicorn, one process, same client and workloads",
    }
    if theirs.load_seconds is not None:
        setup["scim2-server preload"] = f"{theirs.load_seconds:.1f} s"
    if theirs.memory is not None:
        setup["scim2-server resident memory after the run"] = theirs.memory.describe()
    return setup


def _notes(results: list[Measurement], worker_rows: list[phases.WorkerRun]) -> list[str]:
    notes = []
    by_name = {result.name: result for result in results}
    get_user, bare = by_name.get("get-user"), by_name.get("ceiling: bare ASGI get-user")
    if get_user is not None and bare is not None and bare.rate:
        notes.append(
            f"get-user reaches {get_user.rate / bare.rate:.0%} of the bare ASGI ceiling's "
            "requests/s (target: at least 40%)"
        )
    if len(worker_rows) > 1 and worker_rows[0].result.rate:
        first, last = worker_rows[0], worker_rows[-1]
        notes.append(
            f"get-user with --workers {last.count} does "
            f"{last.result.rate / first.result.rate:.2f}x the requests/s of --workers "
            f"{first.count}"
        )
    return notes


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@dataclass
class Outcome:
    """Everything a run measured, for the results file."""

    setup: dict[str, Any]
    ours: Run
    results: list[Measurement]
    """scimgate's rows, then the ceiling's."""
    theirs: Run | None
    worker_rows: list[phases.WorkerRun]
    steps: list[phases.Size]


def measure(args: argparse.Namespace) -> Outcome:
    """Set up scimgate's data, then run every phase; each server is stopped after its phase."""
    tag = secrets.token_hex(4)
    with tempfile.TemporaryDirectory(prefix="scimgate-bench-") as scratch:
        url = args.database_url or f"sqlite:///{scratch}/bench.db"
        environment = server.environment(url)
        tenant = server.create_tenant(environment, f"bench-{tag}")
        phases.say(f"loading {args.users:,} users")
        began = time.perf_counter()
        loaded = load.load(
            url, tenant.org_id, users=args.users, groups=args.loaded_groups,
            group_members=min(args.group_members, args.users), tag=tag,
        )  # fmt: skip
        load_seconds = time.perf_counter() - began
        phases.say(f"loaded {args.users:,} users in {load_seconds:.1f} s")
        target = Target("scimgate", "/scim/v2", tenant.token, loaded, tag)
        with Server.scimgate(environment, args.workers[0]) as srv:
            ours = phases.workloads_against(args, target, srv, latency=args.latency)
        target.created = ours.created
        outcome = Outcome(_setup(args, load_seconds, ours), ours, list(ours.results), None, [], [])
        if args.compare == "scim2-server" and set(args.workloads) - {"ceiling"}:
            outcome.theirs = phases.reference(args, Path(scratch), secrets.token_urlsafe(24), tag)
            outcome.setup.update(_reference_setup(outcome.theirs))
        if "ceiling" in args.workloads:
            outcome.results.append(phases.ceiling(args))
        if len(args.workers) > 1:
            outcome.worker_rows = phases.workers(args, environment, target)
        outcome.steps = phases.growth(args, environment, url, tenant.org_id, target)
    return outcome


def write(args: argparse.Namespace, outcome: Outcome) -> list[tuple[str, Measurement]]:
    """Write the results file (and print it); return every measurement, by where it ran."""
    sections: list[tuple[str, list[str]]] = []
    failures = [("scimgate", result) for result in outcome.results]
    if outcome.results:
        sections.append(("scimgate", report.table(outcome.results)))
    if outcome.ours.grown:
        grown = report.buckets(outcome.ours.grown, args.grow)
        sections.append(("scimgate group-grow by group size", grown))
    theirs = outcome.theirs
    if theirs is not None:
        compared = report.comparison(outcome.ours.results, theirs.results, "scim2-server")
        sections.append(("scimgate vs scim2-server", compared))
        sections.append(("scim2-server", report.table(theirs.results)))
        if theirs.grown:
            grown = report.buckets(theirs.grown, args.grow)
            sections.append(("scim2-server group-grow by group size", grown))
        failures += [("scim2-server", result) for result in theirs.results]
    if outcome.worker_rows:
        sections.append(("get-user by --workers", report.workers(outcome.worker_rows)))
        failures += [("workers", row.result) for row in outcome.worker_rows]
    if outcome.steps:
        grew = report.growth(outcome.steps, phases.GROWTH_WORKLOADS, args.users)
        sections.append(("growth", grew))
        failures += [
            (f"{step.users:,} users", result)
            for step in outcome.steps
            for result in step.results.values()
        ]
    notes = _notes(outcome.results, outcome.worker_rows)
    text = report.document(outcome.setup, sections, notes, failures)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    return failures


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write the results file; 0 when no scimgate operation failed.

    scim2-server's errors are reported in the file but do not fail the run: they are
    the reference's, not scimgate's.
    """
    args = parse(argv)
    # A terminated benchmark unwinds like an interrupted one: every server it started
    # is stopped by its ``with`` block.
    signal.signal(signal.SIGTERM, _terminated)
    failures = write(args, measure(args))
    return 1 if any(r.errors for where, r in failures if where != "scim2-server") else 0


if __name__ == "__main__":
    sys.exit(main())
