"""The ``scimgate`` command line: serve, migrate, and manage organizations.

Each command owns its transaction and calls the same domain functions as the SCIM
API; the administration commands (flags, directory, role, team, members) live in
``scimgate.admin.commands`` and share their operations with the admin API.
``--json`` prints one JSON document for scripts instead of text for people.
"""

import argparse
import copy
import json
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from scimgate.admin import accounts as admin_accounts
from scimgate.admin import commands as admin_commands
from scimgate.admin import operations as admin_ops
from scimgate.admin import text
from scimgate.admin import views as admin_views
from scimgate.audit import keys, queries, retention, rotation
from scimgate.config import Settings
from scimgate.domain import admins, breaker, organizations, sso, tokens
from scimgate.errors import NotFoundError, ScimError
from scimgate.storage import backups
from scimgate.storage.database import Database

DEMO_ORG = "demo"
DEMO_ADMIN = "admin"

Handler = Callable[[argparse.Namespace, Settings], Any]


def _database(settings: Settings) -> Database:
    return Database(settings.database_url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms)


def _run(settings: Settings, work: Callable[[Session], Any]) -> Any:
    db = _database(settings)
    try:
        db.upgrade()
        with db.transaction() as session:
            return work(session)
    finally:
        db.dispose()


def _transactional(factory: admin_commands.Factory) -> Handler:
    """A handler running the work ``factory`` builds from the arguments in one transaction."""
    return lambda args, settings: _run(settings, factory(args))


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> Any:
    db = _database(settings)
    try:
        db.upgrade()
    finally:
        db.dispose()
    return {"upgraded": True, "database": _safe_url(settings.database_url)}


def cmd_db_backup(args: argparse.Namespace, settings: Settings) -> Any:
    written = backups.backup(
        settings.database_url,
        Path(args.path),
        force=args.force,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
    )
    return {"backup": written.path, **_copy_view(written, settings)}


def cmd_db_restore(args: argparse.Namespace, settings: Settings) -> Any:
    written = backups.restore(
        Path(args.path),
        settings.database_url,
        force=args.force,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
    )
    return {"restored": written.path, **_copy_view(written, settings)}


def _copy_view(written: backups.Copy, settings: Settings) -> dict[str, Any]:
    return {
        "database": _safe_url(settings.database_url),
        "bytes": written.bytes,
        "revision": written.revision,
        "integrity": written.integrity,
    }


def cmd_org_create(args: argparse.Namespace, settings: Settings) -> Any:
    return _run(settings, lambda s: admin_views.org_status(organizations.create(s, args.name)))


def cmd_org_list(args: argparse.Namespace, settings: Settings) -> Any:
    return _run(
        settings, lambda s: [admin_views.org_status(org) for org in organizations.list_all(s)]
    )


def cmd_sso_configure(args: argparse.Namespace, settings: Settings) -> Any:
    if args.metadata_file:
        config = sso.parse_metadata(Path(args.metadata_file).read_bytes())
    elif args.entity_id and args.sso_url and args.cert_file:
        config = sso.build_settings(args.entity_id, args.sso_url, Path(args.cert_file).read_bytes())
    else:
        raise ScimError("Give --metadata-file, or all of --entity-id, --sso-url and --cert-file.")

    return _run(settings, lambda s: admin_ops.configure_sso(s, args.org, config))


def cmd_scim_switch(args: argparse.Namespace, settings: Settings) -> Any:
    def work(session: Session) -> Any:
        org = organizations.get(session, args.org)
        organizations.set_scim_enabled(org, args.action == "enable")
        return admin_views.org_status(org)

    return _run(settings, work)


def cmd_token(args: argparse.Namespace, settings: Settings) -> Any:
    def work(session: Session) -> Any:
        if args.action == "create":
            return admin_ops.issue_token(session, args.org)
        if args.action == "rotate":
            grace = args.grace_seconds
            if grace is None:
                grace = settings.token_grace_seconds
            return admin_ops.rotate_token(
                session, args.org, timedelta(seconds=grace), args.token_id
            )
        if args.action == "revoke":
            if not args.token_id:
                raise ScimError("token revoke needs the id of the token to revoke.")
            return admin_ops.revoke_token(session, args.org, args.token_id)
        return admin_ops.list_tokens(session, args.org)

    return _run(settings, work)


