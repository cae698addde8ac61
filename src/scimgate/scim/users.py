"""The ``/Users`` endpoints (RFC 7644 §3.3 to §3.6): parse, one domain call, map, respond."""

from typing import Any

from scim2_models import Context, EnterpriseUser, PatchOp
from scim2_models import User as ScimUserBase
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from scimgate.domain import users
from scimgate.errors import InvalidValueError
from scimgate.storage.filters import user_filter
from scimgate.storage.models import User

from .listing import list_query
from .mapping import ScimUser, from_scim_user, to_scim_user
from .rendering import (
    dump,
    list_body,
    not_modified,
    resource_response,
    response_parameters,
    wants_no_content,
)
from .requests import if_match, read_json, without_foreign_keys
from .responses import ScimResponse
from .tenancy import base_url, in_transaction, tenant

USER_SCHEMAS = (str(ScimUserBase.__schema__), str(EnterpriseUser.__schema__))
# RFC 7643 §4.1: "groups" is readOnly on a User; it is managed through /Groups.
_READ_ONLY = ("id", "meta", "groups")


def parse_user(body: dict[str, Any]) -> ScimUser:
    """Validate a User body, ignoring read-only attributes and foreign extensions."""
    resource = ScimUser.model_validate(without_foreign_keys(body, USER_SCHEMAS, _READ_ONLY))
    if not resource.user_name:
        raise InvalidValueError("userName is required (the user's email address).")
    return resource


def _respond(
    resource: ScimUser,
    request: Request,
    status: int = 200,
    context: Context = Context.RESOURCE_QUERY_RESPONSE,
) -> Response:
    return resource_response(resource, response_parameters(request, ScimUser), status, context)


async def list_users(request: Request) -> Response:
    """GET /Users: filter, page and project the organization's users."""
    org = await tenant(request)
    where, page = list_query(request, user_filter)
    params = response_parameters(request, ScimUser)
    base = base_url(request)

    def work(session: Session) -> dict[str, Any]:
        found = users.search(session, org, where, page)
        return list_body(found, [dump(to_scim_user(row, base), params) for row in found.items])

    return ScimResponse(await in_transaction(request, work, write=False))


async def create_user(request: Request) -> Response:
    """POST /Users: provision a user; 201 with Location, 409 if the userName is taken."""
    org = await tenant(request)
    row = from_scim_user(parse_user(await read_json(request)))
    base = base_url(request)

    def work(session: Session) -> ScimUser:
        return to_scim_user(users.create(session, org, row), base)

    created = await in_transaction(request, work, write=True)
    return _respond(created, request, 201, Context.RESOURCE_CREATION_RESPONSE)


async def get_user(request: Request) -> Response:
    """GET /Users/{id}; 304 when If-None-Match names the current version."""
    org = await tenant(request)
    user_id = request.path_params["id"]
    base = base_url(request)

    def work(session: Session) -> ScimUser:
        return to_scim_user(users.get(session, org, user_id), base)

    resource = await in_transaction(request, work, write=False)
    return not_modified(request, resource) or _respond(resource, request)


async def replace_user(request: Request) -> Response:
    """PUT /Users/{id}: replace the user's attributes with the body's."""
    org = await tenant(request)
    incoming = from_scim_user(parse_user(await read_json(request)))
    base = base_url(request)

    def work(session: Session) -> ScimUser:
        row = users.update(
            session, org, request.path_params["id"], lambda _: incoming, if_match=if_match(request)
        )
        return to_scim_user(row, base)

    resource = await in_transaction(request, work, write=True)
    return _respond(resource, request, context=Context.RESOURCE_REPLACEMENT_RESPONSE)


def _is_foreign(name: str) -> bool:
    """Tell whether an attribute path or key belongs to an extension the server lacks."""
    lowered = name.split("[", 1)[0].strip().lower()
    known = (urn.lower() for urn in USER_SCHEMAS)
    return ":" in lowered and not any(
        lowered == urn or lowered.startswith(urn + ":") for urn in known
    )


def parse_user_patch(body: dict[str, Any]) -> PatchOp[ScimUser] | None:
    """Validate a PatchOp body, ignoring what it says about foreign extensions.

    POST and PUT ignore the attributes of extensions this server does not define
    (``without_foreign_keys``); PATCH does the same, so an IdP that maps custom
    attributes can still update the user's other ones. None means every operation
    was about such an extension, so nothing changes.
    """
    operations = body.get("Operations")
    if isinstance(operations, list) and operations:
        kept: list[Any] = []
        for operation in operations:
            if isinstance(operation, dict):
                path, value = operation.get("path"), operation.get("value")
                if isinstance(path, str) and _is_foreign(path):
                    continue
                if path is None and isinstance(value, dict):
                    value = {key: item for key, item in value.items() if not _is_foreign(key)}
                    operation = {**operation, "value": value}
            kept.append(operation)
        if not kept:
            return None
        body = {**body, "Operations": kept}
    return PatchOp[ScimUser].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)


async def patch_user(request: Request) -> Response:
    """PATCH /Users/{id} (RFC 7644 §3.5.2): all operations apply, or none does."""
    org = await tenant(request)
    patch = parse_user_patch(await read_json(request))
    base = base_url(request)

    def revise(current: User) -> User:
        resource = to_scim_user(current, base)
        if patch is not None:
            patch.patch(resource)
        return from_scim_user(resource)

    def work(session: Session) -> ScimUser:
        row = users.update(
            session, org, request.path_params["id"], revise, if_match=if_match(request)
        )
        return to_scim_user(row, base)

    resource = await in_transaction(request, work, write=True)
    return _patched_response(resource, request)


def _patched_response(resource: ScimUser, request: Request) -> Response:
    # RFC 7644 §3.5.2: 200 with the resource, or 204 when the client asked for no
    # attributes at all (an empty "attributes" parameter).
    if wants_no_content(request):
        version = resource.meta.version if resource.meta else None
        return Response(status_code=204, headers={"ETag": version} if version else {})
    return _respond(resource, request, context=Context.RESOURCE_PATCH_RESPONSE)


async def delete_user(request: Request) -> Response:
    """DELETE /Users/{id}: 204, and 404 for every request after."""
    org = await tenant(request)

    def work(session: Session) -> None:
        users.remove(session, org, request.path_params["id"], if_match=if_match(request))

    await in_transaction(request, work, write=True)
    return Response(status_code=204)
