"""Crash safety: kill ``scimgate serve`` with SIGKILL under load, restart, verify.

Several clients send an IdP's kind of writes over HTTP: user creates, PATCH
deactivations and reactivations, group member adds and removes. At a random moment
the server and all its workers are killed with SIGKILL, then started again, and the
state is checked against what the server acknowledged:

- every write answered 2xx is there, unless a later acknowledged write of the same
  resource replaced it (each client owns its users, so its writes to them are ordered);
- a write without an answer (in flight at the kill) applied completely or not at all:
  a user exists with its attributes, email row and person, or not at all; an
  organization's roles and teams equal a recomputation from scratch, so no
  deactivation or membership change is half applied;
- no row points nowhere (users without a person, emails without a user, group or team
  members without their user or group), and an SQLite file passes its integrity check.

The organization turns groups into teams and roles, so each write also moves grants.
It runs on a fresh SQLite file by default, or on ``--database-url`` (a new
organization each run, so an existing database is left as it was). Exits 1 on any
violation, after printing it.

    python scripts/crash_test.py --kills 20 --seed 1
    python scripts/crash_test.py --database-url postgresql+psycopg://... --kills 20
    python scripts/crash_test.py --quick
"""

import argparse
import contextlib
import io
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx2
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from scimgate.cli import main as scimgate_cli
from scimgate.domain import provisioning, sso
from scimgate.storage.database import Database
from scimgate.storage.models import (
    Group,
    GroupMember,
    Organization,
    Person,
    Team,
    TeamMember,
    User,
    UserEmail,
)

SCIM_JSON = "application/scim+json"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GROUPS = (("Engineering", "admin"), ("Managers", "owner"), ("Everyone", None))
MAX_REQUESTS_PER_ROUND = 20_000

Request = tuple[str, str, dict[str, Any]]
"""Method, path under the SCIM base URL, and JSON body."""


class StateError(AssertionError):
    """The stored state contradicts what the server acknowledged."""


# ---------------------------------------------------------------------------- model


@dataclass
class Member:
    """One user a client provisions, and every state it may be in after a crash.

    Each field is the set of values the server may hold: one value once a write was
    acknowledged, two while a write without an answer may or may not have applied.
    """

    user_name: str
    given: str
    family: str
    id: str | None = None
    exists: set[bool] = field(default_factory=lambda: {False})
    active: set[bool] = field(default_factory=lambda: {True})
    groups: dict[str, set[bool]] = field(default_factory=dict)
    pending: dict[str, bool] = field(default_factory=dict)
    """The value of each write that got no answer, until a check settles it."""

    def in_group(self, group_id: str) -> set[bool]:
        """Whether the user may be a member of ``group_id``."""
        return self.groups.setdefault(group_id, {False})