@dataclass(frozen=True)
class _Demo:
    """What quickstart prints: a fresh SCIM token and the demo administrator's password."""

    token: str
    admin_password: str


def _prepare_demo(session: Session) -> _Demo:
    """Create (once) the demo organization with SSO and SCIM on, and its administrator.

    Each run issues a fresh token and gives the administrator a fresh password, since
    neither is stored in a form that could be shown again.
    """
    org = organizations.find_by_name(session, DEMO_ORG) or organizations.create(session, DEMO_ORG)
    if org.sso is None:
        organizations.configure_sso(session, org, sso.demo_settings(DEMO_ORG))
    organizations.set_scim_enabled(org, True)
    password = secrets.token_urlsafe(12)
    try:
        account = admins.get(session, DEMO_ADMIN)
        admins.set_password(account, password)
    except NotFoundError:
        account = admins.create(session, DEMO_ADMIN, password)
    admins.grant(session, account, org)
    return _Demo(token=tokens.issue(session, org).secret, admin_password=password)


def cmd_quickstart(args: argparse.Namespace, settings: Settings) -> Any:
    settings = settings.model_copy(update={"demo": True})
    # Made here, once, before any worker starts: the demo request log key.
    keys.server_ring(settings)
    demo = _run(settings, _prepare_demo)
    host = "localhost" if args.host in ("0.0.0.0", "::") else args.host  # noqa: S104
    base = f"http://{host}:{args.port}/scim/v2"
    admin_url = f"http://{host}:{args.port}/admin"
    if args.json:
        shown = {
            "scim_base_url": base,
            "token": demo.token,
            "admin_url": admin_url,
            "admin_username": DEMO_ADMIN,
            "admin_password": demo.admin_password,
        }
        print(json.dumps(shown), flush=True)
    else:
        print(f"scimgate demo organization {DEMO_ORG!r} is ready.")
        print(f"SCIM base URL: {base}")
        print(f"SCIM token:    {demo.token}")
        print(f"Admin web UI:  {admin_url}  (name {DEMO_ADMIN}, password {demo.admin_password})")
        print("Example:")
        print(f"  curl -H 'Authorization: Bearer {demo.token}' {base}/Users", flush=True)
    _serve(settings, args.host, args.port, workers=1)
    return None


def cmd_serve(args: argparse.Namespace, settings: Settings) -> Any:
    keys.server_ring(settings)  # refuse to start without a usable request log key
    cmd_db_upgrade(args, settings)
    _serve(settings, args.host, args.port, args.workers)
    return None


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    import uvicorn  # imported here: only the serving commands need it
    from uvicorn.supervisors import Multiprocess

    # Workers are separate processes that build their own app from the environment.
    os.environ["SCIMGATE_DATABASE_URL"] = settings.database_url
    os.environ["SCIMGATE_DEMO"] = "true" if settings.demo else "false"
    config = uvicorn.Config(
        "scimgate.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        log_config=_log_config(),
        proxy_headers=True,
    )
    server = uvicorn.Server(config)
    if workers <= 1:
        # After a graceful shutdown uvicorn raises the signal that asked for it again,
        # which would end the process as killed by SIGTERM. A handler of ours takes it
        # instead: a requested stop that finished its requests exits 0, as the
        # supervisor of --workers N does.
        signal.signal(signal.SIGTERM, lambda *_: None)
        server.run()
        return
    # uvicorn's own listening socket for workers is opened with protocol 0, so asyncio
    # does not set TCP_NODELAY on the connections it accepts, and every keep-alive
    # response then waits for the peer's delayed ACK (about 40 ms; uvicorn issue
    # #3149). Opened here as an explicit TCP socket, the workers' connections get it.
    sock = _listening_socket(host, port)
    Multiprocess(config, sockets=[sock]).run()


