"""Provisioning end to end: what SCIM pushes becomes persons, team memberships and roles.

The IdP's side goes through the SCIM API; the administrator's side (feature flags,
hand-made teams, role mappings) through the domain functions, each in its own
transaction; the outcome is read back from the database.
"""

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scimgate.domain import groups as scim_groups
from scimgate.domain import organizations, persons, role_assignment, roles, teams
from scimgate.errors import NotFoundError
from scimgate.storage.database import Database
from scimgate.storage.models import Base, Organization, Person, Role, Team, TeamMember, User
from tests.conftest import (
    Tenant,
    TenantFactory,
    assert_scim_error,
    group_body,
    patch_body,
    user_body,
)

# A team membership's grants, as (via_scim, manual).
Grants = tuple[bool, bool]
BY_SCIM: Grants = (True, False)
BY_HAND: Grants = (False, True)
BY_BOTH: Grants = (True, True)

TEAMS = "sync_groups_to_teams"
ROLES = "assign_roles_from_groups"
PHONES = "phone_sync"


# The IdP's side: SCIM requests.


def add_user(tenant: Tenant, user_name: str, **extra: Any) -> str:
    """POST a user; return its id."""
    response = tenant.post("/Users", json=user_body(user_name, **extra))
    assert response.status_code == 201, response.text
    user_id: str = response.json()["id"]
    return user_id


