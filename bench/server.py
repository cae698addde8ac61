"""The server under test: set up with the scimgate CLI, run in a subprocess, CPU read.

The org, its SSO, SCIM switch and token are created with ``scimgate ... --json``, as
an operator would; the server is ``scimgate serve`` with a fresh request log key.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
import psutil

from scimgate.domain import sso

_SCIMGATE = [sys.executable, "-m", "scimgate"]


@dataclass
class Tenant:
    """The benchmark organization and its SCIM token."""

    org_id: str
    token: str


def free_port() -> int:
    """Return a local TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _cli(env: dict[str, str], *args: str) -> Any:
    """Run one scimgate command with --json and return its document."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [*_SCIMGATE, *args, "--json"], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"scimgate {' '.join(args)} failed: {done.stdout}{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def environment(database_url: str) -> dict[str, str]:
    """The environment of the CLI and the server: the database and a fresh log key."""
    env = {**os.environ, "SCIMGATE_DATABASE_URL": database_url}
    env["SCIMGATE_LOG_KEYS"] = _cli(env, "logs", "key")["key"]
    return env


def create_tenant(env: dict[str, str], name: str) -> Tenant:
    """Create an organization with SSO and SCIM on, and issue its token, via the CLI."""
    org = _cli(env, "org", "create", name)
    demo = sso.demo_settings(name)
    with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as cert:
        cert.write(demo.certificate_pem)
    try:
        _cli(
            env, "sso", "configure", org["id"], "--entity-id", demo.entity_id,
            "--sso-url", demo.sso_url, "--cert-file", cert.name,
        )  # fmt: skip
    finally:
        Path(cert.name).unlink()
    _cli(env, "scim", "enable", org["id"])
    return Tenant(org_id=org["id"], token=_cli(env, "token", "create", org["id"])["token"])


class Server:
    """A server subprocess on a free port, stopped when the ``with`` block ends."""

    def __init__(self, command: list[str], env: dict[str, str], health_path: str) -> None:
        self.port = free_port()
        self.command = [arg.replace("{port}", str(self.port)) for arg in command]
        self.env = env
        self.health_path = health_path
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def scimgate(cls, env: dict[str, str], workers: int = 1) -> "Server":
        """``scimgate serve`` with ``workers`` processes."""
        serve = [*_SCIMGATE, "serve", "--port", "{port}", "--workers", str(workers)]
        return cls(serve, env, "/healthz")

    @classmethod
    def ceiling(cls) -> "Server":
        """The bare ASGI app of bench.ceiling, served by uvicorn with one process."""
        uvicorn = [sys.executable, "-m", "uvicorn", "bench.ceiling:app", "--port", "{port}"]
        return cls([*uvicorn, "--log-level", "warning"], dict(os.environ), "/")

    @property
    def base_url(self) -> str:
        """The root URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            self.command, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"{self.command} exited: {error[-2000:]}")
            try:
                if httpx.get(self.base_url + self.health_path, timeout=1).status_code < 500:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.command} did not answer within 30 seconds")

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the server and its worker processes so far."""
        assert self.process is not None
        root = psutil.Process(self.process.pid)
        total = 0.0
        for process in [root, *root.children(recursive=True)]:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def rss_bytes(self) -> int:
        """Resident memory of the server and its worker processes."""
        assert self.process is not None
        root = psutil.Process(self.process.pid)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
