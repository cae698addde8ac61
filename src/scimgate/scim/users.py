"""The ``/Users`` endpoints (RFC 7644 §3.3 to §3.6): parse, one domain call, map, respond."""

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from scim2_models import Context, EnterpriseUser, PatchOp, ResponseParameters
from scim2_models import User as ScimUserBase
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from scimgate.config import Settings
from scimgate.domain import breaker, users
from scimgate.errors import InvalidValueError
from scimgate.storage.filters import user_filter
from scimgate.storage.models import User
from scimgate.storage.sorting import user_sort_key

from . import quirks
from .listing import ResourceKind, from_query, from_search_body, list_response
from .mapping import ScimUser, etag, from_scim_user, to_scim_user, user_document
from .rendering import (
    Rendered,
    dump,
    is_unprojected,
    rendered_not_modified,
    rendered_response,
    response_parameters,
    wants_no_content,
)
from .requests import (
    attribute_key,
    canonical_body,
    canonical_message,
    declared_names,
    if_match,
    patch_op,
    read_json,
)
from .tenancy import base_url, in_transaction, tenant

_DECLARED = declared_names(ScimUser)
USER_SCHEMAS = (str(ScimUserBase.__schema__), str(EnterpriseUser.__schema__))
_PATCH_OP_SCHEMA = str(PatchOp.__schema__)
# RFC 7643 §4.1: "groups" is readOnly on a User; it is managed through /Groups.
# Read-only sub-attributes (manager.displayName) are left out when the resource is
# stored (``from_scim_user``).
_READ_ONLY = ("id", "meta", "groups")
# RFC 7643 §4.1 and §4.3 declare no immutable User or EnterpriseUser attribute, and
# neither do the scim2-models classes, so PUT and PATCH have no immutable rule to
# enforce here.

T = TypeVar("T")


def parse_user(body: dict[str, Any]) -> ScimUser:
    """Validate a User body, ignoring read-only attributes and foreign extensions.

    The library's checks of request contexts are not used: they require
    manager.value and manager.$ref, which RFC 7643 §4.3 only recommends.
    """
    body = quirks.user_body(body)
    resource = ScimUser.model_validate(canonical_body(body, USER_SCHEMAS, _READ_ONLY, _DECLARED))
    if not resource.user_name:
        raise InvalidValueError("userName is required (the user's email address).")
    _check_one_primary(resource)
    return resource


def _check_one_primary(resource: ScimUser) -> None:
    """Refuse a multi-valued attribute holding more than one primary value.

    RFC 7643 §2.4: the primary value "true" MUST appear no more than once. A PATCH
    that marks a value primary unmarks the others instead (RFC 7644 §3.5.2), which
    the library's ``PatchOp.patch`` does.
    """
    document = resource.model_dump(mode="json", by_alias=True, exclude_none=True)
    for name, values in document.items():
        if isinstance(values, list):
            marked = sum(1 for item in values if isinstance(item, dict) and item.get("primary"))
            if marked > 1:
                raise InvalidValueError(f"{name}: {marked} values are primary; at most one may be.")


def _render(
    row: User,
    base: str,
    params: ResponseParameters[Any],
    context: Context = Context.RESOURCE_QUERY_RESPONSE,
) -> Rendered:
    # Unprojected responses, by far the most frequent, skip the model (see user_document).
    if is_unprojected(params):
        document = user_document(row, base)
    else:
        document = dump(to_scim_user(row, base), params, context)
    return Rendered(document, etag(row.version), f"{base}/Users/{row.id}")


def _render_page(
    session: Session, rows: list[User], params: ResponseParameters[Any], base: str
) -> list[dict[str, Any]]:
    return [_render(row, base, params).document for row in rows]


USERS = ResourceKind(
    name="User",
    model=ScimUser,
    translate=user_filter,
    sort_key=lambda attribute: user_sort_key(attribute).expression,
    search=users.search,
    render=_render_page,
)


async def list_users(request: Request) -> Response:
    """GET /Users: filter, sort, page and project the organization's users."""
    org = await tenant(request)
    return await list_response(request, org, from_query(request), USERS)


async def search_users(request: Request) -> Response:
    """POST /Users/.search (RFC 7644 §3.4.3): GET /Users with its parameters in a body."""
    org = await tenant(request)
    return await list_response(request, org, from_search_body(await read_json(request)), USERS)


async def create_user(request: Request) -> Response:
    """POST /Users: provision a user; 201 with Location, 409 if the userName is taken."""
    org = await tenant(request)
    row = from_scim_user(parse_user(await read_json(request)))
    base = base_url(request)
    params = response_parameters(request, ScimUser)

    def work(session: Session) -> Rendered:
        created = users.create(session, org, row)
        return _render(created, base, params, Context.RESOURCE_CREATION_RESPONSE)

    return rendered_response(await in_transaction(request, work, write=True), 201)