def fetch_user(tenant: Tenant, user_id: str) -> dict[str, Any]:
    """GET a user's SCIM representation."""
    response = tenant.get(f"/Users/{user_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def set_active(tenant: Tenant, user_id: str, active: bool) -> None:
    """PATCH a user's active flag."""
    operation = {"op": "replace", "path": "active", "value": active}
    response = tenant.patch(f"/Users/{user_id}", json=patch_body(operation))
    assert response.status_code == 200, response.text
    assert response.json()["active"] is active


def add_group(tenant: Tenant, name: str, members: list[str] | None = None) -> str:
    """POST a group with these members (user or group ids); return its id."""
    response = tenant.post("/Groups", json=group_body(name, members))
    assert response.status_code == 201, response.text
    group_id: str = response.json()["id"]
    return group_id


def patch_group(tenant: Tenant, group_id: str, *operations: dict[str, Any]) -> None:
    """PATCH a group and expect success: 204 without a body (RFC 7644 §3.5.2)."""
    response = tenant.patch(f"/Groups/{group_id}", json=patch_body(*operations))
    assert response.status_code == 204, response.text
    assert response.content == b""


def add_members(tenant: Tenant, group_id: str, *member_ids: str) -> None:
    """PATCH add members (users or groups) to a group."""
    value = [{"value": member_id} for member_id in member_ids]
    patch_group(tenant, group_id, {"op": "add", "path": "members", "value": value})


def remove_member(tenant: Tenant, group_id: str, member_id: str) -> None:
    """PATCH remove one member of a group by a value filter."""
    path = f'members[value eq "{member_id}"]'
    patch_group(tenant, group_id, {"op": "remove", "path": path})


def group_member_ids(tenant: Tenant, group_id: str) -> set[str]:
    """The ids of a group's direct members, as SCIM shows them."""
    response = tenant.get(f"/Groups/{group_id}")
    assert response.status_code == 200, response.text
    return {member["value"] for member in response.json().get("members", [])}


# The administrator's side: domain functions, one transaction each.


def org_of(session: Session, tenant: Tenant) -> Organization:
    """The tenant's organization, in this session."""
    return organizations.get(session, tenant.name)


def set_flag(database: Database, tenant: Tenant, flag: str, enabled: bool = True) -> None:
    """Turn a provisioning feature flag on or off."""
    with database.transaction() as session:
        organizations.set_flag(session, org_of(session, tenant), flag, enabled)


def create_team(database: Database, tenant: Tenant, name: str) -> None:
    """Create a team by hand."""
    with database.transaction() as session:
        teams.create(session, org_of(session, tenant), name)


def add_by_hand(database: Database, tenant: Tenant, team_name: str, user_id: str) -> None:
    """Add a member to a team by hand."""
    with database.transaction() as session:
        org = org_of(session, tenant)
        user = session.get(User, user_id)
        assert user is not None
        teams.add_manual(session, org, teams.get(session, org, team_name), user)


def map_group(database: Database, tenant: Tenant, group_id: str, role_name: str | None) -> None:
    """Map a SCIM group to a role (None: remove the mapping)."""
    with database.transaction() as session:
        org = org_of(session, tenant)
        role = None if role_name is None else roles.get(session, org, role_name)
        role_assignment.map_group(session, org, scim_groups.get(session, org, group_id), role)


# Observing the outcome in the database.


def team_names(database: Database, tenant: Tenant) -> set[str]:
    """The names of the organization's teams."""
    with database.transaction(write=False) as session:
        return {team.name for team in teams.list_for(session, org_of(session, tenant))}


def team(database: Database, tenant: Tenant, name: str) -> Team:
    """The organization's team with this name (case-insensitive), detached."""
    with database.transaction(write=False) as session:
        return teams.get(session, org_of(session, tenant), name)


def team_grants(database: Database, tenant: Tenant, team_name: str) -> dict[str, Grants]:
    """Each member's userName → the grants keeping them in the team."""
    with database.transaction(write=False) as session:
        found = teams.get(session, org_of(session, tenant), team_name)
        return {
            user.user_name: (member.via_scim, member.manual)
            for member, user in teams.members(session, found)
        }


def role_of(database: Database, user_id: str) -> str | None:
    """The name of a member's role, None when they have none."""
    with database.transaction(write=False) as session:
        user = session.get(User, user_id)
        assert user is not None
        role = None if user.role_id is None else session.get(Role, user.role_id)
        return None if role is None else role.name


def person(database: Database, email: str) -> Person | None:
    """The person with this email address (case-insensitive), detached."""
    with database.transaction(write=False) as session:
        return session.scalars(select(Person).where(Person.email_norm == email.lower())).first()


def person_of(database: Database, user_id: str) -> Person:
    """The person a membership belongs to, detached."""
    with database.transaction(write=False) as session:
        user = session.get(User, user_id)
        assert user is not None and user.person_id is not None
        found = session.get(Person, user.person_id)
        assert found is not None
        return found


def phone_numbers(database: Database, user_id: str) -> list[str]:
    """The verified phone numbers of a membership's person."""
    found = person_of(database, user_id)
    with database.transaction(write=False) as session:
        return persons.phone_numbers(session, found.id)


def count(database: Database, model: type[Base]) -> int:
    """How many rows of this model exist, across organizations."""
    with database.transaction(write=False) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# Attribute mapping


def test_attributes_map_to_the_person(tenant: Tenant, database: Database) -> None:
    """userName, names and the primary email become the person's; SCIM echoes userName as sent."""
    user_id = add_user(
        tenant,
        "Ada.Lovelace@Example.COM",
        name={"givenName": "Ada", "familyName": "Lovelace"},
        displayName="Countess Ada",
        emails=[
            {"value": "ada@home.example", "type": "home"},
            {"value": "ada@work.example", "type": "other", "primary": True},
        ],
    )
    assert fetch_user(tenant, user_id)["userName"] == "Ada.Lovelace@Example.COM"
    found = person(database, "ada.lovelace@example.com")
    assert found is not None
    assert found.id == person_of(database, user_id).id
    assert found.email_norm == "ada.lovelace@example.com"
    assert (found.first_name, found.last_name, found.preferred_name) == (
        "Ada",
        "Lovelace",
        "Countess Ada",
    )
    assert found.work_email == "ada@work.example"


@pytest.mark.parametrize(
    ("emails", "work_email"),
    [
        (
            [{"value": "h@home.example", "type": "home"}, {"value": "w@x.example", "type": "work"}],
            "w@x.example",
        ),
        ([], "ada@example.com"),
    ],
    ids=["work-type", "userName"],
)
def test_work_email_without_a_primary(
    tenant: Tenant, database: Database, emails: list[dict[str, Any]], work_email: str
) -> None:
    """Without a primary email the work one is the work email, else userName."""
    user_id = add_user(tenant, "ada@example.com", emails=emails)
    assert person_of(database, user_id).work_email == work_email


def test_same_person_in_two_organizations_keeps_each_ones_values(
    make_tenant: TenantFactory, database: Database
) -> None:
    """One person, two memberships: each organization sees only its own externalId and names."""
    first, second = make_tenant("first"), make_tenant("second")
    in_first = add_user(
        first, "ada@example.com", externalId="first-1", name={"givenName": "Ada"}, displayName="A"
    )
    in_second = add_user(
        second, "ADA@example.com", externalId="second-9", name={"givenName": "Augusta"}
    )
    assert count(database, Person) == 1
    assert count(database, User) == 2
    assert person_of(database, in_first).id == person_of(database, in_second).id
    one, two = fetch_user(first, in_first), fetch_user(second, in_second)
    assert (one["externalId"], one["name"]["givenName"], one["displayName"]) == (
        "first-1",
        "Ada",
        "A",
    )
    assert (two["externalId"], two["name"]["givenName"], two["userName"]) == (
        "second-9",
        "Augusta",
        "ADA@example.com",
    )
    assert "displayName" not in two
    # The person carries the names of the membership written last.
    assert person_of(database, in_first).first_name == "Augusta"
    assert_scim_error(second.get(f"/Users/{in_first}"), 404)
    listed = second.get("/Users", params={"filter": 'externalId eq "first-1"'})
    assert listed.status_code == 200, listed.text
    assert listed.json()["totalResults"] == 0
    assert "first-1" not in second.get("/Users").text


# Phone numbers


def test_phone_numbers_are_returned_but_not_stored_while_phone_sync_is_off(
    tenant: Tenant, database: Database
) -> None:
    """With phone sync off, SCIM accepts and returns numbers; the person gets none."""
    numbers = [{"value": "(415) 555-2671", "type": "work"}]
    user_id = add_user(tenant, "ada@example.com", phoneNumbers=numbers)
    assert fetch_user(tenant, user_id)["phoneNumbers"] == numbers
    assert phone_numbers(database, user_id) == []


def test_phone_numbers_are_stored_in_e164_while_phone_sync_is_on(
    tenant: Tenant, database: Database
) -> None:
    """With phone sync on, numbers are stored in E.164; an unparseable one is skipped, not fatal."""
    set_flag(database, tenant, PHONES)
    numbers = [
        {"value": "(415) 555-2671"},
        {"value": "call me maybe"},
        {"value": "+44 20 7946 0958"},
    ]
    user_id = add_user(tenant, "ada@example.com", phoneNumbers=numbers)
    assert phone_numbers(database, user_id) == ["+14155552671", "+442079460958"]
    replaced = tenant.put(
        f"/Users/{user_id}", json=user_body("ada@example.com", phoneNumbers=numbers[2:])
    )
    assert replaced.status_code == 200, replaced.text
    assert phone_numbers(database, user_id) == ["+442079460958"]
    assert tenant.delete(f"/Users/{user_id}").status_code == 204
    assert person(database, "ada@example.com") is None


# Deactivation, re-activation and deletion


@pytest.fixture
def engineer(tenant: Tenant, database: Database) -> str:
    """A member of SCIM group Eng (team Eng, role admin) and, by hand, of team Lunch."""
    set_flag(database, tenant, TEAMS)
    set_flag(database, tenant, ROLES)
    user_id = add_user(tenant, "eng@example.com")
    eng = add_group(tenant, "Eng", [user_id])
    map_group(database, tenant, eng, "admin")
    create_team(database, tenant, "Lunch")
    add_by_hand(database, tenant, "Lunch", user_id)
    assert team_grants(database, tenant, "Eng") == {"eng@example.com": BY_SCIM}
    assert role_of(database, user_id) == "admin"
    return user_id


def _deactivate_by_patch(tenant: Tenant, user_id: str) -> None:
    set_active(tenant, user_id, False)


def _deactivate_by_put(tenant: Tenant, user_id: str) -> None:
    response = tenant.put(f"/Users/{user_id}", json=user_body("eng@example.com", active=False))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("deactivate", [_deactivate_by_patch, _deactivate_by_put])
def test_deactivation_withdraws_scim_grants_and_role(
    tenant: Tenant, database: Database, engineer: str, deactivate: Callable[[Tenant, str], None]
) -> None:
    """active false keeps the membership, drops SCIM teams and the role, keeps manual teams."""
    deactivate(tenant, engineer)
    assert fetch_user(tenant, engineer)["active"] is False
    assert team_grants(database, tenant, "Eng") == {}
    assert team_grants(database, tenant, "Lunch") == {"eng@example.com": BY_HAND}
    assert role_of(database, engineer) is None
    assert person(database, "eng@example.com") is not None


def test_reactivation_restores_group_teams_and_role(
    tenant: Tenant, database: Database, engineer: str
) -> None:
    """PATCH active true gives back the teams and the role that the member's groups give."""
    set_active(tenant, engineer, False)
    set_active(tenant, engineer, True)
    assert team_grants(database, tenant, "Eng") == {"eng@example.com": BY_SCIM}
    assert team_grants(database, tenant, "Lunch") == {"eng@example.com": BY_HAND}
    assert role_of(database, engineer) == "admin"


def test_post_reprovisioning_restores_group_teams_and_role(
    tenant: Tenant, database: Database, engineer: str
) -> None:
    """Re-provisioning a deactivated member by POST gives back their groups' team and role."""
    set_active(tenant, engineer, False)
    response = tenant.post("/Users", json=user_body("eng@example.com"))
    assert response.status_code == 201, response.text
    assert response.json()["id"] == engineer
    assert team_grants(database, tenant, "Eng") == {"eng@example.com": BY_SCIM}
    assert team_grants(database, tenant, "Lunch") == {"eng@example.com": BY_HAND}
    assert role_of(database, engineer) == "admin"


def test_delete_removes_membership_and_team_rows(
    tenant: Tenant, database: Database, engineer: str
) -> None:
    """DELETE makes the user 404 and takes their team memberships, SCIM and manual, with it."""
    response = tenant.delete(f"/Users/{engineer}")
    assert response.status_code == 204, response.text
    assert_scim_error(tenant.get(f"/Users/{engineer}"), 404)
    assert count(database, TeamMember) == 0
    assert person(database, "eng@example.com") is None


def test_delete_keeps_the_person_of_another_organization(
    make_tenant: TenantFactory, database: Database
) -> None:
    """DELETE in one organization leaves the person who still belongs to another."""
    first, second = make_tenant("first"), make_tenant("second")
    in_first = add_user(first, "ada@example.com")
    in_second = add_user(second, "ada@example.com")
    assert first.delete(f"/Users/{in_first}").status_code == 204
    assert_scim_error(first.get(f"/Users/{in_first}"), 404)
    assert person(database, "ada@example.com") is not None
    assert fetch_user(second, in_second)["active"] is True
    assert second.delete(f"/Users/{in_second}").status_code == 204
    assert person(database, "ada@example.com") is None


def test_a_new_user_name_moves_the_membership_to_that_person(
    make_tenant: TenantFactory, database: Database
) -> None:
    """PUT with another userName links that email's person; the old one goes if orphaned."""
    first, second = make_tenant("first"), make_tenant("second")
    ada = add_user(first, "ada@example.com")
    add_user(second, "ada@example.com")
    bob = add_user(first, "bob@example.com", name={"givenName": "Bob"})
    renamed = first.put(f"/Users/{bob}", json=user_body("robert@example.com"))
    assert renamed.status_code == 200, renamed.text
    assert person_of(database, bob).email_norm == "robert@example.com"
    assert person(database, "bob@example.com") is None
    moved = first.put(f"/Users/{ada}", json=user_body("augusta@example.com"))
    assert moved.status_code == 200, moved.text
    assert person(database, "ada@example.com") is not None
    assert count(database, Person) == 3


# Identity resolution on POST


def test_post_of_an_active_users_name_is_409(tenant: Tenant, database: Database) -> None:
    """POST with the userName (in any case) of an active membership is 409 uniqueness."""
    add_user(tenant, "ada@example.com")
    response = tenant.post("/Users", json=user_body("ADA@example.com"))
    assert_scim_error(response, 409, "uniqueness")
    assert count(database, User) == 1


def test_post_reprovisions_a_deactivated_user_in_place(tenant: Tenant, database: Database) -> None:
    """POST of a deactivated user's userName is 201 with the same id, active and updated."""
    set_flag(database, tenant, TEAMS)
    user_id = add_user(tenant, "ada@example.com", displayName="Ada")
    add_group(tenant, "Eng", [user_id])
    set_active(tenant, user_id, False)
    response = tenant.post("/Users", json=user_body("Ada@Example.com", displayName="Ada L."))
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["id"], body["active"], body["displayName"]) == (user_id, True, "Ada L.")
    assert fetch_user(tenant, user_id)["userName"] == "Ada@Example.com"
    assert count(database, User) == 1
    assert person_of(database, user_id).preferred_name == "Ada L."
    assert team_grants(database, tenant, "Eng") == {"Ada@Example.com": BY_SCIM}


