"""The administration commands of ``scimgate``: flags, directory, role, team and members.

Each command is a factory turning its parsed arguments into work on a session; the
command line runs that work in one transaction (``cli._run``), exactly as the admin
API runs the same ``operations`` in a request's transaction.
"""

import argparse
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from . import operations as ops
from .operations import OrgChanges

Work = Callable[[Session], Any]
Factory = Callable[[argparse.Namespace], Work]
# add(name, factory, parent, **add_parser_kwargs) -> the new sub-parser
Add = Callable[..., argparse.ArgumentParser]

_ON_OFF = ("on", "off")


def _call(action: Callable[..., Any], *names: str, **keywords: str) -> Factory:
    """A factory passing the arguments ``names`` (and ``keywords``) to ``action``."""

    def factory(args: argparse.Namespace) -> Work:
        values = [getattr(args, name) for name in names]
        options = {key: getattr(args, name) for key, name in keywords.items()}
        return lambda session: action(session, *values, **options)

    return factory


def _flags(args: argparse.Namespace) -> Work:
    chosen = {flag: getattr(args, flag) for flag in ops.FLAGS}
    changes = OrgChanges(flags={f: v == "on" for f, v in chosen.items() if v is not None})
    return lambda session: ops.update_org(session, args.org, changes)


def _google(args: argparse.Namespace) -> Work:
    changes = OrgChanges(switches={"google_directory_sync": args.action == "enable"})
    return lambda session: ops.update_org(session, args.org, changes)


def register(commands: Any, add: Add) -> None:
    """Add the admin commands to the ``scimgate`` sub-commands ``commands``."""
    flags = add("flags", _flags, commands, help="show or set an organization's feature flags")
    flags.add_argument("org")
    for flag in ops.FLAGS:
        flags.add_argument(f"--{flag.replace('_', '-')}", choices=_ON_OFF, dest=flag)

    directory = commands.add_parser("directory", help="the directory a user source syncs from")
    google = add("google", _google, directory.add_subparsers(dest="directory", required=True))
    google.add_argument("action", choices=["enable", "disable"])
    google.add_argument("org")

    _register_roles(commands, add)
    _register_teams(commands, add)
    members = add("members", _call(ops.list_members, "org", "limit", "offset"), commands)
    members.add_argument("org")
    members.add_argument("--limit", type=int, default=100)
    members.add_argument("--offset", type=int, default=0)


def _register_roles(commands: Any, add: Add) -> None:
    role = commands.add_parser("role", help="roles and the SCIM groups that grant them")
    roles = role.add_subparsers(dest="role_cmd", required=True)
    add("list", _call(ops.list_roles, "org"), roles).add_argument("org")
    create = add("create", _call(ops.create_role, "org", "name", "weight"), roles)
    weight = add(
        "weight", _call(ops.set_role_weight, "org", "name", "weight", dry_run="dry_run"), roles
    )
    for sub in (create, weight):
        sub.add_argument("org")
        sub.add_argument("name")
        sub.add_argument("weight", type=int)
    default = add("default", _call(ops.set_default_role, "org", "name", dry_run="dry_run"), roles)
    default.add_argument("org")
    default.add_argument("name")
    mapping = add("map", _call(ops.map_group, "org", "group_id", "role", dry_run="dry_run"), roles)
    unmap = add("unmap", _call(_unmap, "org", "group_id", dry_run="dry_run"), roles)
    for sub in (mapping, unmap):
        sub.add_argument("org")
        sub.add_argument("group_id")
    mapping.add_argument("role")
    for sub in (weight, default, mapping, unmap):
        sub.add_argument("--dry-run", action="store_true", help="show the changes, write nothing")


def _unmap(session: Session, org: str, group_id: str, *, dry_run: bool) -> Any:
    return ops.map_group(session, org, group_id, None, dry_run=dry_run)


def _register_teams(commands: Any, add: Add) -> None:
    team = commands.add_parser("team", help="teams and their hand-made members")
    teams = team.add_subparsers(dest="team_cmd", required=True)
    add("list", _call(ops.list_teams, "org"), teams).add_argument("org")
    create = add("create", _call(ops.create_team, "org", "name"), teams)
    create.add_argument("org")
    create.add_argument("name")
    show = add("show", _call(ops.show_team, "org", "team"), teams)
    add_member = add("add", _call(ops.add_to_team, "org", "team", "user_id"), teams)
    remove = add("remove", _call(ops.remove_from_team, "org", "team", "user_id"), teams)
    for sub in (show, add_member, remove):
        sub.add_argument("org")
        sub.add_argument("team", help="the team's id or name")
    for sub in (add_member, remove):
        sub.add_argument("user_id")
