"""Serializing SCIM resources for responses: projection, list bodies, headers."""

from typing import Any

from scim2_models import Context, ResponseParameters
from scim2_models import Resource as ScimResource
from starlette.requests import Request

from scimgate.domain.paging import Page

LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def response_parameters(
    request: Request, model: type[ScimResource[Any]]
) -> ResponseParameters[Any]:
    """Read ``attributes`` / ``excludedAttributes`` (RFC 7644 §3.9) for ``model``."""
    query = request.query_params
    return ResponseParameters[model].model_validate(  # type: ignore[valid-type]
        {
            "attributes": query.get("attributes") or None,
            "excludedAttributes": query.get("excludedAttributes") or None,
        }
    )


def wants(params: ResponseParameters[Any], attribute: str) -> bool:
    """Tell whether a response projected by ``params`` can include ``attribute``."""
    name = attribute.lower()
    if params.attributes:
        return any(
            str(path).lower().split(".")[0].split(":")[-1] == name for path in params.attributes
        )
    if params.excluded_attributes:
        return all(str(path).lower() != name for path in params.excluded_attributes)
    return True


def dump(
    resource: ScimResource[Any],
    params: ResponseParameters[Any] | None,
    context: Context = Context.RESOURCE_QUERY_RESPONSE,
) -> dict[str, Any]:
    """Serialize a resource as a response shows it, honouring ``returned``."""
    return resource.model_dump(scim_ctx=context, response_parameters=params)


def list_body(page: Page[Any], resources: list[dict[str, Any]]) -> dict[str, Any]:
    """Build a ListResponse (RFC 7644 §3.4.2)."""
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": page.total,
        "startIndex": page.start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
