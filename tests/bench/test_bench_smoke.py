"""``python -m bench`` runs end to end at tiny sizes and every workload succeeds.

One run on SQLite serves every test here (it takes about 20 seconds); no timing is
asserted, only that each workload has its row and no errors. The comparison with
scim2-server runs when it is installed (the ``bench`` extra), and its test is skipped
otherwise.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SIMPLE = [
    "create-users", "get-user", "filter-user", "list-page", "list-cursor", "patch-user",
    "idp-sync", "get-group", "add-member (100-member group)", "add-member (large group)",
]  # fmt: skip
GROW_MODES = ["1/PATCH, default", "1/PATCH, no-content", "10/PATCH, default",
              "10/PATCH, no-content"]  # fmt: skip


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, str]]]:
    """The tables of one tiny run, by section title, each row as a dict by column."""
    for module in ("httpx", "psutil"):
        pytest.importorskip(module, reason="the bench extra is not installed")
    output = tmp_path_factory.mktemp("bench") / "results.md"
    compare = "scim2-server" if importlib.util.find_spec("scim2_server") else "none"
    command = [
        sys.executable, "-m", "bench", "--users", "50", "--group-members", "20",
        "--grow", "30", "--duration", "0.3", "--concurrency", "2", "--sizes", "80",
        "--compare", compare, "--output", str(output),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    return _tables(output.read_text())


def _tables(text: str) -> dict[str, list[dict[str, str]]]:
    tables: dict[str, list[dict[str, str]]] = {}
    for section in text.split("\n## ")[1:]:
        title, _, body = section.partition("\n")
        lines = [line for line in body.splitlines() if line.startswith("|")]
        header = [cell.strip() for cell in lines[0].strip("|").split("|")]
        tables[title.strip()] = [
            dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=True))
            for line in lines[2:]
        ]
    return tables


def _names(rows: list[dict[str, str]]) -> list[str]:
    return [row["workload"] for row in rows]


def test_every_scimgate_workload_has_a_row_without_errors(
    results: dict[str, list[dict[str, str]]],
) -> None:
    rows = results["scimgate"]
    names = _names(rows)
    for name in [*SIMPLE, "filter-user (c=1)", "list-page (c=1)", "deprovision (5 users)"]:
        assert name in names
    assert any(name.startswith("list-cursor (c=1, from") for name in names)
    for mode in GROW_MODES:
        assert f"group-grow ({mode}, to 30)" in names
    assert "ceiling: bare ASGI get-user" in names
    assert [row["errors"] for row in rows] == ["0"] * len(rows)
    assert {row["mode"] for row in results["scimgate group-grow by group size"]} == set(GROW_MODES)


def test_growth_has_a_row_per_size_without_errors(
    results: dict[str, list[dict[str, str]]],
) -> None:
    (row,) = results["growth"]
    assert row["users"] == "80"
    assert row["errors"] == "0"


def test_scim2_server_runs_the_same_workloads(
    results: dict[str, list[dict[str, str]]],
) -> None:
    pytest.importorskip("scim2_server", reason="scim2-server is not installed")
    compared = results["scimgate vs scim2-server"]
    expected = [*SIMPLE, *(f"group-grow ({mode})" for mode in GROW_MODES), "deprovision"]
    assert _names(compared) == expected
    for row in compared:
        assert (row["scimgate errors"], row["scim2-server errors"]) == ("0", "0")
    assert [row["errors"] for row in results["scim2-server"]] == ["0"] * len(expected)