def test_post_with_known_external_id_and_new_user_name_reprovisions(
    tenant: Tenant, database: Database
) -> None:
    """A deactivated user's externalId with a changed userName is re-provisioned in place."""
    user_id = add_user(tenant, "ada@old.example", externalId="idp-7")
    set_active(tenant, user_id, False)
    response = tenant.post("/Users", json=user_body("ada@new.example", externalId="idp-7"))
    assert response.status_code == 201, response.text
    assert response.json()["id"] == user_id
    body = fetch_user(tenant, user_id)
    assert (body["userName"], body["externalId"], body["active"]) == (
        "ada@new.example",
        "idp-7",
        True,
    )
    assert count(database, User) == 1
    assert person_of(database, user_id).email_norm == "ada@new.example"
    assert person(database, "ada@old.example") is None


def test_post_of_an_active_users_external_id_is_409(tenant: Tenant, database: Database) -> None:
    """An active membership's externalId under another userName is 409, nothing changes."""
    user_id = add_user(tenant, "ada@old.example", externalId="idp-7")
    response = tenant.post("/Users", json=user_body("ada@new.example", externalId="idp-7"))
    assert_scim_error(response, 409, "uniqueness")
    assert fetch_user(tenant, user_id)["userName"] == "ada@old.example"
    assert count(database, User) == 1