@dataclass
class Tally:
    """Counts for the report."""

    requests: int = 0
    acknowledged: int = 0
    unanswered: int = 0
    refused: int = 0
    """503 answers (the database busy): counted as maybe applied."""
    unanswered_applied: int = 0
    unanswered_not_applied: int = 0
    verified_users: int = 0
    verified_memberships: int = 0

    def add(self, other: "Tally") -> None:
        """Add ``other``'s counts to these."""
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Client:
    """One IdP connection: its own users, written one request at a time."""

    number: int
    prefix: str
    groups: list[str]
    max_users: int
    members: list[Member] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    failure: str | None = None

    def run(self, base_url: str, token: str, rng: random.Random, stop: threading.Event) -> None:
        """Send writes until ``stop`` is set or the server goes away."""
        headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}
        with httpx2.Client(base_url=base_url, headers=headers, timeout=30) as http:
            for _ in range(MAX_REQUESTS_PER_ROUND):
                if stop.is_set() or self.failure:
                    return
                if not self._one(http, rng):
                    return

    def _one(self, http: httpx2.Client, rng: random.Random) -> bool:
        """Send one write; False once the server is gone."""
        existing = [m for m in self.members if m.exists == {True}]
        if len(self.members) < self.max_users and (not existing or rng.random() < 0.3):
            member = Member(
                f"{self.prefix}-c{self.number}-u{len(self.members)}@example.com",
                rng.choice(["Ada", "Grace", "Alan", "Edsger"]),
                rng.choice(["Lovelace", "Hopper", "Turing", "Dijkstra"]),
            )
            self.members.append(member)
            return self._send(http, member, "exists", True, _create(member))
        member = rng.choice(existing)
        assert member.id is not None
        if rng.random() < 0.5:
            value = _flip(member.active)
            body = _patch({"op": "replace", "path": "active", "value": value})
            return self._send(http, member, "active", value, ("PATCH", f"/Users/{member.id}", body))
        group_id = rng.choice(self.groups)
        value = _flip(member.in_group(group_id))
        if value:
            operation = {"op": "add", "path": "members", "value": [{"value": member.id}]}
        else:
            operation = {"op": "remove", "path": f'members[value eq "{member.id}"]'}
        request = ("PATCH", f"/Groups/{group_id}", _patch(operation))
        return self._send(http, member, group_id, value, request)

    def _send(
        self, http: httpx2.Client, member: Member, what: str, value: bool, request: Request
    ) -> bool:
        """Send ``request``, which sets ``what`` of ``member`` to ``value``; record the answer."""
        method, path, body = request
        possible = member.exists if what == "exists" else (
            member.active if what == "active" else member.in_group(what)
        )  # fmt: skip
        self.tally.requests += 1
        try:
            response = http.request(method, path, json=body)
        except httpx2.ConnectError:
            # Sent after the kill: it never reached a server.
            self.tally.requests -= 1
            return False
        except httpx2.TransportError:
            # Killed with the request in flight: it may or may not have applied.
            possible.add(value)
            member.pending[what] = value
            self.tally.unanswered += 1
            return False
        if response.status_code == 503:
            # The database was busy; the write should not have applied, but a 503 makes
            # no promise, so either outcome is accepted.
            possible.add(value)
            member.pending[what] = value
            self.tally.refused += 1
            return True
        if not 200 <= response.status_code < 300:
            self.failure = f"{method} {path} answered {response.status_code}: {response.text}"
            return False
        possible.clear()
        possible.add(value)
        member.pending.pop(what, None)
        if what == "exists":
            member.id = response.json()["id"]
        self.tally.acknowledged += 1
        return True


def _flip(possible: set[bool]) -> bool:
    """The opposite of the current value; when unknown, True (adding is idempotent)."""
    return not next(iter(possible)) if len(possible) == 1 else True


def _patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_URN], "Operations": list(operations)}


def _create(member: Member) -> Request:
    body = {
        "schemas": [USER_URN],
        "userName": member.user_name,
        "name": {"givenName": member.given, "familyName": member.family},
        "emails": [{"value": member.user_name, "type": "work", "primary": True}],
        "active": True,
    }
    return "POST", "/Users", body