class AccessLogQueryFilter(logging.Filter):
    """Keep only the parameter names of the query in uvicorn's access log lines.

    Query values are filters on userName and emails (personal data), cursors, and at
    times a token a client put in the URL (RFC 6750 §2.3, which scimgate does not
    accept); the encrypted request log keeps them, the plain server log does not.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn's access record: (client, method, path with query, version, status).
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            path, question, query = args[2].partition("?")
            if question:
                names = (part.partition("=")[0] for part in query.split("&") if part)
                record.args = (*args[:2], f"{path}?{'&'.join(names)}", *args[3:])
        return True


def _log_config() -> dict[str, Any]:
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    # By import path: each uvicorn worker process builds its own logging from it.
    config["filters"] = {"query_names": {"()": f"{__name__}.AccessLogQueryFilter"}}
    config["handlers"]["access"]["filters"] = ["query_names"]
    return config


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _with_database(settings: Settings, work: Callable[[Database], Any]) -> Any:
    """Run ``work`` on a migrated database; it manages its own transactions."""
    db = _database(settings)
    try:
        db.upgrade()
        return work(db)
    finally:
        db.dispose()


def cmd_logs_list(args: argparse.Namespace, settings: Settings) -> Any:
    wanted = queries.parse_filter(
        status=args.status,
        resource=args.resource,
        event=args.event,
        since=args.since,
        until=args.until,
        target=args.target,
    )
    ring = keys.load_ring(settings)
    return _run(
        settings, lambda s: admin_ops.list_logs(s, args.org, ring, wanted, args.limit, args.offset)
    )


def cmd_logs_show(args: argparse.Namespace, settings: Settings) -> Any:
    ring = keys.load_ring(settings)
    view = _run(settings, lambda s: admin_ops.show_log(s, None, args.entry_id, ring))
    if args.json:
        return view
    print(json.dumps(view, indent=2, ensure_ascii=False))
    return None


def cmd_logs_rekey(args: argparse.Namespace, settings: Settings) -> Any:
    ring = keys.load_ring(settings)
    return asdict(_with_database(settings, lambda db: rotation.rekey(db, ring)))


def cmd_logs_purge(args: argparse.Namespace, settings: Settings) -> Any:
    return {"purged": _with_database(settings, retention.purge)}


def cmd_logs_retention(args: argparse.Namespace, settings: Settings) -> Any:
    return _run(settings, lambda s: admin_ops.log_retention(s, args.org, args.days))


def cmd_logs_key(args: argparse.Namespace, settings: Settings) -> Any:
    entry = keys.new_key_entry(args.key_id)
    if args.json:
        return {"key": entry}
    print(entry)  # bare, to paste into SCIMGATE_LOG_KEYS
    return None


def _register_logs(commands: Any, add: Callable[..., Any]) -> None:
    logs = commands.add_parser("logs", help="the encrypted SCIM request log")
    sub = logs.add_subparsers(dest="logs_cmd", required=True)
    listing = add("list", cmd_logs_list, sub, help="an organization's entries, newest first")
    listing.add_argument("org")
    listing.add_argument("--status", help="a class such as 4xx or a code such as 404")
    listing.add_argument("--resource", help="User, Group, Bulk, Search, Discovery or Me")
    listing.add_argument("--event", help="create, replace, patch, delete, read, list, ...")
    listing.add_argument("--since", help="ISO 8601 time (UTC unless it says otherwise)")
    listing.add_argument("--until", help="ISO 8601 time, exclusive")
    listing.add_argument("--target", help="the id of the user or group affected")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--offset", type=int, default=0)
    add("show", cmd_logs_show, sub, help="one entry, decrypted").add_argument("entry_id")
    add("rekey", cmd_logs_rekey, sub, help="re-encrypt every entry under the newest key")
    add("purge", cmd_logs_purge, sub, help="delete entries past their retention")
    retention_cmd = add("retention", cmd_logs_retention, sub, help="show or set retention")
    retention_cmd.add_argument("org")
    retention_cmd.add_argument("days", type=int, nargs="?", help="days to keep entries")
    key = add("key", cmd_logs_key, sub, help="print a new key ring entry id:key")
    key.add_argument("key_id", nargs="?", default="k1", help="the new key's id")


def cmd_breaker_status(args: argparse.Namespace, settings: Settings) -> Any:
    defaults = breaker.Limits.from_settings(settings)
    return _run(settings, lambda s: admin_ops.breaker_status(s, args.org, defaults))


def cmd_breaker_approve(args: argparse.Namespace, settings: Settings) -> Any:
    defaults = breaker.Limits.from_settings(settings)
    return _run(settings, lambda s: admin_ops.approve_breaker(s, args.org, defaults, args.seconds))


def cmd_breaker_set(args: argparse.Namespace, settings: Settings) -> Any:
    changes: dict[str, float | int | None] = {}
    if args.server_defaults:
        changes = {"share": None, "min_people": None, "window_seconds": None}
    for name in ("share", "min_people", "window_seconds"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    defaults = breaker.Limits.from_settings(settings)
    return _run(settings, lambda s: admin_ops.configure_breaker(s, args.org, defaults, changes))


def _register_breaker(commands: Any, add: Callable[..., Any]) -> None:
    group = commands.add_parser("breaker", help="the mass-deprovisioning breaker")
    sub = group.add_subparsers(dest="breaker_cmd", required=True)
    add("status", cmd_breaker_status, sub, help="limits, counts and state").add_argument("org")
    approve = add("approve", cmd_breaker_approve, sub, help="let held deprovisioning through")
    approve.add_argument("org")
    approve.add_argument(
        "--seconds", type=int, default=None, help="how long the approval lasts (one window)"
    )
    setting = add("set", cmd_breaker_set, sub, help="an organization's own limits")
    setting.add_argument("org")
    setting.add_argument("--share", type=float, help="0 to 1; 0 or 1 turns the breaker off")
    setting.add_argument("--min-people", type=int, dest="min_people")
    setting.add_argument("--window-seconds", type=int, dest="window_seconds")
    setting.add_argument(
        "--server-defaults", action="store_true", help="follow the server's limits again"
    )


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser = argparse.ArgumentParser(prog="scimgate", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def add(name: str, handler: Handler, parent: Any = commands, **kwargs: Any) -> Any:
        sub = parent.add_parser(name, parents=[common], **kwargs)
        sub.set_defaults(handler=handler)
        return sub

    serve = add("serve", cmd_serve, help="apply migrations and serve the SCIM API")
    quick = add("quickstart", cmd_quickstart, help="demo organization, token, and serve")
    for sub in (serve, quick):
        sub.add_argument("--host", default="127.0.0.1")
        sub.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)

    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db", required=True)
    add("upgrade", cmd_db_upgrade, parent=db, help="apply migrations")
    for name, handler, what in (
        ("backup", cmd_db_backup, "write a consistent copy of the SQLite database to PATH"),
        ("restore", cmd_db_restore, "replace the SQLite database with the backup at PATH"),
    ):
        copy_cmd = add(name, handler, parent=db, help=what)
        copy_cmd.add_argument("path", metavar="PATH")
        copy_cmd.add_argument("--force", action="store_true", help="overwrite an existing file")

    org = commands.add_parser("org", help="organizations").add_subparsers(
        dest="org_cmd", required=True
    )
    add("create", cmd_org_create, parent=org).add_argument("name")
    add("list", cmd_org_list, parent=org)

    sso_cmds = commands.add_parser("sso", help="SSO configuration").add_subparsers(required=True)
    configure = add("configure", cmd_sso_configure, parent=sso_cmds)
    configure.add_argument("org")
    configure.add_argument("--metadata-file")
    configure.add_argument("--entity-id")
    configure.add_argument("--sso-url")
    configure.add_argument("--cert-file")

    scim = add("scim", cmd_scim_switch, help="switch SCIM on or off")
    scim.add_argument("action", choices=["enable", "disable"])
    scim.add_argument("org")

    token = add("token", cmd_token, help="SCIM bearer tokens")
    token.add_argument("action", choices=["create", "rotate", "revoke", "list"])
    token.add_argument("org")
    token.add_argument("token_id", nargs="?", help="the token to revoke (or to rotate)")
    token.add_argument("--grace-seconds", type=int, default=None)

    def add_admin(name: str, factory: admin_commands.Factory, parent: Any, **kwargs: Any) -> Any:
        return add(name, _transactional(factory), parent, **kwargs)

    admin_commands.register(commands, add_admin)
    admin_accounts.register(commands, add_admin)
    _register_logs(commands, add)
    _register_breaker(commands, add)
    return parser


def _print(result: Any, as_json: bool) -> None:
    if result is None:
        return
    if as_json:
        print(json.dumps(result, indent=None))
        return
    for line in text.lines(result):
        print(line)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; exit status 0 on success, 1 on an error it explains."""
    args = build_parser().parse_args(argv)
    settings = Settings()
    try:
        result = args.handler(args, settings)
    except ScimError as exc:
        if args.json:
            print(json.dumps({"error": exc.detail, "status": exc.status}))
        else:
            print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _print(result, args.json)
    return 0