def test_post_links_the_person_of_another_organization(
    make_tenant: TenantFactory, database: Database
) -> None:
    """A person already known through another organization is linked, not duplicated."""
    first, second = make_tenant("first"), make_tenant("second")
    in_first = add_user(first, "Ada@Example.com")
    before = person_of(database, in_first)
    in_second = add_user(second, "ada@example.com", externalId="x-1")
    assert in_second != in_first
    assert person_of(database, in_second).id == before.id
    assert count(database, Person) == 1
    assert fetch_user(first, in_first)["userName"] == "Ada@Example.com"
    assert "externalId" not in fetch_user(first, in_first)


# Groups → teams


@pytest.fixture
def synced(tenant: Tenant, database: Database) -> Tenant:
    """The tenant with "sync SCIM groups to teams" on."""
    set_flag(database, tenant, TEAMS)
    return tenant


def test_pushed_group_creates_a_linked_team(synced: Tenant, database: Database) -> None:
    """POST /Groups creates a team of the same name, linked to the group and filled."""
    ada = add_user(synced, "ada@example.com")
    group_id = add_group(synced, "Engineering", [ada])
    assert team(database, synced, "Engineering").scim_group_id == group_id
    assert team_grants(database, synced, "Engineering") == {"ada@example.com": BY_SCIM}


