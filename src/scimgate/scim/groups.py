"""The ``/Groups`` endpoints (RFC 7644 §3.3 to §3.6): parse, one domain call, map, respond."""

from typing import Any

from scim2_models import Context, PatchOp, ResponseParameters
from scim2_models import Group as ScimGroup
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from scimgate.config import Settings
from scimgate.domain import groups
from scimgate.domain.groups import GroupChange, Rename, ReplaceMembers, SetExternalId
from scimgate.errors import InvalidValueError, TooManyError
from scimgate.storage.filters import group_filter
from scimgate.storage.models import Group, Organization
from scimgate.storage.sorting import group_sort_key

from . import providers
from .listing import ResourceKind, from_query, from_search_body, list_response
from .mapping import etag, from_scim_group, group_changes, to_scim_group
from .rendering import (
    dump,
    not_modified,
    resource_response,
    response_parameters,
    wants,
)
from .requests import (
    canonical_body,
    canonical_message,
    declared_names,
    if_match,
    patch_op,
    read_json,
)
from .tenancy import base_url, in_transaction, tenant

GROUP_SCHEMAS = (str(ScimGroup.__schema__),)
_READ_ONLY = ("id", "meta")


def parse_group(body: dict[str, Any], settings: Settings) -> ScimGroup:
    """Validate a Group body, ignoring read-only attributes and foreign extensions."""
    resource = ScimGroup.model_validate(
        canonical_body(body, GROUP_SCHEMAS, _READ_ONLY, declared_names(ScimGroup))
    )
    if not resource.display_name or not resource.display_name.strip():
        raise InvalidValueError("displayName is required.")
    _check_member_count(len(resource.members or []), settings)
    return resource


def _check_member_count(count: int, settings: Settings) -> None:
    if count > settings.max_members_per_request:
        raise TooManyError(
            f"A request may name at most {settings.max_members_per_request} members; "
            f"this one names {count}. Send them in several PATCH requests."
        )


def _render(
    session: Session,
    row: Group,
    base: str,
    params: ResponseParameters[Any],
) -> ScimGroup:
    # Members are loaded only when the response can show them, so that
    # excludedAttributes=members costs the same for a group of any size.
    members = groups.members_of(session, [row.id])[row.id] if wants(params, "members") else None
    return to_scim_group(row, members, base)


def _render_page(
    session: Session, rows: list[Group], params: ResponseParameters[Any], base: str
) -> list[dict[str, Any]]:
    members: dict[str, Any] = {}
    if wants(params, "members"):
        members = groups.members_of(session, [row.id for row in rows])
    return [dump(to_scim_group(row, members.get(row.id), base), params) for row in rows]


GROUPS = ResourceKind(
    name="Group",
    model=ScimGroup,
    translate=group_filter,
    sort_key=lambda attribute: group_sort_key(attribute).expression,
    search=groups.search,
    render=_render_page,
)


async def list_groups(request: Request) -> Response:
    """GET /Groups: filter, sort, page and project the organization's groups."""
    org = await tenant(request)
    return await list_response(request, org, from_query(request), GROUPS)


async def search_groups(request: Request) -> Response:
    """POST /Groups/.search (RFC 7644 §3.4.3): GET /Groups with its parameters in a body."""
    org = await tenant(request)
    return await list_response(request, org, from_search_body(await read_json(request)), GROUPS)


async def create_group(request: Request) -> Response:
    """POST /Groups: create a group with its members; 409 if the name is taken."""
    org = await tenant(request)
    row, refs = from_scim_group(parse_group(await read_json(request), request.app.state.settings))
    params = response_parameters(request, ScimGroup)
    base = base_url(request)

    def work(session: Session) -> ScimGroup:
        return _render(session, groups.create(session, org, row, refs), base, params)

    created = await in_transaction(request, work, write=True)
    return resource_response(created, params, 201, Context.RESOURCE_CREATION_RESPONSE)


async def get_group(request: Request) -> Response:
    """GET /Groups/{id}; 304 when If-None-Match names the current version."""
    org = await tenant(request)
    params = response_parameters(request, ScimGroup)
    base = base_url(request)

    def work(session: Session) -> ScimGroup:
        return _render(session, groups.get(session, org, request.path_params["id"]), base, params)

    resource = await in_transaction(request, work, write=False)
    return not_modified(request, resource) or resource_response(resource, params)


