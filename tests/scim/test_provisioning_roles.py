"""Provisioning end to end: roles from SCIM groups, and where an organization's users come from.

Groups and memberships are pushed through the SCIM API; mappings, weights, the default
role and the directory source are an administrator's domain calls; roles are read back
from the database.
"""

import pytest
from sqlalchemy import select

from scimgate.domain import groups as scim_groups
from scimgate.domain import organizations, role_assignment, roles
from scimgate.domain.role_assignment import RoleChange
from scimgate.errors import ConflictError
from scimgate.storage.database import Database
from scimgate.storage.models import GroupRole, User
from tests.conftest import Tenant, TenantFactory, assert_scim_error, user_body
from tests.scim.test_provisioning import (
    ROLES,
    add_group,
    add_members,
    add_user,
    map_group,
    org_of,
    remove_member,
    role_of,
    set_active,
    set_flag,
)


def role_source(database: Database, user_id: str) -> str | None:
    """The id of the SCIM group whose mapping gave a member their role."""
    with database.transaction(write=False) as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.role_from_group_id


def set_weight(database: Database, tenant: Tenant, role_name: str, weight: int) -> None:
    """Change a role's weight."""
    with database.transaction() as session:
        org = org_of(session, tenant)
        role_assignment.set_weight(session, org, roles.get(session, org, role_name), weight)


def weight_of(database: Database, tenant: Tenant, role_name: str) -> int:
    """A role's weight."""
    with database.transaction(write=False) as session:
        return roles.get(session, org_of(session, tenant), role_name).weight


def mapped_role(database: Database, tenant: Tenant, group_id: str) -> str | None:
    """The name of the role a group is mapped to, if any."""
    with database.transaction(write=False) as session:
        mapped = roles.mapping(session, org_of(session, tenant)).get(group_id)
        return None if mapped is None else mapped.name


class Mapped:
    """An organization with roles from groups on: G1 → admin (80), G2 → observer (10)."""

    def __init__(self, tenant: Tenant, database: Database) -> None:
        self.tenant, self.database = tenant, database
        set_flag(database, tenant, ROLES)
        self.g1 = add_group(tenant, "G1")
        self.g2 = add_group(tenant, "G2")
        map_group(database, tenant, self.g1, "admin")
        map_group(database, tenant, self.g2, "observer")

    def user_in(self, user_name: str, *group_ids: str) -> str:
        """Provision a user and add them to these groups."""
        user_id = add_user(self.tenant, user_name)
        for group_id in group_ids:
            add_members(self.tenant, group_id, user_id)
        return user_id

    def role(self, user_id: str) -> str | None:
        """The member's role name."""
        return role_of(self.database, user_id)


@pytest.fixture
def mapped(tenant: Tenant, database: Database) -> Mapped:
    """Roles from groups on, with G1 → admin and G2 → observer."""
    return Mapped(tenant, database)


def test_a_member_of_no_mapped_group_has_the_default_role(mapped: Mapped) -> None:
    """A new member outside every mapped group gets the default role, from no group."""
    user_id = mapped.user_in("ada@example.com")
    assert mapped.role(user_id) == "member"
    assert role_source(mapped.database, user_id) is None


def test_the_heaviest_mapped_role_wins(mapped: Mapped) -> None:
    """A member of G1 (admin) and G2 (observer) is admin, and the record names G1."""
    user_id = mapped.user_in("ada@example.com", mapped.g2, mapped.g1)
    assert mapped.role(user_id) == "admin"
    assert role_source(mapped.database, user_id) == mapped.g1


def test_a_role_comes_through_nested_groups(mapped: Mapped) -> None:
    """A member of a group nested (two levels) in G1 is admin, until the nesting goes."""
    user_id = mapped.user_in("ada@example.com")
    inner = add_group(mapped.tenant, "Inner", [user_id])
    middle = add_group(mapped.tenant, "Middle", [inner])
    add_members(mapped.tenant, mapped.g1, middle)
    assert mapped.role(user_id) == "admin"
    assert role_source(mapped.database, user_id) == mapped.g1
    remove_member(mapped.tenant, mapped.g1, middle)
    assert mapped.role(user_id) == "member"


def test_leaving_groups_steps_the_role_down(mapped: Mapped) -> None:
    """Leaving G1 drops an admin to observer (G2); leaving G2 too gives the default role."""
    user_id = mapped.user_in("ada@example.com", mapped.g1, mapped.g2)
    remove_member(mapped.tenant, mapped.g1, user_id)
    assert mapped.role(user_id) == "observer"
    assert role_source(mapped.database, user_id) == mapped.g2
    remove_member(mapped.tenant, mapped.g2, user_id)
    assert mapped.role(user_id) == "member"
    assert role_source(mapped.database, user_id) is None


def test_a_weight_change_recomputes_roles(mapped: Mapped) -> None:
    """Making observer heavier (90) than admin turns a member of both into an observer."""
    user_id = mapped.user_in("ada@example.com", mapped.g1, mapped.g2)
    set_weight(mapped.database, mapped.tenant, "observer", 90)
    assert mapped.role(user_id) == "observer"
    assert role_source(mapped.database, user_id) == mapped.g2


def test_removing_a_mapping_recomputes_roles(mapped: Mapped) -> None:
    """Unmapping G1 leaves a member of both with G2's role."""
    user_id = mapped.user_in("ada@example.com", mapped.g1, mapped.g2)
    map_group(mapped.database, mapped.tenant, mapped.g1, None)
    assert mapped.role(user_id) == "observer"
    assert mapped_role(mapped.database, mapped.tenant, mapped.g1) is None