def test_pushed_group_links_the_team_of_the_same_name(synced: Tenant, database: Database) -> None:
    """A team named like the group (in another case) is linked, not duplicated, and kept."""
    ada, bob = add_user(synced, "ada@example.com"), add_user(synced, "bob@example.com")
    create_team(database, synced, "engineering")
    add_by_hand(database, synced, "engineering", bob)
    group_id = add_group(synced, "Engineering", [ada, bob])
    assert len(team_names(database, synced)) == 1
    assert team(database, synced, "ENGINEERING").scim_group_id == group_id
    assert team_grants(database, synced, "engineering") == {
        "ada@example.com": BY_SCIM,
        "bob@example.com": BY_BOTH,
    }


def test_a_group_pushed_again_relinks_its_old_team(synced: Tenant, database: Database) -> None:
    """After DELETE, a group pushed again under the same name links and fills the same team."""
    ada = add_user(synced, "ada@example.com")
    first = add_group(synced, "Eng", [ada])
    before = team(database, synced, "Eng").id
    assert synced.delete(f"/Groups/{first}").status_code == 204
    second = add_group(synced, "eng", [ada])
    again = team(database, synced, "Eng")
    assert (again.id, again.scim_group_id) == (before, second)
    assert team_grants(database, synced, "Eng") == {"ada@example.com": BY_SCIM}


def test_renaming_the_group_renames_the_team(synced: Tenant, database: Database) -> None:
    """A displayName change by PATCH or PUT renames the linked team."""
    group_id = add_group(synced, "Engineering")
    patch_group(synced, group_id, {"op": "replace", "path": "displayName", "value": "Platform"})
    assert team_names(database, synced) == {"Platform"}
    response = synced.put(f"/Groups/{group_id}", json=group_body("Infra"))
    assert response.status_code == 200, response.text
    assert team_names(database, synced) == {"Infra"}
    assert team(database, synced, "Infra").scim_group_id == group_id


def test_member_changes_follow_into_the_team(synced: Tenant, database: Database) -> None:
    """Adding and removing group members adds and removes SCIM team grants."""
    ada, bob = add_user(synced, "ada@example.com"), add_user(synced, "bob@example.com")
    group_id = add_group(synced, "Eng", [ada])
    add_members(synced, group_id, bob)
    assert team_grants(database, synced, "Eng") == {
        "ada@example.com": BY_SCIM,
        "bob@example.com": BY_SCIM,
    }
    remove_member(synced, group_id, ada)
    assert team_grants(database, synced, "Eng") == {"bob@example.com": BY_SCIM}


