"""The mass-deprovisioning breaker, as an IdP and an administrator observe it over HTTP.

With the defaults (25%, at least 10 people, one hour) an organization of 40 active
members may lose 10 within the window: the 11th deprovisioning is held with 503.
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, select

from scimgate.audit import keys
from scimgate.audit.keys import KeyRing
from scimgate.config import Settings
from scimgate.domain import breaker, organizations, users
from scimgate.storage.database import Database
from scimgate.storage.models import DeprovisioningEvent, User, utcnow
from tests.audit.conftest import last_id, log_entries, payload
from tests.conftest import (
    SCIM_JSON,
    Tenant,
    TenantFactory,
    assert_scim_error,
    patch_body,
    user_body,
)

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
BULK_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"

# Every way an IdP turns a user inactive: the PATCH forms, then PUT.
DEACTIVATIONS: list[dict[str, Any]] = [
    patch_body({"op": "replace", "path": "active", "value": False}),
    patch_body({"op": "replace", "value": {"active": False}}),
    # Entra sends booleans as the strings "True"/"False" and capitalizes op.
    patch_body({"op": "Replace", "path": "active", "value": "False"}),
    patch_body({"op": "add", "path": "active", "value": False}),
]


@dataclass
class Clock:
    """The breaker's clock, moved forward by tests instead of waiting."""

    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, seconds: int) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def ring(settings: Settings) -> KeyRing:
    """The request log key ring of the test settings."""
    return keys.load_ring(settings)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """A clock the test can move past a window."""
    moved = Clock()
    monkeypatch.setattr(breaker, "now", moved)
    return moved


def provision(database: Database, tenant: Tenant, count: int, prefix: str = "u") -> list[str]:
    """Create ``count`` active users as POST /Users does, in one transaction; return their ids."""
    with database.transaction() as session:
        org = organizations.get(session, tenant.org_id)
        made = [
            users.create(session, org, User(user_name=f"{prefix}{n}@example.com", attributes={}))
            for n in range(count)
        ]
        return [user.id for user in made]


def deactivate(tenant: Tenant, user_id: str, form: int = 0) -> httpx2.Response:
    """Turn a user inactive in one of the IdP forms (``len(DEACTIVATIONS)`` is PUT)."""
    if form < len(DEACTIVATIONS):
        return tenant.patch(f"/Users/{user_id}", json=DEACTIVATIONS[form])
    current = tenant.get(f"/Users/{user_id}").json()
    return tenant.put(f"/Users/{user_id}", json=user_body(current["userName"], active=False))


def is_active(tenant: Tenant, user_id: str) -> bool:
    response = tenant.get(f"/Users/{user_id}")
    assert response.status_code == 200, response.text
    return bool(response.json()["active"])


def assert_held(response: httpx2.Response) -> str:
    """Check the 503 a held deprovisioning gets; return its detail."""
    body = assert_scim_error(response, 503)
    assert 1 <= int(response.headers["retry-after"]) <= breaker.MAX_RETRY_AFTER_SECONDS
    detail = str(body["detail"])
    assert "scimgate breaker approve" in detail
    return detail


def test_eleventh_of_forty_is_held_in_every_form(tenant: Tenant) -> None:
    """Ten deactivations of 40 pass in every IdP form; the 11th is held and changes nothing."""
    ids = []
    for n in range(40):
        response = tenant.post("/Users", json=user_body(f"u{n}@example.com"))
        assert response.status_code == 201, response.text
        ids.append(str(response.json()["id"]))
    forms = len(DEACTIVATIONS) + 1
    for n, user_id in enumerate(ids[:10]):
        response = deactivate(tenant, user_id, n % forms)
        assert response.status_code == 200, response.text
        assert response.json()["active"] is False
    for form in range(forms):
        detail = assert_held(deactivate(tenant, ids[10], form))
        assert is_active(tenant, ids[10])
    assert "11 of 40 active members (28%)" in detail
    assert "within the last hour" in detail
    assert "limit of 25% (10 people)" in detail
    assert "scimgate breaker approve acme" in detail


