"""The public scim2-tester conformance checker, run against the live server.

scim2-tester reads the discovery endpoints, then creates, reads, lists, searches,
replaces, patches and deletes Users and Groups with generated values, and checks each
answer against RFC 7643/7644. Every check it runs must pass, on both databases.
"""

import uuid
from typing import Any

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import EnterpriseUser, Group, ResourceType, ScimProvider, User
from scim2_tester import Status, check_server

from scimgate.domain import breaker, organizations
from scimgate.storage.database import Database
from tests.conftest import Tenant


class _FreshEmails(list[str]):
    """An example list that yields a new address each time it is read.

    The checker fills userName from a field's examples when it has some; ours must be
    an email address (the product's rule), and unique.
    """

    def __getitem__(self, index: Any) -> Any:
        return f"{uuid.uuid4().hex}@example.com"


class _ConformanceUser(User):  # type: ignore[type-arg]
    """The core User, whose generated userName is an email address."""


_ConformanceUser.model_fields["user_name"].examples = _FreshEmails(["placeholder@example.com"])


def test_scim2_tester_passes_every_check(
    server_url: str, tenant: Tenant, database: Database
) -> None:
    """Every check of scim2-tester succeeds against the running server."""
    # The checker deletes most of the users it creates within seconds, which is what
    # the mass-deprovisioning breaker exists to hold: it is off for this organization.
    with database.transaction() as session:
        org = organizations.get(session, tenant.org_id)
        breaker.configure(session, org, breaker.DEFAULT_LIMITS, {"share": 0})
    provider = ScimProvider(
        [_ConformanceUser, EnterpriseUser, Group],
        resource_types=[
            ResourceType.from_resource(User[EnterpriseUser]),
            ResourceType.from_resource(Group),
        ],
    )
    headers = {"Authorization": f"Bearer {tenant.token}"}
    with httpx2.Client(base_url=server_url, headers=headers, timeout=30) as http:
        results = check_server(SyncSCIMClient(http, provider=provider))
    failures = [
        f"{result.title} ({result.resource_type}): {result.reason}"
        for result in results
        if result.status != Status.SUCCESS
    ]
    assert len(results) > 100
    assert failures == []