def test_a_replaced_member_list_moves_team_grants(synced: Tenant, database: Database) -> None:
    """PUT of a group with another member list moves the SCIM grants to the new members."""
    ada, bob = add_user(synced, "ada@example.com"), add_user(synced, "bob@example.com")
    group_id = add_group(synced, "Eng", [ada])
    response = synced.put(f"/Groups/{group_id}", json=group_body("Eng", [bob]))
    assert response.status_code == 200, response.text
    assert team_grants(database, synced, "Eng") == {"bob@example.com": BY_SCIM}


def test_a_deactivated_member_joining_a_group_gets_no_team(
    synced: Tenant, database: Database
) -> None:
    """A deactivated member added to a group is kept out of its team until re-activated."""
    ada = add_user(synced, "ada@example.com")
    set_active(synced, ada, False)
    group_id = add_group(synced, "Eng", [ada])
    assert group_member_ids(synced, group_id) == {ada}
    assert team_grants(database, synced, "Eng") == {}
    set_active(synced, ada, True)
    assert team_grants(database, synced, "Eng") == {"ada@example.com": BY_SCIM}


@pytest.fixture
def nested(synced: Tenant) -> tuple[str, str, str, str]:
    """Groups A ⊃ B ⊃ C ⊃ user, built top-down by PATCH; returns (a, b, c, user)."""
    user_id = add_user(synced, "deep@example.com")
    a, b, c = (add_group(synced, name) for name in "ABC")
    add_members(synced, a, b)
    add_members(synced, b, c)
    add_members(synced, c, user_id)
    return a, b, c, user_id


def _teams_of(database: Database, tenant: Tenant, user_name: str) -> set[str]:
    return {name for name in "ABC" if user_name in team_grants(database, tenant, name)}


def test_nested_groups_fill_every_containing_team(
    synced: Tenant, database: Database, nested: tuple[str, str, str, str]
) -> None:
    """A member of C, nested in B, nested in A, is in the teams of A, B and C."""
    a, b, _, _ = nested
    assert _teams_of(database, synced, "deep@example.com") == {"A", "B", "C"}
    assert team_grants(database, synced, "A") == {"deep@example.com": BY_SCIM}
    remove_member(synced, a, b)
    assert _teams_of(database, synced, "deep@example.com") == {"B", "C"}


def test_deleting_a_middle_group_withdraws_the_outer_teams(
    synced: Tenant, database: Database, nested: tuple[str, str, str, str]
) -> None:
    """DELETE of B (A ⊃ B ⊃ C ⊃ user) leaves the user in C's team only; B's team stays."""
    _, b, _, _ = nested
    assert synced.delete(f"/Groups/{b}").status_code == 204
    assert _teams_of(database, synced, "deep@example.com") == {"C"}
    assert team_names(database, synced) == {"A", "B", "C"}
    assert team(database, synced, "B").scim_group_id is None


def test_removing_members_by_value_list_and_clearing(synced: Tenant, database: Database) -> None:
    """remove with a members value list, then a bare remove of members, withdraw the grants."""
    ada, bob = add_user(synced, "ada@example.com"), add_user(synced, "bob@example.com")
    inner = add_group(synced, "Inner", [bob])
    group_id = add_group(synced, "Eng", [ada, inner])
    patch_group(synced, group_id, {"op": "remove", "path": "members", "value": [{"value": ada}]})
    assert team_grants(database, synced, "Eng") == {"bob@example.com": BY_SCIM}
    patch_group(synced, group_id, {"op": "remove", "path": "members"})
    assert team_grants(database, synced, "Eng") == {}
    assert team_grants(database, synced, "Inner") == {"bob@example.com": BY_SCIM}


def test_nested_groups_pushed_bottom_up_fill_every_team(synced: Tenant, database: Database) -> None:
    """Groups created with their nested groups as members fill the outer teams too."""
    user_id = add_user(synced, "deep@example.com")
    c = add_group(synced, "C", [user_id])
    b = add_group(synced, "B", [c])
    add_group(synced, "A", [b])
    assert _teams_of(database, synced, "deep@example.com") == {"A", "B", "C"}