def test_while_held_other_changes_work(tenant: Tenant, database: Database) -> None:
    """Creates, reads, ordinary updates, re-activations and inactive deletes keep working."""
    ids = provision(database, tenant, 40)
    for user_id in ids[:10]:
        assert deactivate(tenant, user_id).status_code == 200
    assert_held(deactivate(tenant, ids[10]))

    assert tenant.post("/Users", json=user_body("new@example.com")).status_code == 201
    rename = patch_body({"op": "replace", "path": "displayName", "value": "Renamed"})
    assert tenant.patch(f"/Users/{ids[11]}", json=rename).status_code == 200
    # Sending active: true again (Okta sends the whole user) is no deprovisioning.
    still = tenant.put(f"/Users/{ids[12]}", json=user_body("u12@example.com", active=True))
    assert still.status_code == 200
    group = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G"}
    assert tenant.post("/Groups", json=group).status_code == 201
    reactivate = patch_body({"op": "replace", "path": "active", "value": True})
    assert tenant.patch(f"/Users/{ids[0]}", json=reactivate).json()["active"] is True
    # Deleting a member who is already inactive counts for nothing.
    assert tenant.delete(f"/Users/{ids[1]}").status_code == 204

    assert_held(tenant.delete(f"/Users/{ids[10]}"))
    assert is_active(tenant, ids[10])
    assert tenant.get("/Users", params={"filter": "active eq false"}).json()["totalResults"] == 8


def test_deleting_active_members_counts(tenant: Tenant, database: Database) -> None:
    """DELETE of active members counts like deactivation: the 11th delete of 40 is held."""
    ids = provision(database, tenant, 40)
    for user_id in ids[:10]:
        assert tenant.delete(f"/Users/{user_id}").status_code == 204
    assert "11 of 40" in assert_held(tenant.delete(f"/Users/{ids[10]}"))
    assert tenant.get(f"/Users/{ids[10]}").status_code == 200
    assert_held(deactivate(tenant, ids[11]))


def test_same_member_again_is_not_counted_twice(tenant: Tenant, database: Database) -> None:
    """A member deactivated, re-activated and deactivated again counts once."""
    ids = provision(database, tenant, 40)
    reactivate = patch_body({"op": "replace", "path": "active", "value": True})
    for _ in range(3):
        assert deactivate(tenant, ids[0]).status_code == 200
        assert tenant.patch(f"/Users/{ids[0]}", json=reactivate).status_code == 200
    for user_id in ids[1:10]:
        assert deactivate(tenant, user_id).status_code == 200
    assert deactivate(tenant, ids[0]).status_code == 200
    assert "11 of 40" in assert_held(deactivate(tenant, ids[10]))


def test_minimum_lets_a_small_organization_offboard(tenant: Tenant, database: Database) -> None:
    """An organization of 10 can deactivate or delete every member: the minimum always passes."""
    ids = provision(database, tenant, 10)
    for user_id in ids[:5]:
        assert deactivate(tenant, user_id).status_code == 200
    for user_id in ids[5:]:
        assert tenant.delete(f"/Users/{user_id}").status_code == 204
    assert tenant.get("/Users").json()["totalResults"] == 5


def test_share_of_a_large_organization(tenant: Tenant, database: Database) -> None:
    """Past the minimum the share decides: 12 of 50 (25% is 12.5) pass, the 13th is held."""
    ids = provision(database, tenant, 50)
    for user_id in ids[:12]:
        assert deactivate(tenant, user_id).status_code == 200
    assert "13 of 50 active members (26%)" in assert_held(deactivate(tenant, ids[12]))


def test_window_moving_on_closes_the_breaker(
    tenant: Tenant, database: Database, clock: Clock
) -> None:
    """Once the counted deprovisionings are older than the window, deprovisioning passes again."""
    ids = provision(database, tenant, 40)
    for user_id in ids[:10]:
        assert deactivate(tenant, user_id).status_code == 200
    assert_held(deactivate(tenant, ids[10]))
    clock.advance(3000)
    assert_held(deactivate(tenant, ids[10]))
    clock.advance(700)
    assert deactivate(tenant, ids[10]).status_code == 200
    # The new window counts from zero: of the 30 members active as it began, 10 may go.
    for user_id in ids[11:20]:
        assert deactivate(tenant, user_id).status_code == 200
    assert_held(deactivate(tenant, ids[20]))


def test_other_organizations_are_unaffected(make_tenant: TenantFactory, database: Database) -> None:
    """One organization's held deprovisioning neither holds nor counts another's."""
    acme, globex = make_tenant("acme"), make_tenant("globex")
    acme_ids, globex_ids = provision(database, acme, 40), provision(database, globex, 40)
    for user_id in acme_ids[:10]:
        assert deactivate(acme, user_id).status_code == 200
    assert_held(deactivate(acme, acme_ids[10]))
    for user_id in globex_ids[:10]:
        assert deactivate(globex, user_id).status_code == 200
    # The other organization's id is 404 there, whatever the breaker says.
    assert globex.delete(f"/Users/{acme_ids[11]}").status_code == 404
    assert_held(deactivate(globex, globex_ids[10]))


