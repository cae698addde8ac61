"""The results as Markdown: the run's setup, one row per workload, group-grow buckets."""

import math
import os
import platform
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy

from .runner import Measurement


def _ms(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds):
        return "-"
    return f"{seconds * 1000:.2f}"


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
    """The workload table: throughput, latency, errors and CPU per operation."""
    lines = [
        "| workload | ops | ops/s | p50 ms | p99 ms | errors | server CPU ms/op | "
        "client CPU ms/op |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in results:
        lines.append(
            f"| {result.name} | {result.ops} | {result.rate:.1f} | "
            f"{_ms(result.percentile(0.5))} | {_ms(result.percentile(0.99))} | "
            f"{result.errors} | {_ms(result.cpu_per_op(result.server_cpu))} | "
            f"{_ms(result.cpu_per_op(result.client_cpu))} |"
        )
    return lines


def buckets(grown: dict[str, dict[int, list[float]]]) -> list[str]:
    """group-grow: PATCH latency by the group's size when the member was added."""
    lines = [
        "| mode | group size up to | PATCHes | p50 ms | p99 ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for mode, by_size in grown.items():
        for size, latencies in sorted(by_size.items()):
            ordered = sorted(latencies)
            p50 = ordered[len(ordered) // 2]
            p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
            lines.append(f"| {mode} | {size:,} | {len(ordered)} | {_ms(p50)} | {_ms(p99)} |")
    return lines


def document(
    setup: dict[str, Any],
    results: Sequence[Measurement],
    grown: dict[str, dict[int, list[float]]],
    notes: Sequence[str],
) -> str:
    """The whole results file."""
    lines = [
        f"# scimgate benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {machine()}",
        "",
        *(f"- {key}: {value}" for key, value in setup.items()),
        "",
        *table(results),
    ]
    if grown:
        lines += ["", "group-grow, one member per PATCH:", "", *buckets(grown)]
    if notes:
        lines += ["", *(f"- {note}" for note in notes)]
    errors = [f"{r.name}: {r.first_error}" for r in results if r.first_error]
    if errors:
        lines += ["", "First error per workload:", "", *(f"- `{e}`" for e in errors)]
    return "\n".join(lines) + "\n"