# --------------------------------------------------------------------------- server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def cli(*argv: str) -> Any:
    """Run one ``scimgate`` command with ``--json`` in this process; return its document."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = scimgate_cli([*argv, "--json"])
    if status != 0:
        raise RuntimeError(f"scimgate {' '.join(argv)} failed: {out.getvalue()}")
    return json.loads(out.getvalue().strip().splitlines()[-1])


class Server:
    """``scimgate serve`` in a process group of its own, so SIGKILL reaches every worker."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()

    @property
    def url(self) -> str:
        """The server's root URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> float:
        """Start the server; return the seconds until ``/healthz`` answered."""
        began = time.monotonic()
        command = [sys.executable, "-m", "scimgate", "serve", "--port", str(self.port)]
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [*command, "--workers", str(self.workers)],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            start_new_session=True,
        )
        while time.monotonic() - began < 60:
            if self.process.poll() is not None:
                raise RuntimeError(f"scimgate serve exited:\n{self.log_tail()}")
            with contextlib.suppress(httpx2.TransportError):
                if httpx2.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return time.monotonic() - began
            time.sleep(0.05)
        raise RuntimeError(f"scimgate serve did not answer within 60 s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the server and every process it started."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log_tail(self, limit: int = 3000) -> str:
        """The end of what the servers wrote to stderr."""
        self.log.seek(0)
        return self.log.read()[-limit:].decode(errors="replace")

    def close(self) -> None:
        """Stop the server (by force: it holds nothing worth a graceful stop here)."""
        self.kill()
        self.log.close()


# ------------------------------------------------------------------------- checking


def _all_users(http: httpx2.Client) -> dict[str, dict[str, Any]]:
    """Every user of the organization, by userName."""
    found: dict[str, dict[str, Any]] = {}
    start = 1
    while True:
        page = http.get("/Users", params={"startIndex": start, "count": 500}).json()
        for resource in page.get("Resources", []):
            found[resource["userName"]] = resource
        start += page["itemsPerPage"]
        if not page["itemsPerPage"] or start > page["totalResults"]:
            return found


def _check_user(member: Member, resource: dict[str, Any] | None, tally: Tally) -> None:
    """The user is there (or not) as acknowledged, complete, with a possible state."""
    if (resource is not None) not in member.exists:
        raise StateError(f"{member.user_name}: exists={resource is not None}, may {member.exists}")
    if resource is None:
        _settle(member, "exists", False, tally)
        member.exists = {False}
        return
    _settle(member, "exists", True, tally)
    if member.id not in (None, resource["id"]):
        raise StateError(f"{member.user_name}: id {resource['id']}, acknowledged {member.id}")
    seen = (
        resource.get("name", {}).get("givenName"),
        resource.get("name", {}).get("familyName"),
        [e.get("value") for e in resource.get("emails", [])],
    )
    if seen != (member.given, member.family, [member.user_name]):
        raise StateError(f"{member.user_name}: stored partly or wrongly: {seen}")
    active = resource.get("active", True)
    if active not in member.active:
        raise StateError(f"{member.user_name}: active={active}, may be {member.active}")
    _settle(member, "active", active, tally)
    member.id, member.exists, member.active = resource["id"], {True}, {active}
    tally.verified_users += 1


def _settle(member: Member, what: str, found: bool, tally: Tally) -> None:
    """Count a write that had no answer, by whether it turned out applied."""
    if what in member.pending:
        if member.pending.pop(what) == found:
            tally.unanswered_applied += 1
        else:
            tally.unanswered_not_applied += 1


def _check_groups(
    http: httpx2.Client, groups: list[str], members: list[Member], tally: Tally
) -> None:
    """Each member of each group was acknowledged there, or had a write in flight."""
    by_id = {m.id: m for m in members if m.exists == {True}}
    for group_id in groups:
        response = http.get(f"/Groups/{group_id}")
        if response.status_code != 200:
            raise StateError(f"group {group_id} answered {response.status_code}")
        listed = {m["value"] for m in response.json().get("members", [])}
        strangers = listed - set(by_id)
        if strangers:
            raise StateError(f"group {group_id} has members nobody added: {sorted(strangers)}")
        for member_id, member in by_id.items():
            inside = member_id in listed
            if inside not in member.in_group(group_id):
                raise StateError(
                    f"{member.user_name} in {group_id}: {inside}, "
                    f"may be {member.in_group(group_id)}"
                )
            _settle(member, group_id, inside, tally)
            member.groups[group_id] = {inside}
            tally.verified_memberships += 1


def _grants(session: Session, org_id: str) -> dict[str, Any]:
    teams: dict[str, set[tuple[str, bool, bool]]] = {}
    for user_id, team_id, via_scim, manual in session.execute(
        select(TeamMember.user_id, TeamMember.team_id, TeamMember.via_scim, TeamMember.manual)
        .join(User, User.id == TeamMember.user_id)
        .where(User.org_id == org_id)
    ):
        teams.setdefault(user_id, set()).add((team_id, via_scim, manual))
    rows = session.execute(
        select(User.id, User.role_id, User.role_from_group_id).where(User.org_id == org_id)
    )
    return {uid: (role, source, teams.get(uid, set())) for uid, role, source in rows}


def check_grants(db: Database, org_id: str) -> None:
    """Stored roles and teams equal the domain's recomputation from scratch.

    The recomputation runs in a savepoint that is rolled back: it changes nothing.
    """
    with db.transaction(write=False) as session:
        org = session.get(Organization, org_id)
        assert org is not None
        stored = _grants(session, org_id)
        savepoint = session.begin_nested()
        provisioning.resync_all(session, org)
        recomputed = _grants(session, org_id)
        savepoint.rollback()
    everyone = stored.keys() | recomputed.keys()
    wrong = {
        u: (stored.get(u), recomputed.get(u))
        for u in everyone
        if stored.get(u) != recomputed.get(u)
    }
    if wrong:
        raise StateError(f"roles or teams half applied (stored, recomputed): {wrong}")


def check_rows(db: Database, org_id: str, prefix: str) -> None:
    """No row points nowhere, every user has one email row and a person."""
    counts: dict[str, Any] = {
        "users without a person": select(func.count())
        .select_from(User)
        .outerjoin(Person, Person.id == User.person_id)
        .where(User.org_id == org_id, Person.id.is_(None)),
        "emails without a user": select(func.count())
        .select_from(UserEmail)
        .outerjoin(User, User.id == UserEmail.user_id)
        .where(User.id.is_(None)),
        "group members without a user": select(func.count())
        .select_from(GroupMember)
        .outerjoin(User, User.id == GroupMember.user_id)
        .where(GroupMember.user_id.is_not(None), User.id.is_(None)),
        "group members without a group": select(func.count())
        .select_from(GroupMember)
        .outerjoin(Group, Group.id == GroupMember.group_id)
        .where(Group.id.is_(None)),
        "team members without a user or team": select(func.count())
        .select_from(TeamMember)
        .outerjoin(User, User.id == TeamMember.user_id)
        .outerjoin(Team, Team.id == TeamMember.team_id)
        .where(User.id.is_(None) | Team.id.is_(None)),
        "persons of this run without a user": select(func.count())
        .select_from(Person)
        .outerjoin(User, User.person_id == Person.id)
        .where(Person.email_norm.like(f"{prefix}-%"), User.id.is_(None)),
    }
    emails = (
        select(func.count(UserEmail.id))
        .select_from(User)
        .outerjoin(UserEmail, UserEmail.user_id == User.id)
        .where(User.org_id == org_id)
        .group_by(User.id)
    )
    with db.transaction(write=False) as session:
        found = {what: session.scalar(query) for what, query in counts.items()}
        per_user = set(session.scalars(emails))
    broken = {what: n for what, n in found.items() if n}
    if broken or per_user - {1}:
        raise StateError(f"rows pointing nowhere: {broken}; email rows per user: {per_user}")


def check_sqlite_file(url: str) -> None:
    """An SQLite file passes its integrity and foreign key checks."""
    database = make_url(url).database
    if make_url(url).get_backend_name() != "sqlite" or not database:
        return
    with contextlib.closing(sqlite3.connect(database)) as connection:
        integrity = connection.execute("PRAGMA integrity_check").fetchall()
        dangling = connection.execute("PRAGMA foreign_key_check").fetchall()
    if integrity != [("ok",)] or dangling:
        raise StateError(f"SQLite file damaged: {integrity[:5]}, dangling {dangling[:5]}")


# -------------------------------------------------------------------------- the run


@dataclass
class Run:
    """One crash test: its setup, its clients and what they found."""

    args: argparse.Namespace
    database_url: str
    prefix: str
    org_id: str = ""
    token: str = ""
    groups: list[str] = field(default_factory=list)
    clients: list[Client] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    kills: int = 0
    starts: list[float] = field(default_factory=list)

    def set_up(self, server: Server) -> None:
        """Create the organization (through the CLI) and its groups (through SCIM)."""
        org = cli("org", "create", self.prefix)
        self.org_id = org["id"]
        demo = sso.demo_settings(self.prefix)
        with tempfile.TemporaryDirectory() as folder:
            cert = Path(folder) / "idp.pem"
            cert.write_text(demo.certificate_pem)
            cli(
                "sso", "configure", self.org_id, "--entity-id", demo.entity_id,
                "--sso-url", demo.sso_url, "--cert-file", str(cert),
            )  # fmt: skip
        cli("scim", "enable", self.org_id)
        cli("flags", self.org_id, "--sync-groups-to-teams", "on")
        cli("flags", self.org_id, "--assign-roles-from-groups", "on")
        self.token = cli("token", "create", self.org_id)["token"]
        self.starts.append(server.start())
        with self.http(server) as http:
            for name, role in GROUPS:
                body = {"schemas": [GROUP_URN], "displayName": name}
                group = http.post("/Groups", json=body)
                if group.status_code != 201:
                    raise RuntimeError(f"could not create group {name}: {group.text}")
                self.groups.append(group.json()["id"])
                if role:
                    cli("role", "map", self.org_id, self.groups[-1], role)
        per_client = self.args.users_per_client
        self.clients = [
            Client(n, self.prefix, self.groups, per_client) for n in range(self.args.clients)
        ]

    def http(self, server: Server) -> httpx2.Client:
        """A SCIM client of the organization."""
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx2.Client(base_url=server.url + "/scim/v2", headers=headers, timeout=60)

    def round(self, server: Server, rng: random.Random) -> None:
        """Load the server, kill it at a random moment, start it again and verify."""
        stop = threading.Event()
        base_url = server.url + "/scim/v2"
        threads = [
            threading.Thread(target=client.run, args=(base_url, self.token, _fork(rng), stop))
            for client in self.clients
        ]
        for thread in threads:
            thread.start()
        low, high = self.args.delay
        time.sleep(rng.uniform(low, high))
        server.kill()
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        self.kills += 1
        failures = [c.failure for c in self.clients if c.failure]
        if failures:
            raise StateError(f"a write was refused: {failures[0]}")
        self.starts.append(server.start())
        self.verify(server)

    def verify(self, server: Server) -> None:
        """Compare the restarted server's state with what was acknowledged."""
        members = [m for client in self.clients for m in client.members]
        check = Tally()
        with self.http(server) as http:
            stored = _all_users(http)
            strangers = set(stored) - {m.user_name for m in members}
            if strangers:
                raise StateError(f"users nobody created: {sorted(strangers)[:5]}")
            for member in members:
                _check_user(member, stored.get(member.user_name), check)
            _check_groups(http, self.groups, members, check)
        db = Database(self.database_url)
        try:
            check_grants(db, self.org_id)
            check_rows(db, self.org_id, self.prefix)
        finally:
            db.dispose()
        check_sqlite_file(self.database_url)
        self.tally.add(check)

    def report(self, seconds: float) -> dict[str, Any]:
        """The figures of the run."""
        for client in self.clients:
            self.tally.add(client.tally)
            client.tally = Tally()
        return {
            "database": make_url(self.database_url).get_backend_name(),
            "workers": self.args.workers,
            "clients": self.args.clients,
            "seed": self.args.seed,
            "kills_survived": self.kills,
            **vars(self.tally),
            "mean_restart_seconds": round(sum(self.starts) / len(self.starts), 2),
            "duration_seconds": round(seconds, 1),
        }


