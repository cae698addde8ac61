"""Command output for people: ``key=value`` lines, nested rows indented, role changes spelt out."""

from collections.abc import Mapping
from typing import Any

# Keys shown as sentences after the row rather than as key=value.
_SPELT_OUT = ("changes", "applied")


def lines(result: Any) -> list[str]:
    """The lines that show a command's result (a row or a list of rows)."""
    rows = result if isinstance(result, list) else [result]
    return [line for row in rows for line in _row(row)]


def _row(row: Mapping[str, Any]) -> list[str]:
    head = _pairs(row)
    out = [head] if head else []
    for key, value in row.items():
        if key in _SPELT_OUT:
            continue
        if isinstance(value, Mapping):
            out.append(f"  {key}: {_pairs(value)}")
        elif value and isinstance(value, list) and isinstance(value[0], Mapping):
            out.append(f"  {key}:")
            out.extend(f"    {_pairs(item)}" for item in value)
    if "changes" in row:
        out.extend(_changes(row["changes"], applied=bool(row.get("applied"))))
    return out


def _pairs(row: Mapping[str, Any]) -> str:
    """The row's plain values; lists of plain values are joined with commas."""
    shown = []
    for key, value in row.items():
        if key in _SPELT_OUT:
            continue
        if isinstance(value, list) and not any(isinstance(item, Mapping) for item in value):
            shown.append(f"{key}={','.join(map(str, value))}")
        elif not isinstance(value, Mapping | list):
            shown.append(f"{key}={value}")
    return "  ".join(shown)


def _changes(changes: list[Mapping[str, Any]], *, applied: bool) -> list[str]:
    out = [
        f"  {change['user_name']}: {change['before'] or '(no role)'} -> "
        f"{change['after'] or '(no role)'}"
        for change in changes
    ]
    count = f"{len(changes)} role change{'' if len(changes) == 1 else 's'}"
    out.append(f"applied: {count}" if applied else f"dry run: {count}, nothing written")
    return out
