"""The crash safety script's quick run: SIGKILLed servers lose no acknowledged write.

``scripts/crash_test.py --quick`` kills ``scimgate serve`` three times under a write
load on a fresh SQLite file and verifies the state after each restart; the full runs
(20 kills and more, on both databases) are in docs/reliability.md.
"""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "crash_test.py"


def test_quick_crash_run_keeps_every_acknowledged_write() -> None:
    """Three SIGKILLs under load: every acknowledged write is there, nothing half applied."""
    command = [sys.executable, str(SCRIPT), "--quick", "--seed", "7", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["kills_survived"] == 3
    assert report["acknowledged"] > 0
    assert report["verified_users"] > 0 and report["verified_memberships"] > 0
