"""``scimgate serve`` as a subprocess, its organization set up through the CLI.

The command line runs in this process (``scimgate.cli.main``, as an operator's shell
would run it, minus the interpreter start-up); the server is a real ``scimgate serve``
with its own request log key, started in a process group of its own so that a test
can stop it gracefully (SIGTERM) or crash it (SIGKILL on every process it started).
"""

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from unittest import mock

import httpx2
from sqlalchemy import select
from sqlalchemy.orm import Session

from scimgate.cli import main
from scimgate.domain import provisioning, sso
from scimgate.storage.database import Database
from scimgate.storage.models import Organization, TeamMember, User

SCIM_JSON = "application/scim+json"


def free_port() -> int:
    """A local TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def cli(env: Mapping[str, str], *argv: str) -> Any:
    """Run one ``scimgate`` command with ``--json`` under ``env``; return its document."""
    out = io.StringIO()
    with mock.patch.dict(os.environ, env), contextlib.redirect_stdout(out):
        status = main([*argv, "--json"])
    text = out.getvalue().strip()
    if status != 0:
        raise RuntimeError(f"scimgate {' '.join(argv)} failed: {text}")
    return json.loads(text.splitlines()[-1])


def environment(database_url: str) -> dict[str, str]:
    """The server's and the CLI's variables: the database and a fresh request log key."""
    env = {"SCIMGATE_DATABASE_URL": database_url}
    env["SCIMGATE_LOG_KEYS"] = cli(env, "logs", "key")["key"]
    return env


@dataclass
class OrgSetup:
    """An organization set up through the CLI, and its SCIM token."""

    id: str
    token: str


def set_up_organization(env: Mapping[str, str], name: str) -> OrgSetup:
    """Create an organization with SSO, SCIM on and a token, as an operator would."""
    org = cli(env, "org", "create", name)
    demo = sso.demo_settings(name)
    with tempfile.TemporaryDirectory() as folder:
        cert = Path(folder) / "idp.pem"
        cert.write_text(demo.certificate_pem)
        cli(
            env, "sso", "configure", org["id"], "--entity-id", demo.entity_id,
            "--sso-url", demo.sso_url, "--cert-file", str(cert),
        )  # fmt: skip
    cli(env, "scim", "enable", org["id"])
    return OrgSetup(id=org["id"], token=cli(env, "token", "create", org["id"])["token"])


@dataclass
class ServerProcess:
    """``scimgate serve --workers N`` on a free port, in a process group of its own."""

    env: dict[str, str]
    workers: int = 2
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    _stderr: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's root URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_seconds: float = 30) -> None:
        """Start the server and wait until ``/healthz`` answers."""
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        command = [sys.executable, "-m", "scimgate", "serve", "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*command, "--workers", str(self.workers)],
            env={**os.environ, **self.env},
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            start_new_session=True,
        )
        deadline = time.monotonic() + ready_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"scimgate serve exited: {self.error_output()}")
            try:
                if httpx2.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"scimgate serve did not answer within {ready_seconds} s")

    def terminate(self, timeout: float = 30) -> int:
        """Stop gracefully (SIGTERM) and return the exit status; kill if it hangs."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        """SIGKILL the server and every worker it started, as a crash would."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def error_output(self, limit: int = 4000) -> str:
        """The end of what the server wrote to stderr."""
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read()[-limit:].decode(errors="replace")

    def close(self) -> None:
        """Stop the server if it still runs (gracefully, else by force)."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.terminate(timeout=10)
            # Workers left behind by a supervisor that died first.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


@contextlib.contextmanager
def served(env: dict[str, str], workers: int = 2) -> Iterator[ServerProcess]:
    """A started server, stopped when the block ends."""
    server = ServerProcess(env, workers=workers)
    try:
        server.start()
        yield server
    finally:
        server.close()


def scim_client(base_url: str, token: str, timeout: float = 60) -> httpx2.Client:
    """An HTTP client for an organization's SCIM endpoint under ``base_url``."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}
    return httpx2.Client(base_url=base_url + "/scim/v2", headers=headers, timeout=timeout)


Grants = dict[str, tuple[str | None, str | None, frozenset[tuple[str, bool, bool]]]]


def _grants(session: Session, org_id: str) -> Grants:
    """Each member's role, the group it came from, and their team grants."""
    teams: dict[str, set[tuple[str, bool, bool]]] = {}
    for user_id, team_id, via_scim, manual in session.execute(
        select(TeamMember.user_id, TeamMember.team_id, TeamMember.via_scim, TeamMember.manual)
        .join(User, User.id == TeamMember.user_id)
        .where(User.org_id == org_id)
    ):
        teams.setdefault(user_id, set()).add((team_id, via_scim, manual))
    return {
        user_id: (role_id, source, frozenset(teams.get(user_id, ())))
        for user_id, role_id, source in session.execute(
            select(User.id, User.role_id, User.role_from_group_id).where(User.org_id == org_id)
        )
    }


def drift(database_url: str, org_id: str) -> dict[str, tuple[Any, Any]]:
    """Members whose stored roles or teams differ from a recomputation from scratch.

    The domain's own full recomputation runs inside a savepoint that is rolled back
    (the dry-run technique of role previews), so nothing changes; an empty answer
    means the stored grants are exactly what the groups, flags and mappings give.
    """
    db = Database(database_url)
    try:
        with db.transaction(write=False) as session:
            org = session.get(Organization, org_id)
            assert org is not None
            stored = _grants(session, org_id)
            savepoint = session.begin_nested()
            provisioning.resync_all(session, org)
            recomputed = _grants(session, org_id)
            savepoint.rollback()
    finally:
        db.dispose()
    return {
        user_id: (stored.get(user_id), recomputed.get(user_id))
        for user_id in stored.keys() | recomputed.keys()
        if stored.get(user_id) != recomputed.get(user_id)
    }