async def replace_group(request: Request) -> Response:
    """PUT /Groups/{id}: replace name, externalId and the whole member list."""
    org = await tenant(request)
    row, refs = from_scim_group(parse_group(await read_json(request), request.app.state.settings))
    changes: list[GroupChange] = [
        Rename(display_name=row.display_name),
        SetExternalId(external_id=row.external_id),
        ReplaceMembers(refs=refs),
    ]
    return await _update(request, org, changes, Context.RESOURCE_REPLACEMENT_RESPONSE)


async def patch_group(request: Request) -> Response:
    """PATCH /Groups/{id} (RFC 7644 §3.5.2): all operations apply, or none does."""
    org = await tenant(request)
    body = canonical_message(await read_json(request), str(PatchOp.__schema__))
    body, removal_values = _take_removal_values(body)
    patch = patch_op(ScimGroup).model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
    settings: Settings = request.app.state.settings
    changes = group_changes(patch, removal_values, settings.max_members_per_request)
    named = sum(len(getattr(change, "refs", ())) for change in changes)
    _check_member_count(named, settings)
    # RFC 7644 §3.5.2 lets a PATCH answer 204 with no body. For groups that is the
    # default: the full answer carries every member, so its cost would grow with the
    # group on each one-member change, and Entra ID (which pushes one PATCH per
    # membership change) asks apps to answer 204. A client that names what it wants
    # back with ``attributes`` or ``excludedAttributes`` gets a 200 with exactly that.
    # Keycloak's older clients need the 200 (providers.wants_patched_group).
    query = request.query_params
    if (
        query.get("attributes")
        or query.get("excludedAttributes")
        or providers.wants_patched_group(request.headers.get("user-agent"), request.url.query)
    ):
        return await _update(request, org, changes, Context.RESOURCE_PATCH_RESPONSE)
    version = await _apply(request, org, changes)
    return Response(status_code=204, headers={"ETag": etag(version)})


def _take_removal_values(body: dict[str, Any]) -> tuple[dict[str, Any], dict[int, Any]]:
    """Return the body without the values of remove operations, and those values by index.

    RFC 7644 §3.5.2.2 gives "remove" no value and the model library refuses one, but
    Entra ID removes group members as {"op": "Remove", "path": "members", "value":
    [{"value": "<id>"}]}; that value names the members to remove.
    """
    key = next((name for name in body if name.lower() == "operations"), None)
    if key is None or not isinstance(body[key], list):
        return body, {}
    values: dict[int, Any] = {}
    kept: list[Any] = []
    for index, operation in enumerate(body[key]):
        if isinstance(operation, dict):
            names = {name.lower(): name for name in operation}
            op = operation.get(names.get("op", ""))
            if isinstance(op, str) and op.lower() == "remove" and "value" in names:
                values[index] = operation[names["value"]]
                operation = {k: v for k, v in operation.items() if k != names["value"]}
        kept.append(operation)
    return {**body, key: kept}, values


async def _apply(request: Request, org: Organization, changes: list[GroupChange]) -> int:
    """Apply ``changes`` and return the group's new version."""

    def work(session: Session) -> tuple[int, str]:
        group_id = request.path_params["id"]
        group = groups.update(session, org, group_id, changes, if_match=if_match(request))
        return group.version, group.display_name

    version, name = await in_transaction(request, work, write=True)
    # The 204 answer has no body to name the group in the request log's summary.
    request.state.scim_target_name = name
    return version


async def _update(
    request: Request, org: Organization, changes: list[GroupChange], context: Context
) -> Response:
    params = response_parameters(request, ScimGroup)
    base = base_url(request)

    def work(session: Session) -> ScimGroup:
        row = groups.update(
            session, org, request.path_params["id"], changes, if_match=if_match(request)
        )
        return _render(session, row, base, params)

    resource = await in_transaction(request, work, write=True)
    return resource_response(resource, params, context=context)


async def delete_group(request: Request) -> Response:
    """DELETE /Groups/{id}: 204; the member users are kept."""
    org = await tenant(request)

    def work(session: Session) -> None:
        groups.remove(session, org, request.path_params["id"], if_match=if_match(request))

    await in_transaction(request, work, write=True)
    return Response(status_code=204)