def _bulk_deactivations(ids: list[str]) -> dict[str, Any]:
    operation = {"op": "replace", "path": "active", "value": False}
    return {
        "schemas": [BULK_URN],
        "Operations": [
            {"method": "PATCH", "path": f"/Users/{user_id}", "data": patch_body(operation)}
            for user_id in ids
        ],
    }


def test_bulk_holds_the_operations_past_the_limit(
    tenant: Tenant, database: Database, ring: KeyRing
) -> None:
    """In a Bulk of 20 deactivations the first 10 apply; the rest get 503 each, and one warning."""
    ids = provision(database, tenant, 40)
    before = last_id(database)
    response = tenant.post("/Bulk", json=_bulk_deactivations(ids[:20]))
    assert response.status_code == 200, response.text
    results = response.json()["Operations"]
    assert [r["status"] for r in results] == ["200"] * 10 + ["503"] * 10
    assert "scimgate breaker approve acme" in results[10]["response"]["detail"]
    found = tenant.get("/Users", params={"filter": "active eq false", "count": 0})
    assert found.json()["totalResults"] == 10
    entry = log_entries(database, before)[0]
    assert entry.resource_type == "Bulk"
    warnings = payload(ring, entry)["warnings"]
    assert len(warnings) == 1 and "breaker tripped" in warnings[0]
    assert "11 of 40" in warnings[0]


def test_the_request_that_trips_is_named_in_the_request_log(
    tenant: Tenant, database: Database, ring: KeyRing
) -> None:
    """The first held request's log entry says the breaker tripped; later held ones are 503s."""
    ids = provision(database, tenant, 40)
    for user_id in ids[:10]:
        deactivate(tenant, user_id)
    before = last_id(database)
    assert_held(deactivate(tenant, ids[10]))
    assert_held(tenant.delete(f"/Users/{ids[11]}"))
    tripped, held = log_entries(database, before)
    assert (tripped.status, held.status) == (503, 503)
    [warning] = payload(ring, tripped)["warnings"]
    assert warning.startswith("Mass-deprovisioning breaker tripped: this request would make 11")
    assert payload(ring, held)["warnings"] == []
    assert "scimgate breaker approve" in payload(ring, held)["response"]["body"]["detail"]


def test_events_outside_the_window_are_not_kept(
    tenant: Tenant, database: Database, clock: Clock
) -> None:
    """Only the current window's deprovisionings are stored."""
    ids = provision(database, tenant, 40)
    for user_id in ids[:5]:
        deactivate(tenant, user_id)
    clock.advance(3601)
    deactivate(tenant, ids[5])
    with database.transaction(write=False) as session:
        kept = session.scalar(select(func.count()).select_from(DeprovisioningEvent))
    assert kept == 1


# --- concurrency over a live server --------------------------------------------------------


def _http(server_url: str, tenant: Tenant) -> httpx2.Client:
    headers = {"Authorization": f"Bearer {tenant.token}", "Content-Type": SCIM_JSON}
    return httpx2.Client(base_url=server_url, headers=headers, timeout=60)


def test_concurrent_deprovisioning_never_passes_the_limit(
    server_url: str, tenant: Tenant, database: Database
) -> None:
    """Two clients deactivating and deleting 15 members each at once: exactly 10 get through."""
    live_ids = provision(database, tenant, 40)
    operation = patch_body({"op": "replace", "path": "active", "value": False})

    def deprovision(user_ids: list[str]) -> list[int]:
        statuses = []
        with _http(server_url, tenant) as http:
            for n, user_id in enumerate(user_ids):
                if n % 2:
                    response = http.delete(f"/Users/{user_id}")
                else:
                    response = http.patch(f"/Users/{user_id}", json=operation)
                statuses.append(response.status_code)
        return statuses

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(deprovision, [live_ids[:30:2], live_ids[1:30:2]]))
    statuses = [status for answer in answers for status in answer]
    passed = [status for status in statuses if status in (200, 204)]
    assert len(passed) == 10, statuses
    assert statuses.count(503) == 20, statuses
    with database.transaction(write=False) as session:
        active = session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.org_id == tenant.org_id, User.active.is_not(False))
        )
    assert active == 30
