"""``scimgate admin``: the accounts that sign in to the admin web UI.

The password is never an argument (it would stay in shell history and show in
``ps``): it is asked twice on a terminal, or read as one line from standard input
with ``--password-stdin`` (for provisioning scripts).
"""

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from scimgate.domain import admins, organizations
from scimgate.errors import InvalidValueError
from scimgate.storage.models import AdminAccount

Work = Callable[[Session], Any]


def read_password(from_stdin: bool) -> str:
    """The new password, from standard input or asked twice on the terminal."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise InvalidValueError("The two passwords differ; nothing was changed.")
    return first


def view(session: Session, account: AdminAccount) -> dict[str, Any]:
    """An administrator as the command prints it (never the hash)."""

    def stamp(value: Any) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": account.id,
        "username": account.username,
        "organizations": [org.name for org in admins.organizations_of(session, account)],
        "locked_until": stamp(account.locked_until),
        "last_login_at": stamp(account.last_login_at),
        "created_at": stamp(account.created_at),
    }


def create(args: argparse.Namespace) -> Work:
    """Create an administrator of the ``--org`` organizations."""
    admins.check_password(password := read_password(args.password_stdin))

    def work(session: Session) -> Any:
        orgs = [organizations.get(session, ref) for ref in args.org]
        account = admins.create(session, args.username, password)
        for org in orgs:
            admins.grant(session, account, org)
        return view(session, account)

    return work


def grant(args: argparse.Namespace) -> Work:
    """Let an administrator administer one more organization (or one fewer)."""

    def work(session: Session) -> Any:
        account = admins.get(session, args.username)
        org = organizations.get(session, args.org)
        (admins.grant if args.action == "grant" else admins.revoke)(session, account, org)
        return view(session, account)

    return work


def password(args: argparse.Namespace) -> Work:
    """Set a new password; it lifts a lockout and signs the administrator out everywhere."""
    new = read_password(args.password_stdin)

    def work(session: Session) -> Any:
        account = admins.get(session, args.username)
        admins.set_password(account, new)
        admins.end_sessions(session, account)
        return view(session, account)

    return work


def unlock(args: argparse.Namespace) -> Work:
    """Lift a lockout after repeated failed sign-ins."""

    def work(session: Session) -> Any:
        account = admins.get(session, args.username)
        admins.unlock(account)
        return view(session, account)

    return work


def listing(args: argparse.Namespace) -> Work:
    """Every administrator."""
    return lambda session: [view(session, a) for a in admins.list_all(session)]


def register(commands: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``scimgate admin ...`` to the sub-commands ``commands``."""
    parent = commands.add_parser("admin", help="accounts of the admin web UI")
    sub = parent.add_subparsers(dest="admin_cmd", required=True)
    made = add("create", create, sub, help="create an administrator")
    made.add_argument("username")
    made.add_argument(
        "--org", action="append", default=[], help="an organization it administers (repeatable)"
    )
    changed_password = add("password", password, sub, help="set a new password")
    changed_password.add_argument("username")
    for command in (made, changed_password):
        command.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input"
        )
    for action in ("grant", "revoke"):
        changed = add(action, grant, sub, help=f"{action} an organization")
        changed.add_argument("username")
        changed.add_argument("org")
        changed.set_defaults(action=action)
    add("unlock", unlock, sub, help="lift a lockout").add_argument("username")
    add("list", listing, sub, help="list administrators")
