"""The server under test: set up with the scimgate CLI, run in a subprocess, CPU read.

The org, its SSO, SCIM switch and token are created with ``scimgate ... --json``, as
an operator would; the server is ``scimgate serve`` with a fresh request log key.
"""

import contextlib
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
from typing import IO, Any, Self

import httpx
import psutil

from scimgate.domain import sso

_SCIMGATE = [sys.executable, "-m", "scimgate"]
_ROOT = str(Path(__file__).resolve().parent.parent)
"""The directory holding the bench package, for the subprocesses that import it."""


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
    # The deprovision workload deactivates far more than the mass-deprovisioning breaker
    # lets through; a minimum no run reaches keeps the breaker's counting in the figures
    # without holding any request.
    env.setdefault("SCIMGATE_BREAKER_MIN_PEOPLE", "1000000000")
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


@dataclass
class Memory:
    """Resident bytes of a server's processes after a run."""

    workers: list[int]
    """One entry per process serving requests (the server itself with one worker)."""
    supervisor: int | None

    def describe(self) -> str:
        """E.g. ``150 MiB`` or ``2 workers: 150, 152 MiB (supervisor 90 MiB)``."""
        each = ", ".join(f"{rss / 2**20:.0f}" for rss in self.workers)
        if self.supervisor is None:
            return f"{each} MiB"
        return (
            f"{len(self.workers)} workers: {each} MiB each "
            f"(supervisor {self.supervisor / 2**20:.0f} MiB)"
        )


class Server:
    """A server subprocess on a free port, stopped when the ``with`` block ends.

    The process is stopped on any way out of the block, errors included. Its stderr
    goes to a temporary file rather than a pipe: nobody reads a pipe during the run,
    and a full one would block the server.
    """

    def __init__(
        self,
        command: list[str],
        env: dict[str, str],
        health_path: str,
        *,
        ready_seconds: float = 30.0,
        label: str = "",
    ) -> None:
        self.port = free_port()
        self.command = [arg.replace("{port}", str(self.port)) for arg in command]
        self.env = env
        self.health_path = health_path
        self.ready_seconds = ready_seconds
        self.label = label or " ".join(command[1:4])
        self.process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    @classmethod
    def scimgate(cls, env: dict[str, str], workers: int = 1) -> "Server":
        """``scimgate serve`` with ``workers`` processes."""
        serve = [*_SCIMGATE, "serve", "--port", "{port}", "--workers", str(workers)]
        return cls(serve, env, "/healthz", label=f"scimgate serve --workers {workers}")

    @classmethod
    def reference(cls, arguments: list[str], users: int) -> "Server":
        """scim2-server, preloaded by ``bench.reference`` with ``arguments``.

        It loads before it listens, at roughly 10,000 users a second, hence the wait.
        """
        launch = [sys.executable, "-m", "bench.reference", "--port", "{port}", *arguments]
        env = {**os.environ, "PYTHONPATH": _ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
        return cls(
            launch, env, "/v2/ServiceProviderConfig", ready_seconds=60 + users / 2_000,
            label="scim2-server (in-memory storage, ASGI app under uvicorn)",
        )  # fmt: skip

    @classmethod
    def ceiling(cls) -> "Server":
        """The bare ASGI app of bench.ceiling, served by uvicorn with one process."""
        uvicorn = [sys.executable, "-m", "uvicorn", "bench.ceiling:app", "--port", "{port}"]
        env = {**os.environ, "PYTHONPATH": _ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
        return cls([*uvicorn, "--log-level", "warning"], env, "/", label="bare ASGI app")

    @property
    def base_url(self) -> str:
        """The root URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            self.command, env=self.env, stdout=subprocess.DEVNULL, stderr=self._stderr
        )
        try:
            self._wait_until_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.ready_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.label} exited: {self.error_output()}")
            try:
                if httpx.get(self.base_url + self.health_path, timeout=1).status_code < 500:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.label} did not answer within {self.ready_seconds:.0f} s")

    def error_output(self, limit: int = 2000) -> str:
        """The end of what the server wrote to stderr so far."""
        if self._stderr is None:
            return ""
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - limit))
        return self._stderr.read().decode(errors="replace")

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                # The workers too: killing the supervisor alone would orphan them.
                self._kill_tree()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _kill_tree(self) -> None:
        assert self.process is not None
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        self.process.kill()
        self.process.wait()

    def _processes(self) -> list[psutil.Process]:
        assert self.process is not None
        root = psutil.Process(self.process.pid)
        return [root, *root.children(recursive=True)]

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the server and all its processes so far.

        With ``--workers N`` that is the supervisor, its N workers and multiprocessing's
        resource tracker.
        """
        total = 0.0
        for process in self._processes():
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def _workers(self) -> list[psutil.Process]:
        processes = self._processes()
        return [p for p in processes[1:] if _is_worker(p)] or processes[:1]

    def worker_cpu(self) -> list[float]:
        """User plus system CPU seconds of each worker so far: how the load was spread."""
        total = []
        for process in self._workers():
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                total.append(0.0)
                continue
            total.append(times.user + times.system)
        return total

    def memory(self) -> Memory:
        """Resident memory of each worker and of the supervisor, if there is one."""
        processes = self._processes()
        workers = [p for p in processes[1:] if _is_worker(p)]
        if not workers:
            return Memory(workers=[_rss(processes[0])], supervisor=None)
        return Memory(workers=[_rss(p) for p in workers], supervisor=_rss(processes[0]))


def _is_worker(process: psutil.Process) -> bool:
    # uvicorn starts its workers with multiprocessing's spawn; the other child is
    # multiprocessing's resource tracker, which serves no request.
    try:
        return any("spawn_main" in part for part in process.cmdline())
    except psutil.NoSuchProcess:
        return False


def _rss(process: psutil.Process) -> int:
    try:
        return int(process.memory_info().rss)
    except psutil.NoSuchProcess:
        return 0