async def get_user(request: Request) -> Response:
    """GET /Users/{id}; 304 when If-None-Match names the current version."""
    org = await tenant(request)
    user_id = request.path_params["id"]
    base = base_url(request)
    params = response_parameters(request, ScimUser)

    def work(session: Session) -> Rendered:
        return _render(users.get(session, org, user_id), base, params)

    rendered = await in_transaction(request, work, write=False)
    return rendered_not_modified(request, rendered) or rendered_response(rendered)


def _limits(request: Request) -> breaker.Limits:
    settings: Settings = request.app.state.settings
    return breaker.Limits.from_settings(settings)


async def _changing(request: Request, work: Callable[[Session], T]) -> T:
    """Run a change that may deprovision the user; a held one is noted on the breaker.

    The held request's transaction rolled back, so the trip is recorded in one of its
    own, whose warning joins this request's log entry.
    """
    try:
        return await in_transaction(request, work, write=True)
    except breaker.DeprovisioningHeldError as held:
        await in_transaction(request, partial(breaker.record_trip, held=held), write=True)
        raise


async def replace_user(request: Request) -> Response:
    """PUT /Users/{id}: replace the user's attributes with the body's."""
    org = await tenant(request)
    incoming = from_scim_user(parse_user(await read_json(request)))
    base = base_url(request)
    params = response_parameters(request, ScimUser)
    limits = _limits(request)

    def work(session: Session) -> Rendered:
        row = users.update(
            session,
            org,
            request.path_params["id"],
            lambda _: incoming,
            if_match=if_match(request),
            limits=limits,
        )
        return _render(row, base, params, Context.RESOURCE_REPLACEMENT_RESPONSE)

    return rendered_response(await _changing(request, work))


def _undeclared(name: str) -> bool:
    """Tell whether a value key names a core attribute the User schema lacks."""
    lowered = name.split("[", 1)[0].strip().lower()
    return ":" not in lowered and lowered.split(".", 1)[0] not in _DECLARED


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
    (``canonical_body``); PATCH does the same, so an IdP that maps custom
    attributes can still update the user's other ones. None means every operation
    was about such an extension, so nothing changes.

    Member names are read in any case (RFC 7643 §2.1), as the library reads them;
    it also resolves paths and value keys in any case.
    """
    body = quirks.patch_body(canonical_message(body, _PATCH_OP_SCHEMA))
    key = attribute_key(body, "Operations")
    operations = body[key] if key else None
    if key and isinstance(operations, list) and operations:
        kept = [op for op in map(_without_foreign, operations) if op is not None]
        if not kept:
            return None
        body = {**body, key: kept}
    return patch_op(ScimUser).model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)


def _without_foreign(operation: Any) -> Any:
    """Return an operation without what it says about foreign extensions.

    None means the operation is about such an extension only.
    """
    if not isinstance(operation, dict):
        return operation
    path_key, value_key = attribute_key(operation, "path"), attribute_key(operation, "value")
    path = operation[path_key] if path_key else None
    if isinstance(path, str) and _is_foreign(path):
        return None
    value = operation[value_key] if value_key else None
    if path is None and value_key and isinstance(value, dict):
        # Unknown keys in a value are ignored as in a POST body; a path naming an
        # unknown core attribute stays an error (RFC 7644 §3.5.2 invalidPath).
        value = {
            name: item
            for name, item in value.items()
            if not (_is_foreign(name) or _undeclared(name))
        }
        return {**operation, value_key: value}
    return operation


async def patch_user(request: Request) -> Response:
    """PATCH /Users/{id} (RFC 7644 §3.5.2): all operations apply, or none does."""
    org = await tenant(request)
    patch = parse_user_patch(await read_json(request))
    base = base_url(request)
    params = response_parameters(request, ScimUser)
    limits = _limits(request)

    def revise(current: User) -> User:
        resource = to_scim_user(current, base)
        if patch is not None:
            quirks.apply_patch(patch, resource, ScimUser)
        return from_scim_user(resource)

    def work(session: Session) -> Rendered:
        row = users.update(
            session,
            org,
            request.path_params["id"],
            revise,
            if_match=if_match(request),
            limits=limits,
        )
        return _render(row, base, params, Context.RESOURCE_PATCH_RESPONSE)

    rendered = await _changing(request, work)
    # RFC 7644 §3.5.2: 200 with the resource, or 204 when the client asked for no
    # attributes at all (an empty "attributes" parameter).
    if wants_no_content(request):
        return Response(status_code=204, headers={"ETag": rendered.etag})
    return rendered_response(rendered)


async def delete_user(request: Request) -> Response:
    """DELETE /Users/{id}: 204, and 404 for every request after."""
    org = await tenant(request)
    limits = _limits(request)

    def work(session: Session) -> None:
        users.remove(
            session, org, request.path_params["id"], if_match=if_match(request), limits=limits
        )

    await _changing(request, work)
    return Response(status_code=204)
