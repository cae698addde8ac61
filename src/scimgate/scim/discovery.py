"""Discovery endpoints (RFC 7644 §4): what this server supports, and nothing more."""

from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    EnterpriseUser,
    ETag,
    Filter,
    Meta,
    Pagination,
    Patch,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    Sort,
)
from scim2_models import Group as ScimGroup
from scim2_models import Resource as ScimResource
from starlette.requests import Request
from starlette.responses import Response

from scimgate.config import Settings
from scimgate.errors import NotFoundError

from .mapping import ScimUser
from .rendering import LIST_SCHEMA
from .responses import ScimResponse
from .tenancy import base_url, tenant

_RESOURCES: tuple[type[ScimResource[Any]], ...] = (ScimUser, ScimGroup)


def service_provider_config(settings: Settings, base: str) -> dict[str, Any]:
    """Describe the features this server implements (RFC 7643 §5)."""
    config = ServiceProviderConfig(
        documentation_uri="https://github.com/scimgate/scimgate#readme",
        patch=Patch(supported=True),
        bulk=Bulk(
            supported=True,
            max_operations=settings.bulk_max_operations,
            max_payload_size=settings.bulk_max_payload_bytes,
        ),
        filter=Filter(supported=True, max_results=settings.max_page_size),
        # A password sent with PUT or PATCH is stored (hashed), never returned.
        change_password=ChangePassword(supported=True),
        sort=Sort(supported=True),
        etag=ETag(supported=True),
        pagination=Pagination(
            cursor=True,
            index=True,
            default_pagination_method=Pagination.DefaultPaginationMethod.index,
            default_page_size=settings.default_page_size,
            max_page_size=settings.max_page_size,
            cursor_timeout=settings.cursor_timeout_seconds,
        ),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken",
                name="OAuth Bearer Token",
                description="The organization's SCIM token, sent as a Bearer token.",
                spec_uri="https://www.rfc-editor.org/rfc/rfc6750",
                primary=True,
            )
        ],
        meta=Meta(resource_type="ServiceProviderConfig", location=f"{base}/ServiceProviderConfig"),
    )
    return config.model_dump()


def resource_types(base: str) -> list[dict[str, Any]]:
    """Describe the User and Group resource types (RFC 7643 §6)."""
    described = []
    for model in _RESOURCES:
        resource_type = ResourceType.from_resource(model)
        resource_type.meta = Meta(
            resource_type="ResourceType", location=f"{base}/ResourceTypes/{resource_type.id}"
        )
        described.append(resource_type.model_dump())
    return described


def schemas(base: str) -> list[dict[str, Any]]:
    """Describe the schemas with their attribute characteristics (RFC 7643 §7)."""
    described = []
    for schema in (ScimUser.to_schema(), EnterpriseUser.to_schema(), ScimGroup.to_schema()):
        _locate(schema, base)
        described.append(schema.model_dump())
    return described


def _locate(schema: Schema, base: str) -> None:
    schema.meta = Meta(resource_type="Schema", location=f"{base}/Schemas/{schema.id}")


def _list(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def _find(resources: list[dict[str, Any]], wanted: str, kind: str) -> dict[str, Any]:
    for resource in resources:
        if str(resource["id"]).lower() == wanted.lower():
            return resource
    raise NotFoundError(f"No {kind} {wanted!r}.")


async def get_service_provider_config(request: Request) -> Response:
    """GET /ServiceProviderConfig."""
    await tenant(request)
    return ScimResponse(service_provider_config(request.app.state.settings, base_url(request)))


def _listing(request: Request, described: list[dict[str, Any]], kind: str) -> Response:
    wanted = request.path_params.get("id")
    if wanted:
        return ScimResponse(_find(described, wanted, kind))
    return ScimResponse(_list(described))


async def get_resource_types(request: Request) -> Response:
    """GET /ResourceTypes and /ResourceTypes/{id}."""
    await tenant(request)
    return _listing(request, resource_types(base_url(request)), "resource type")


async def get_schemas(request: Request) -> Response:
    """GET /Schemas and /Schemas/{id}."""
    await tenant(request)
    return _listing(request, schemas(base_url(request)), "schema")
