"""The reference server: scim2-server over its in-memory storage, preloaded, then served.

The benchmark starts it as ``python -m bench.reference --port P --users N ...``. It fills
scim2-server's ``InMemoryStorage`` with the users and groups ``bench.load`` gives
scimgate (same userNames, names, work email, group names, one large group), writes
their ids to ``--ids`` for the workloads, then serves scim2-server's ASGI application
with uvicorn, as scimgate is served: one process, access log on.

Two settings differ from the ``scim2-server`` command's defaults, so that the same
workloads can run: cursor pagination is announced (the command leaves it off), and a
bearer token is required (the command accepts any request without ``--bearer-token``).
"""

import argparse
import json
import secrets
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from scim2_models import Pagination, ScimProvider, UnauthorizedException
from scim2_server.applications.asgi import ASGIApplication
from scim2_server.memory import AsyncInMemoryStorage, InMemoryStorage
from scim2_server.requests import ScimRequest
from scim2_server.service import ScimService
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

from .load import SMALL_GROUP

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


class TokenApplication(ASGIApplication):
    """scim2-server's ASGI application, accepting one bearer token."""

    def __init__(self, storage: InMemoryStorage, provider: ScimProvider, token: str) -> None:
        # The cursor secret is drawn here: one process serves every cursor it issues.
        service = ScimService(provider, secret=secrets.token_urlsafe(32))
        super().__init__(AsyncInMemoryStorage(storage), provider, service)
        self.token = token

    def check_auth(self, request: ScimRequest) -> None:
        """Refuse a request without the bearer token (scim2-server's extension point)."""
        scheme, _, given = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given, self.token):
            raise UnauthorizedException


def provider() -> ScimProvider:
    """scim2-server's default schemas and configuration, with cursor pagination on."""
    config = load_default_service_provider_config()
    config.pagination = Pagination(cursor=True, index=True)
    return ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )


def preload(
    storage: InMemoryStorage, scim: ScimProvider, args: argparse.Namespace
) -> dict[str, Any]:
    """Fill the storage as bench.load fills scimgate's database; return the ids."""
    user_model, group_model = scim.model_for("User"), scim.model_for("Group")
    assert user_model is not None and group_model is not None
    now = datetime.now(UTC)

    def meta(resource_type: str) -> dict[str, Any]:
        return {"resourceType": resource_type, "created": now, "lastModified": now,
                "version": storage.next_version()}  # fmt: skip

    resources: list[Any] = []
    for i in range(args.users):
        name = f"{args.tag}.user{i}@example.com"
        resources.append(
            user_model.model_validate(
                {"schemas": [USER], "id": uuid.uuid4().hex, "userName": name,
                 "name": {"givenName": "User", "familyName": str(i)},
                 "displayName": f"User {i}", "active": True,
                 "emails": [{"value": name, "type": "work", "primary": True}],
                 "meta": meta("User")}
            )
        )  # fmt: skip
    user_ids = [resource.id for resource in resources]
    group_ids = [uuid.uuid4().hex for _ in range(max(args.groups, 1))]
    for i, group_id in enumerate(group_ids):
        members = (
            user_ids[: args.group_members]
            if i == 0
            else user_ids[:SMALL_GROUP]
            if i == len(group_ids) - 1
            else []
        )
        resources.append(
            group_model.model_validate(
                {"schemas": [GROUP], "id": group_id, "displayName": f"{args.tag} group {i}",
                 "members": [{"value": member} for member in members] or None,
                 "meta": meta("Group")}
            )
        )  # fmt: skip
    # The storage's own bulk setter: it indexes the resources once, without the
    # per-write copies and uniqueness checks of create().
    storage.resources = resources
    return {
        "user_ids": user_ids,
        "group_ids": group_ids,
        "big_group_id": group_ids[0],
        "small_group_id": group_ids[-1],
        "big_group_size": min(args.group_members, len(user_ids)),
    }


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line the benchmark gives the launcher."""
    parser = argparse.ArgumentParser(prog="python -m bench.reference", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--groups", type=int, required=True)
    parser.add_argument("--group-members", type=int, required=True)
    parser.add_argument("--tag", required=True, help="prefix of the userNames")
    parser.add_argument("--token", required=True, help="the bearer token to accept")
    parser.add_argument("--ids", type=Path, required=True, help="where to write the ids")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Preload, write the ids, then serve until terminated."""
    args = parse(argv)
    began = time.perf_counter()
    scim = provider()
    storage = InMemoryStorage()
    ids = preload(storage, scim, args)
    ids["load_seconds"] = time.perf_counter() - began
    # Written before the port opens: the benchmark reads it once the server answers.
    args.ids.write_text(json.dumps(ids))
    app = TokenApplication(storage, scim, args.token)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="info")


if __name__ == "__main__":
    main(sys.argv[1:])
