"""Serializing SCIM resources for responses: projection, list bodies, headers."""

from dataclasses import dataclass
from typing import Any

from scim2_models import Context, ResponseParameters
from scim2_models import Resource as ScimResource
from starlette.requests import Request
from starlette.responses import Response

from .requests import none_match, parse_etag, response_parameters_of
from .responses import ScimResponse

LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def response_parameters(
    request: Request, model: type[ScimResource[Any]]
) -> ResponseParameters[Any]:
    """Read ``attributes`` / ``excludedAttributes`` (RFC 7644 §3.9) from the query."""
    query = request.query_params
    return projection(model, query.get("attributes"), query.get("excludedAttributes"))


def projection(
    model: type[ScimResource[Any]], attributes: str | None, excluded: str | None
) -> ResponseParameters[Any]:
    """Validate comma-separated ``attributes`` / ``excludedAttributes`` against ``model``."""
    return response_parameters_of(model).model_validate(
        {"attributes": attributes or None, "excludedAttributes": excluded or None}
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


def resource_response(
    resource: ScimResource[Any],
    params: ResponseParameters[Any] | None,
    status: int = 200,
    context: Context = Context.RESOURCE_QUERY_RESPONSE,
) -> Response:
    """Respond with one resource, its ETag, and on 201 its Location (RFC 7644 §3.3)."""
    meta = resource.meta
    document = dump(resource, params, context)
    return _respond(
        document, meta.version if meta else None, meta.location if meta else None, status
    )


@dataclass(frozen=True)
class Rendered:
    """A resource's response document, with what its headers need."""

    document: dict[str, Any]
    etag: str
    location: str


def is_unprojected(params: ResponseParameters[Any]) -> bool:
    """Tell whether the client left ``attributes`` and ``excludedAttributes`` out."""
    return not params.attributes and not params.excluded_attributes


def rendered_response(rendered: Rendered, status: int = 200) -> Response:
    """Respond with a rendered resource, its ETag, and on 201 its Location."""
    return _respond(rendered.document, rendered.etag, rendered.location, status)


def _respond(
    document: dict[str, Any], etag: str | None, location: str | None, status: int
) -> Response:
    headers = {"ETag": etag} if etag else {}
    if status == 201 and location:
        headers["Location"] = location
    return ScimResponse(document, status_code=status, headers=headers)


def rendered_not_modified(request: Request, rendered: Rendered) -> Response | None:
    """Answer 304 when ``If-None-Match`` names the resource's version (RFC 7644 §3.14)."""
    return _unchanged(request, rendered.etag)


def _unchanged(request: Request, etag: str | None) -> Response | None:
    if etag and none_match(request, parse_etag(etag)):
        return Response(status_code=304, headers={"ETag": etag})
    return None


def not_modified(request: Request, resource: ScimResource[Any]) -> Response | None:
    """Answer 304 when ``If-None-Match`` names the resource's version (RFC 7644 §3.14)."""
    return _unchanged(request, resource.meta.version if resource.meta else None)


def wants_no_content(request: Request) -> bool:
    """Tell whether the client asked for no attributes (an empty ``attributes``).

    RFC 7644 §3.5.2 lets a PATCH answer 204 instead of the resource; we do so only
    when the client asked for nothing back.
    """
    return "attributes" in request.query_params and not request.query_params["attributes"]
