"""The results as Markdown: the run's setup, then one table per phase."""

import math
import os
import platform
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy

from .phases import Size, WorkerRun
from .runner import Measurement, answers
from .server import Memory


def _ms(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds):
        return "-"
    return f"{seconds * 1000:.2f}"


def _mib(memory: Memory) -> str:
    return ", ".join(f"{rss / 2**20:.0f}" for rss in memory.workers)


def machine() -> str:
    """One line describing the machine and the software versions."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            model = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    return (
        f"{os.cpu_count()} CPUs ({model}), Linux {platform.release()}, Python "
        f"{platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}"
    )


def table(results: Sequence[Measurement]) -> list[str]:
    """The workload table: throughput, latency, errors, CPU per operation, answers."""
    lines = [
        "| workload | ops | ops/s | p50 ms | p99 ms | errors | server CPU ms/op | "
        "client CPU ms/op | answers |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for result in results:
        lines.append(
            f"| {result.name} | {result.ops} | {result.rate:.1f} | "
            f"{_ms(result.percentile(0.5))} | {_ms(result.percentile(0.99))} | "
            f"{result.errors} | {_ms(result.cpu_per_op(result.server_cpu))} | "
            f"{_ms(result.cpu_per_op(result.client_cpu))} | {answers(result.statuses)} |"
        )
    return lines


def buckets(grown: dict[str, dict[int, list[float]]], size: int) -> list[str]:
    """group-grow: PATCH latency by the group's size after the PATCH.

    Buckets are upper bounds; the last one is cut at ``size``, the target size.
    """
    lines = [
        "| mode | group size up to | PATCHes | p50 ms | p99 ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for mode, by_size in grown.items():
        for bound, latencies in sorted(by_size.items()):
            ordered = sorted(latencies)
            p50 = ordered[len(ordered) // 2]
            p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
            lines.append(
                f"| {mode} | {min(bound, size):,} | {len(ordered)} | {_ms(p50)} | {_ms(p99)} |"
            )
    return lines


def comparison(ours: Sequence[Measurement], theirs: Sequence[Measurement], other: str) -> list[str]:
    """scimgate against another server, workload by workload: ops/s, ratio, p99, errors.

    The ratio is scimgate's ops/s over the other's; it is left out when either side
    had no successful operation, and the errors columns say why.
    """
    lines = [
        f"ratio: scimgate's ops/s divided by {other}'s (above 1, scimgate is faster); "
        "same data, client, concurrency and duration.",
        "",
        f"| workload | scimgate ops/s | {other} ops/s | ratio | scimgate p99 ms | "
        f"{other} p99 ms | scimgate errors | {other} errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    by_key = {result.workload: result for result in theirs}
    for mine in ours:
        other_result = by_key.get(mine.workload)
        if other_result is None:
            continue
        ratio = f"{mine.rate / other_result.rate:.2f}x" if other_result.rate and mine.rate else "-"
        lines.append(
            f"| {mine.workload} | {mine.rate:.1f} | {other_result.rate:.1f} | {ratio} | "
            f"{_ms(mine.percentile(0.99))} | {_ms(other_result.percentile(0.99))} | "
            f"{mine.errors} | {other_result.errors} |"
        )
    return lines


def workers(rows: Sequence[WorkerRun]) -> list[str]:
    """get-user by ``--workers`` count; the ratio is against the first count."""
    lines = [
        "| workers | ops/s | ratio | p50 ms | p99 ms | errors | server CPU ms/op | "
        "CPU s per worker | resident MiB per worker |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    base = rows[0].result.rate if rows else 0.0
    for row in rows:
        result = row.result
        ratio = f"{result.rate / base:.2f}x" if base else "-"
        lines.append(
            f"| {row.count} | {result.rate:.1f} | {ratio} | {_ms(result.percentile(0.5))} | "
            f"{_ms(result.percentile(0.99))} | {result.errors} | "
            f"{_ms(result.cpu_per_op(result.server_cpu))} | "
            f"{', '.join(f'{cpu:.2f}' for cpu in row.cpu)} | {_mib(row.memory)} |"
        )
    return lines


def growth(steps: Sequence[Size], names: Sequence[str], start: int) -> list[str]:
    """The growth phase: per size, load time, get-user ops/s and p99, c=1 p50/p99, memory.

    ``names`` are the row keys, get-user first; ``start`` is the user count before.
    """
    head = ["users", "added in s (users/s)", "get-user ops/s", "get-user p99 ms"]
    for name in names[1:]:
        head += [f"{name} p50 ms", f"{name} p99 ms"]
    head += ["errors", "resident MiB per worker"]
    lines = [
        "| " + " | ".join(head) + " |",
        "| " + " | ".join(["---:"] * (len(head) - 1) + ["---"]) + " |",
    ]
    for step in steps:
        added, start = step.users - start, step.users
        rate = f" ({added / step.load_seconds:,.0f}/s)" if added and step.load_seconds else ""
        cells = [f"{step.users:,}", f"{step.load_seconds:.1f}{rate}"]
        first = step.results.get(names[0])
        cells += [f"{first.rate:.1f}", _ms(first.percentile(0.99))] if first else ["-", "-"]
        for name in names[1:]:
            result = step.results.get(name)
            cells += (
                [_ms(result.percentile(0.5)), _ms(result.percentile(0.99))]
                if result
                else ["-", "-"]
            )
        cells += [str(sum(r.errors for r in step.results.values())), _mib(step.memory)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def document(
    setup: dict[str, Any],
    sections: Sequence[tuple[str, list[str]]],
    notes: Sequence[str],
    failures: Sequence[tuple[str, Measurement]],
) -> str:
    """The whole results file: setup, each non-empty section, notes, first errors."""
    lines = [
        f"# scimgate benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {machine()}",
        "",
        *(f"- {key}: {value}" for key, value in setup.items()),
    ]
    for title, body in sections:
        if body:
            lines += ["", f"## {title}", "", *body]
    if notes:
        lines += ["", *(f"- {note}" for note in notes)]
    errors = [f"{where}, {r.name}: {r.first_error}" for where, r in failures if r.first_error]
    if errors:
        lines += ["", "First error per workload:", "", *(f"- `{e}`" for e in errors)]
    return "\n".join(lines) + "\n"