@pytest.mark.parametrize("method", ["patch", "put"])
def test_a_cycle_is_refused_and_changes_nothing(
    synced: Tenant, database: Database, nested: tuple[str, str, str, str], method: str
) -> None:
    """Putting A into C (A ⊃ B ⊃ C) is 400 invalidValue and leaves groups and teams alone."""
    a, _, c, user_id = nested
    bob = add_user(synced, "bob@example.com")
    if method == "patch":
        body = patch_body(
            {"op": "add", "path": "members", "value": [{"value": bob}]},
            {"op": "add", "path": "members", "value": [{"value": a}]},
        )
        response = synced.patch(f"/Groups/{c}", json=body)
    else:
        response = synced.put(f"/Groups/{c}", json=group_body("C", [user_id, bob, a]))
    assert_scim_error(response, 400, "invalidValue")
    assert group_member_ids(synced, c) == {user_id}
    assert _teams_of(database, synced, "deep@example.com") == {"A", "B", "C"}
    assert _teams_of(database, synced, "bob@example.com") == set()


def test_a_group_cannot_contain_itself(synced: Tenant) -> None:
    """A group as its own member is 400 invalidValue."""
    group_id = add_group(synced, "Loop")
    body = patch_body({"op": "add", "path": "members", "value": [{"value": group_id}]})
    assert_scim_error(synced.patch(f"/Groups/{group_id}", json=body), 400, "invalidValue")
    assert group_member_ids(synced, group_id) == set()


def test_scim_never_removes_a_manual_member(synced: Tenant, database: Database) -> None:
    """Removal from the group, or an emptied member list, withdraws only SCIM's grant."""
    ada, bob = add_user(synced, "ada@example.com"), add_user(synced, "bob@example.com")
    group_id = add_group(synced, "Eng", [ada])
    add_by_hand(database, synced, "Eng", ada)
    add_by_hand(database, synced, "Eng", bob)
    assert team_grants(database, synced, "Eng") == {
        "ada@example.com": BY_BOTH,
        "bob@example.com": BY_HAND,
    }
    remove_member(synced, group_id, ada)
    assert team_grants(database, synced, "Eng") == {
        "ada@example.com": BY_HAND,
        "bob@example.com": BY_HAND,
    }
    add_members(synced, group_id, ada, bob)
    assert team_grants(database, synced, "Eng") == {
        "ada@example.com": BY_BOTH,
        "bob@example.com": BY_BOTH,
    }
    patch_group(synced, group_id, {"op": "replace", "path": "members", "value": []})
    assert team_grants(database, synced, "Eng") == {
        "ada@example.com": BY_HAND,
        "bob@example.com": BY_HAND,
    }


def test_a_manual_grant_withdrawn_leaves_the_scim_one(synced: Tenant, database: Database) -> None:
    """An administrator's removal drops only their grant: SCIM's keeps the member in the team."""
    ada, bob = add_user(synced, "ada@example.com"), add_user(synced, "bob@example.com")
    add_group(synced, "Eng", [ada])
    add_by_hand(database, synced, "Eng", ada)
    add_by_hand(database, synced, "Eng", bob)
    for user_id in (ada, bob):
        with database.transaction() as session:
            user = session.get(User, user_id)
            assert user is not None
            teams.remove_manual(session, teams.get(session, org_of(session, synced), "Eng"), user)
    assert team_grants(database, synced, "Eng") == {"ada@example.com": BY_SCIM}


def test_another_organizations_user_cannot_be_added_by_hand(
    make_tenant: TenantFactory, database: Database
) -> None:
    """teams.add_manual refuses a member of another organization with NotFoundError."""
    first, second = make_tenant("first"), make_tenant("second")
    create_team(database, first, "Eng")
    stranger = add_user(second, "ada@example.com")
    with pytest.raises(NotFoundError):
        add_by_hand(database, first, "Eng", stranger)
    assert team_grants(database, first, "Eng") == {}


def test_deleting_the_group_keeps_the_team_and_manual_members(
    synced: Tenant, database: Database
) -> None:
    """DELETE of the group unlinks the team, drops SCIM grants and keeps hand-made ones."""
    ada, bob = add_user(synced, "ada@example.com"), add_user(synced, "bob@example.com")
    group_id = add_group(synced, "Eng", [ada, bob])
    add_by_hand(database, synced, "Eng", bob)
    response = synced.delete(f"/Groups/{group_id}")
    assert response.status_code == 204, response.text
    assert team(database, synced, "Eng").scim_group_id is None
    assert team_grants(database, synced, "Eng") == {"bob@example.com": BY_HAND}


