"""``scripts/fuzz.py`` in its quick form: a fixed seed, a few thousand requests, SQLite.

The long runs (docs/reliability.md) use the same generator with more requests; this
one keeps every endpoint under hostile input in the normal suite.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = 20251129
REQUESTS = 2000


def test_quick_fuzz_run_has_no_server_errors() -> None:
    """No 5xx, no non-SCIM error body on a SCIM route, no lost request log entry."""
    command = [
        sys.executable, "scripts/fuzz.py", "--requests", str(REQUESTS), "--seed", str(SEED),
        "--json",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-5000:] + done.stdout[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["requests"] == REQUESTS
    assert report["server_errors"] == 0
    assert report["non_scim_errors"] == 0
    assert report["request_log_failures"] == 0
    # The run reached the application's every kind of answer, not only refusals.
    assert {200, 201, 204, 400, 401, 404, 405} <= {int(status) for status in report["statuses"]}
