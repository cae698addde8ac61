"""The ``/Groups`` endpoints (RFC 7644 §3.3 to §3.6): parse, one domain call, map, respond."""

from typing import Any

from scim2_models import Context, PatchOp, ResponseParameters
from scim2_models import Group as ScimGroup
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from scimgate.config import Settings
from scimgate.domain import groups
from scimgate.domain.groups import Rename, ReplaceMembers, SetExternalId
from scimgate.errors import InvalidValueError, TooManyError
from scimgate.storage.filters import group_filter
from scimgate.storage.models import Group

from .mapping import from_scim_group, group_changes, to_scim_group
from .rendering import dump, list_body, response_parameters, wants
from .requests import if_match, page_request, read_json, without_foreign_keys
from .responses import ScimResponse
from .tenancy import base_url, in_transaction, tenant

GROUP_SCHEMAS = (str(ScimGroup.__schema__),)
_READ_ONLY = ("id", "meta")


def parse_group(body: dict[str, Any], settings: Settings) -> ScimGroup:
    """Validate a Group body, ignoring read-only attributes and foreign extensions."""
    resource = ScimGroup.model_validate(without_foreign_keys(body, GROUP_SCHEMAS, _READ_ONLY))
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


def _resource_response(
    resource: ScimGroup,
    params: ResponseParameters[Any],
    status: int = 200,
    context: Context = Context.RESOURCE_QUERY_RESPONSE,
) -> Response:
    headers = {"ETag": resource.meta.version} if resource.meta and resource.meta.version else {}
    if status == 201 and resource.meta and resource.meta.location:
        headers["Location"] = resource.meta.location
    return ScimResponse(dump(resource, params, context), status_code=status, headers=headers)


async def list_groups(request: Request) -> Response:
    """GET /Groups: filter, page and project the organization's groups."""
    org = await tenant(request)
    settings: Settings = request.app.state.settings
    text = request.query_params.get("filter")
    where = group_filter(text) if text else None
    page = page_request(request, settings.default_page_size, settings.max_page_size)
    params = response_parameters(request, ScimGroup)
    base = base_url(request)

    def work(session: Session) -> dict[str, Any]:
        found = groups.search(session, org, where, page)
        members: dict[str, Any] = {}
        if wants(params, "members"):
            members = groups.members_of(session, [row.id for row in found.items])
        resources = [
            dump(to_scim_group(row, members.get(row.id), base), params) for row in found.items
        ]
        return list_body(found, resources)

    return ScimResponse(await in_transaction(request, work, write=False))


async def create_group(request: Request) -> Response:
    """POST /Groups: create a group with its members; 409 if the name is taken."""
    org = await tenant(request)
    row, refs = from_scim_group(parse_group(await read_json(request), request.app.state.settings))
    params = response_parameters(request, ScimGroup)
    base = base_url(request)

    def work(session: Session) -> ScimGroup:
        return _render(session, groups.create(session, org, row, refs), base, params)

    created = await in_transaction(request, work, write=True)
    return _resource_response(created, params, 201, Context.RESOURCE_CREATION_RESPONSE)


async def get_group(request: Request) -> Response:
    """GET /Groups/{id}; 304 when If-None-Match names the current version."""
    org = await tenant(request)
    params = response_parameters(request, ScimGroup)
    base = base_url(request)

    def work(session: Session) -> ScimGroup:
        return _render(session, groups.get(session, org, request.path_params["id"]), base, params)

    resource = await in_transaction(request, work, write=False)
    version = resource.meta.version if resource.meta else None
    if version and request.headers.get("if-none-match") == version:
        return Response(status_code=304, headers={"ETag": version})
    return _resource_response(resource, params)


async def replace_group(request: Request) -> Response:
    """PUT /Groups/{id}: replace name, externalId and the whole member list."""
    org = await tenant(request)
    row, refs = from_scim_group(parse_group(await read_json(request), request.app.state.settings))
    changes = [
        Rename(display_name=row.display_name),
        SetExternalId(external_id=row.external_id),
        ReplaceMembers(refs=refs),
    ]
    return await _update(request, org, changes, Context.RESOURCE_REPLACEMENT_RESPONSE)


async def patch_group(request: Request) -> Response:
    """PATCH /Groups/{id} (RFC 7644 §3.5.2): all operations apply, or none does."""
    org = await tenant(request)
    patch = PatchOp[ScimGroup].model_validate(
        await read_json(request), scim_ctx=Context.RESOURCE_PATCH_REQUEST
    )
    changes = group_changes(patch)
    named = sum(len(getattr(change, "refs", ())) for change in changes)
    _check_member_count(named, request.app.state.settings)
    if "attributes" in request.query_params and not request.query_params["attributes"]:
        # RFC 7644 §3.5.2: the client asked for no attributes; answer 204.
        await _apply(request, org, changes)
        return Response(status_code=204)
    return await _update(request, org, changes, Context.RESOURCE_PATCH_RESPONSE)


async def _apply(request: Request, org: Any, changes: list[Any]) -> None:
    def work(session: Session) -> None:
        groups.update(session, org, request.path_params["id"], changes, if_match=if_match(request))

    await in_transaction(request, work, write=True)


async def _update(request: Request, org: Any, changes: list[Any], context: Context) -> Response:
    params = response_parameters(request, ScimGroup)
    base = base_url(request)

    def work(session: Session) -> ScimGroup:
        row = groups.update(
            session, org, request.path_params["id"], changes, if_match=if_match(request)
        )
        return _render(session, row, base, params)

    resource = await in_transaction(request, work, write=True)
    return _resource_response(resource, params, context=context)


async def delete_group(request: Request) -> Response:
    """DELETE /Groups/{id}: 204; the member users are kept."""
    org = await tenant(request)

    def work(session: Session) -> None:
        groups.remove(session, org, request.path_params["id"], if_match=if_match(request))

    await in_transaction(request, work, write=True)
    return Response(status_code=204)