def test_with_the_flag_off_groups_touch_no_teams(tenant: Tenant, database: Database) -> None:
    """With group sync off, pushed groups and member changes create and fill no team."""
    ada = add_user(tenant, "ada@example.com")
    group_id = add_group(tenant, "Eng", [ada])
    add_members(tenant, group_id, add_user(tenant, "bob@example.com"))
    patch_group(tenant, group_id, {"op": "replace", "path": "displayName", "value": "Platform"})
    assert team_names(database, tenant) == set()
    assert count(database, TeamMember) == 0


def test_turning_the_flag_on_backfills_teams(tenant: Tenant, database: Database) -> None:
    """Groups pushed while the flag was off get linked, filled teams when it is turned on."""
    ada, bob = add_user(tenant, "ada@example.com"), add_user(tenant, "bob@example.com")
    inner = add_group(tenant, "Inner", [bob])
    eng = add_group(tenant, "Eng", [ada, inner])
    create_team(database, tenant, "ENG")
    set_flag(database, tenant, TEAMS)
    assert team_names(database, tenant) == {"ENG", "Inner"}
    assert team(database, tenant, "eng").scim_group_id == eng
    assert team(database, tenant, "inner").scim_group_id == inner
    assert team_grants(database, tenant, "Eng") == {
        "ada@example.com": BY_SCIM,
        "bob@example.com": BY_SCIM,
    }
    assert team_grants(database, tenant, "Inner") == {"bob@example.com": BY_SCIM}


def test_backfill_is_one_transaction(tenant: Tenant, database: Database) -> None:
    """A backfill whose transaction fails leaves no team, no grant and the flag off."""
    add_group(tenant, "Eng", [add_user(tenant, "ada@example.com")])
    with pytest.raises(RuntimeError), database.transaction() as session:
        org = org_of(session, tenant)
        organizations.set_flag(session, org, TEAMS, True)
        assert {t.name for t in teams.list_for(session, org)} == {"Eng"}
        raise RuntimeError("abort after the backfill")
    assert team_names(database, tenant) == set()
    assert count(database, TeamMember) == 0
    with database.transaction(write=False) as session:
        assert org_of(session, tenant).sync_groups_to_teams is False


def test_with_the_flag_off_member_changes_wait_for_it(synced: Tenant, database: Database) -> None:
    """Member changes made while group sync is off reach the team when it is turned back on."""
    ada, bob = add_user(synced, "ada@example.com"), add_user(synced, "bob@example.com")
    group_id = add_group(synced, "Eng", [ada])
    set_flag(database, synced, TEAMS, False)
    remove_member(synced, group_id, ada)
    add_members(synced, group_id, bob)
    assert team_grants(database, synced, "Eng") == {"ada@example.com": BY_SCIM}
    set_flag(database, synced, TEAMS)
    assert team_grants(database, synced, "Eng") == {"bob@example.com": BY_SCIM}


def test_with_the_flag_off_deactivation_still_withdraws_scim_grants(
    synced: Tenant, database: Database
) -> None:
    """Deactivation withdraws SCIM's team grants even with group sync off; re-activation waits."""
    ada = add_user(synced, "ada@example.com")
    add_group(synced, "Eng", [ada])
    set_flag(database, synced, TEAMS, False)
    set_active(synced, ada, False)
    assert team_grants(database, synced, "Eng") == {}
    set_active(synced, ada, True)
    assert team_grants(database, synced, "Eng") == {}
    set_flag(database, synced, TEAMS)
    assert team_grants(database, synced, "Eng") == {"ada@example.com": BY_SCIM}


def test_with_the_flag_off_a_renamed_group_leaves_its_team_name(
    synced: Tenant, database: Database
) -> None:
    """With group sync off, renaming a linked SCIM group leaves the team's name alone."""
    group_id = add_group(synced, "Eng")
    set_flag(database, synced, TEAMS, False)
    patch_group(synced, group_id, {"op": "replace", "path": "displayName", "value": "Platform"})
    assert team_names(database, synced) == {"Eng"}


def test_with_the_flag_off_a_team_name_never_blocks_a_group_rename(
    synced: Tenant, database: Database
) -> None:
    """With group sync off, a team's name never refuses the IdP's group rename."""
    group_id = add_group(synced, "Eng")
    create_team(database, synced, "Platform")
    set_flag(database, synced, TEAMS, False)
    response = synced.put(f"/Groups/{group_id}", json=group_body("Platform"))
    assert response.status_code == 200, response.text
    assert team_names(database, synced) == {"Eng", "Platform"}