def _fork(rng: random.Random) -> random.Random:
    """A generator of its own for one client, drawn from the run's seed."""
    return random.Random(rng.random())  # noqa: S311 - a reproducible load, not a secret


def _database_url(given: str | None, folder: str) -> str:
    return given or f"sqlite:///{Path(folder) / 'crash.db'}"


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Set up, crash ``args.kills`` times, verify after each; return the report."""
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        url = _database_url(args.database_url, folder)
        os.environ["SCIMGATE_DATABASE_URL"] = url
        os.environ["SCIMGATE_LOG_KEYS"] = cli("logs", "key")["key"]
        # The load deactivates most members on purpose: the mass-deprovisioning breaker
        # would hold those writes (503) and leave little to verify.
        os.environ["SCIMGATE_BREAKER_SHARE"] = "0"
        test = Run(args, url, prefix=f"crash-{args.seed}-{uuid.uuid4().hex[:8]}")
        rng = random.Random(args.seed)  # noqa: S311 - a reproducible load, not a secret
        server = Server(args.workers)
        try:
            test.set_up(server)
            for _ in range(args.kills):
                test.round(server, rng)
        except StateError:
            print(f"server log (last lines):\n{server.log_tail()}", file=sys.stderr)
            raise
        finally:
            server.close()
        return test.report(time.monotonic() - began)


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: a new SQLite file")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--users-per-client", type=int, default=60)
    parser.add_argument("--quick", action="store_true", help="3 kills, short rounds")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    args.delay = (0.3, 1.0) if args.quick else (0.2, 2.5)
    if args.quick:
        args.kills = min(args.kills, 3)
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the crash test; exit status 1 on a violation."""
    args = parse(argv)
    try:
        report = run(args)
    except StateError as violation:
        print(f"VIOLATION: {violation}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report))
    else:
        for name, value in report.items():
            print(f"{name.replace('_', ' ')}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
