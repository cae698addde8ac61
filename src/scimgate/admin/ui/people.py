"""The People & teams pages: memberships with their roles, teams and their grants.

Memberships come from the organization's user source (SCIM or Google Directory
Sync); only team places can be granted here by hand. A grant through a SCIM group
is the identity provider's to withdraw, so these pages only ever remove manual ones.

Every table is read a page at a time: an organization may have tens of thousands of
groups and a team 100,000 members. A name search (``q``) narrows the tables of a page.
"""

from urllib.parse import urlencode

from sqlalchemy.orm import Session
from starlette.routing import BaseRoute, Route

from scimgate.admin import operations as ops
from scimgate.admin import reads
from scimgate.domain import groups
from scimgate.errors import InvalidValueError
from scimgate.storage.models import Organization

from .pages import Redirect, Show, Visit, org_url, page

PAGE_SIZE = 50
# A name is at most 1000 characters; a search longer than a name finds nothing anyway.
_MAX_SEARCH = 1000


def _offset(visit: Visit, name: str = "offset") -> int:
    raw = visit.query.get(name, "0")
    return int(raw) if raw.isdigit() and len(raw) < 10 else 0


def _search(visit: Visit) -> str:
    return visit.query.get("q", "").strip()[:_MAX_SEARCH]


def _pager_url(path: str, **kept: str | int) -> str:
    """``path`` with the query a pager keeps, ready for ``ui.pager`` to append its
    ``param=N`` (``offset``, or ``teams_offset`` for one of two tables on a page)."""
    query = urlencode({name: value for name, value in kept.items() if value})
    return f"{path}?{query}&" if query else f"{path}?"


def _user_source(org: Organization) -> str:
    # Every membership is provisioned by the one user source an organization has.
    return "Google Directory Sync" if org.google_directory_sync else "SCIM"


def people_page(visit: Visit, session: Session) -> Show:
    """One page of the organization's memberships, with each one's role and its reason."""
    org = visit.organization
    listing = ops.list_members(session, org.id, PAGE_SIZE, _offset(visit))
    return Show(
        "people.html",
        {
            "tab": "people",
            "listing": listing,
            "source": _user_source(org),
            "default_role": ops.show_org(session, org.id)["default_role"],
        },
    )


def member_page(visit: Visit, session: Session) -> Show:
    """A membership: its person's profile, its role and why, and its teams."""
    org = visit.organization
    return Show(
        "member.html",
        {
            "tab": "people",
            "member": ops.show_member(session, org.id, visit.path["user"]),
            "source": _user_source(org),
            "default_role": ops.show_org(session, org.id)["default_role"],
        },
    )


def teams_page(visit: Visit, session: Session) -> Show:
    """A page of the organization's teams and one of its SCIM groups, each with its link."""
    org = visit.organization
    search = _search(visit)
    teams = ops.page_teams(session, org.id, PAGE_SIZE, _offset(visit, "teams_offset"), search)
    scim_groups = ops.page_groups(
        session, org.id, PAGE_SIZE, _offset(visit, "groups_offset"), search
    )
    url = org_url(org, "teams")
    return Show(
        "teams.html",
        {
            "tab": "people",
            "teams": teams,
            "groups": scim_groups,
            "teams_pager": _pager_url(url, q=search, groups_offset=scim_groups["offset"]),
            "groups_pager": _pager_url(url, q=search, teams_offset=teams["offset"]),
            "sync_on": org.sync_groups_to_teams,
        },
    )


def create_team(visit: Visit, session: Session) -> Redirect:
    """Add an empty team."""
    team = ops.create_team(session, visit.organization.id, visit.text("name"))
    return Redirect(
        org_url(visit.organization, "teams", team["id"]), f"Added the team {team['name']}."
    )


def team_page(visit: Visit, session: Session) -> Show:
    """A team, the SCIM group it follows and a page of its members with their grants."""
    org = visit.organization
    search = _search(visit)
    team = ops.show_team(
        session, org.id, visit.path["team"], limit=PAGE_SIZE, offset=_offset(visit), search=search
    )
    group_id = team["scim_group_id"]
    group = groups.get(session, org, group_id).display_name if group_id else None
    return Show(
        "team.html",
        {
            "tab": "people",
            "team": team,
            "group_name": group,
            "pager_url": _pager_url(org_url(org, "teams", team["id"]), q=search),
        },
    )


def add_member(visit: Visit, session: Session) -> Redirect:
    """Give a member, named by userName, a manual place in the team."""
    org = visit.organization
    user_name = visit.text("user_name").strip()
    if not user_name:
        raise InvalidValueError("Type the user name (an email address) of the member to add.")
    user = reads.member_named(session, org, user_name)
    if user is None:
        raise InvalidValueError(f"{org.name} has no member with the user name {user_name!r}.")
    team = ops.add_to_team(session, org.id, visit.path["team"], user.id, limit=PAGE_SIZE)
    return Redirect(org_url(org, "teams", team["id"]), f"Added {user.user_name} to {team['name']}.")


def remove_member(visit: Visit, session: Session) -> Redirect:
    """Withdraw a member's manual place in the team (a SCIM grant keeps them there)."""
    org, team_ref, user_id = visit.organization, visit.path["team"], visit.text("user")
    before = ops.team_member(session, org.id, team_ref, user_id)
    team = ops.remove_from_team(session, org.id, team_ref, user_id, limit=PAGE_SIZE)
    if before is None:
        notice = f"That member was not in {team['name']}."
    elif ops.team_member(session, org.id, team["id"], user_id) is not None:
        notice = (
            f"Removed the manual grant; {before['user_name']} stays in {team['name']} through SCIM."
        )
    else:
        notice = f"Removed {before['user_name']} from {team['name']}."
    return Redirect(org_url(org, "teams", team["id"]), notice)


def routes() -> list[BaseRoute]:
    """This module's pages, relative to ``/admin``, each starting ``/orgs/{org}``."""
    team = "/orgs/{org}/teams/{team}"
    return [
        Route("/orgs/{org}/people", page(people_page), methods=["GET"]),
        Route("/orgs/{org}/people/{user}", page(member_page), methods=["GET"]),
        Route("/orgs/{org}/teams", page(teams_page), methods=["GET"]),
        Route("/orgs/{org}/teams", page(create_team, write=True), methods=["POST"]),
        Route(team, page(team_page), methods=["GET"]),
        Route(f"{team}/add", page(add_member, write=True), methods=["POST"]),
        Route(f"{team}/remove", page(remove_member, write=True), methods=["POST"]),
    ]