def test_deleting_a_mapped_group_recomputes_roles(mapped: Mapped) -> None:
    """DELETE of G1 takes its mapping, and its members fall back to their next role."""
    both = mapped.user_in("ada@example.com", mapped.g1, mapped.g2)
    only = mapped.user_in("bob@example.com", mapped.g1)
    assert mapped.tenant.delete(f"/Groups/{mapped.g1}").status_code == 204
    assert (mapped.role(both), mapped.role(only)) == ("observer", "member")
    assert role_source(mapped.database, only) is None


def test_changing_the_default_role_moves_its_holders(mapped: Mapped) -> None:
    """A new default role reaches members of no mapped group, not those with a mapped role."""
    plain = mapped.user_in("ada@example.com")
    admin = mapped.user_in("bob@example.com", mapped.g1)
    with mapped.database.transaction() as session:
        org = org_of(session, mapped.tenant)
        role_assignment.set_default(session, org, roles.get(session, org, "observer"))
    assert (mapped.role(plain), mapped.role(admin)) == ("observer", "admin")
    assert mapped.role(mapped.user_in("cy@example.com")) == "observer"


def test_a_dry_run_lists_changes_and_writes_nothing(mapped: Mapped) -> None:
    """Dry runs of a mapping, a weight and a default list who moves, and change nothing."""
    ada = mapped.user_in("ada@example.com", mapped.g1, mapped.g2)
    bob = mapped.user_in("bob@example.com", mapped.g2)
    cy = mapped.user_in("cy@example.com")
    with mapped.database.transaction() as session:
        org = org_of(session, mapped.tenant)
        g2 = scim_groups.get(session, org, mapped.g2)
        owner, observer = roles.get(session, org, "owner"), roles.get(session, org, "observer")
        by_mapping = role_assignment.map_group(session, org, g2, owner, dry_run=True)
        by_weight = role_assignment.set_weight(session, org, observer, 90, dry_run=True)
        by_default = role_assignment.set_default(session, org, observer, dry_run=True)
    assert by_mapping == [
        RoleChange(ada, "ada@example.com", "admin", "owner"),
        RoleChange(bob, "bob@example.com", "observer", "owner"),
    ]
    assert by_weight == [RoleChange(ada, "ada@example.com", "admin", "observer")]
    assert by_default == [RoleChange(cy, "cy@example.com", "member", "observer")]
    assert [mapped.role(user_id) for user_id in (ada, bob, cy)] == ["admin", "observer", "member"]
    assert mapped_role(mapped.database, mapped.tenant, mapped.g2) == "observer"
    assert weight_of(mapped.database, mapped.tenant, "observer") == 10
    with mapped.database.transaction(write=False) as session:
        org = org_of(session, mapped.tenant)
        assert org.default_role_id == roles.get(session, org, "member").id
        assert len(session.scalars(select(GroupRole)).all()) == 2


def test_a_deactivated_member_has_no_role_whatever_their_groups(mapped: Mapped) -> None:
    """A deactivated member joining a mapped group stays without a role until re-activated."""
    user_id = mapped.user_in("ada@example.com")
    set_active(mapped.tenant, user_id, False)
    add_members(mapped.tenant, mapped.g1, user_id)
    assert mapped.role(user_id) is None
    set_active(mapped.tenant, user_id, True)
    assert mapped.role(user_id) == "admin"


def test_with_the_flag_off_groups_do_not_set_roles(tenant: Tenant, database: Database) -> None:
    """With roles from groups off, mappings and memberships leave roles alone until it is on."""
    user_id = add_user(tenant, "ada@example.com")
    group_id = add_group(tenant, "G1")
    map_group(database, tenant, group_id, "admin")
    add_members(tenant, group_id, user_id)
    assert role_of(database, user_id) == "member"
    set_flag(database, tenant, ROLES)
    assert role_of(database, user_id) == "admin"
    set_flag(database, tenant, ROLES, False)
    remove_member(tenant, group_id, user_id)
    assert role_of(database, user_id) == "admin"


# Where users come from


def test_scim_and_google_directory_sync_exclude_each_other(
    tenant: Tenant, database: Database
) -> None:
    """Enabling Google Directory Sync under SCIM, or SCIM under it, is a 409 ConflictError."""
    with database.transaction() as session:
        org = org_of(session, tenant)
        with pytest.raises(ConflictError, match="Disable SCIM first") as refused:
            organizations.set_google_directory_sync(org, True)
        assert refused.value.status == 409
        assert org.google_directory_sync is False
        organizations.set_scim_enabled(org, False)
        organizations.set_google_directory_sync(org, True)
        with pytest.raises(ConflictError, match="Turn Google Directory Sync off") as refused:
            organizations.set_scim_enabled(org, True)
        assert refused.value.status == 409
        assert org.scim_enabled is False


def test_scim_answers_404_while_google_directory_sync_is_the_source(
    make_tenant: TenantFactory, database: Database
) -> None:
    """With Google Directory Sync on, every SCIM request is 404 naming Google Directory Sync."""
    tenant = make_tenant("gds", scim_on=False)
    with database.transaction() as session:
        organizations.set_google_directory_sync(org_of(session, tenant), True)
    for response in (tenant.get("/Users"), tenant.post("/Users", json=user_body("a@example.com"))):
        body = assert_scim_error(response, 404)
        assert "Google Directory Sync" in body["detail"]
    with database.transaction(write=False) as session:
        assert session.scalars(select(User)).first() is None
