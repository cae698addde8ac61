"""List and search requests: filter, sort, index or cursor paging, projection.

``GET /Users``, ``POST /Users/.search`` and their Group and root counterparts read
the same parameters, from the query string or from a SearchRequest body (RFC 7644
§3.4.3), and answer through :func:`list_response`.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from scim2_models import Resource as ScimResource
from scim2_models import ResponseParameters
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from scimgate.config import Settings
from scimgate.domain import secrets
from scimgate.domain.paging import Ordering, Page, PageRequest
from scimgate.errors import InvalidFilterError, InvalidValueError
from scimgate.storage.models import Organization

from . import cursors, limits
from .rendering import LIST_SCHEMA, projection
from .responses import ScimResponse
from .tenancy import base_url, in_transaction

SEARCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@dataclass(frozen=True)
class ListParams:
    """What a list or search request asks for."""

    filter: str | None = None
    sort_by: str | None = None
    descending: bool = False
    start_index: int | None = None
    count: int | None = None
    cursor: str | None = None
    """None for index paging; "" asks for the first page of cursor paging (RFC 9865)."""
    attributes: str | None = None
    excluded_attributes: str | None = None


@dataclass(frozen=True)
class ResourceKind:
    """How one resource type is filtered, sorted, fetched and rendered."""

    name: str
    model: type[ScimResource[Any]]
    translate: Callable[[str], ColumnElement[bool]]
    sort_key: Callable[[str], ColumnElement[Any]]
    search: Callable[[Session, Organization, ColumnElement[bool] | None, PageRequest], Page[Any]]
    render: Callable[[Session, list[Any], ResponseParameters[Any], str], list[dict[str, Any]]]


def from_query(request: Request) -> ListParams:
    """Read list parameters from the query string (RFC 7644 §3.4.2)."""
    return _params(request.query_params)


def from_search_body(body: Mapping[str, Any]) -> ListParams:
    """Read list parameters from a SearchRequest body (RFC 7644 §3.4.3)."""
    schemas = next((v for k, v in body.items() if k.lower() == "schemas"), None)
    if not isinstance(schemas, list) or SEARCH_SCHEMA.lower() not in [
        str(urn).lower() for urn in schemas
    ]:
        raise InvalidValueError(f"A search request lists the schema {SEARCH_SCHEMA}.")
    flat: dict[str, Any] = {}
    for key, value in body.items():
        if isinstance(value, list) and key.lower() in ("attributes", "excludedattributes"):
            value = ",".join(str(item) for item in value)
        flat[key] = value
    return _params(flat)


def _params(source: Mapping[str, Any]) -> ListParams:
    lowered = {str(key).lower(): value for key, value in source.items()}
    order = _text(lowered, "sortorder")
    if order is not None and order.lower() not in ("ascending", "descending"):
        raise InvalidValueError(f"sortOrder must be 'ascending' or 'descending', not {order!r}.")
    params = ListParams(
        filter=_text(lowered, "filter") or None,
        sort_by=_text(lowered, "sortby") or None,
        descending=(order or "").lower() == "descending",
        start_index=_integer(lowered, "startindex", "startIndex"),
        count=_integer(lowered, "count", "count"),
        cursor=_text(lowered, "cursor"),
        attributes=_text(lowered, "attributes") or None,
        excluded_attributes=_text(lowered, "excludedattributes") or None,
    )
    if params.cursor is not None and params.start_index is not None:
        # RFC 9865 §2: a request pages by index or by cursor, never both.
        raise InvalidValueError("Send either startIndex or cursor, not both.")
    return params


def _text(source: Mapping[str, Any], key: str) -> str | None:
    value = source.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidValueError(f"{key} must be a string.")
    return value


_LARGEST_INTEGER = 2**62


def _integer(source: Mapping[str, Any], key: str, name: str) -> int | None:
    raw = source.get(key)
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise InvalidValueError(f"{name} must be an integer, not {raw!r}.")
    try:
        value = int(raw)
    except ValueError:
        raise InvalidValueError(f"{name} must be an integer, not {raw!r}.") from None
    # RFC 7644 §3.4.2.4 bounds neither: beyond this every startIndex selects the same
    # empty page, and the value still fits the database's 64-bit offset (a larger one
    # was a 500 on SQLite).
    return max(-_LARGEST_INTEGER, min(value, _LARGEST_INTEGER))


def _count(params: ListParams, settings: Settings) -> int:
    # RFC 7644 §3.4.2.4: a negative count is read as 0, one above the maximum is cut.
    count = settings.default_page_size if params.count is None else params.count
    return min(max(count, 0), settings.max_page_size)


async def list_response(
    request: Request, org: Organization, params: ListParams, kind: ResourceKind
) -> Response:
    """Answer a list or search over one resource type with a ListResponse."""
    settings: Settings = request.app.state.settings
    if params.filter:
        limits.check_filter(params.filter, settings)
    where = kind.translate(params.filter) if params.filter else None
    ordering = Ordering(
        key=kind.sort_key(params.sort_by) if params.sort_by else None,
        descending=params.descending,
    )
    response_parameters = projection(kind.model, params.attributes, params.excluded_attributes)
    query_id = cursors.fingerprint(
        org.id, kind.name, params.filter, params.sort_by, str(params.descending)
    )
    key = await _cursor_key(request) if params.cursor is not None else b""
    after = None
    if params.cursor:
        after = cursors.decode(key, params.cursor, query_id, settings.cursor_timeout_seconds)
    page = PageRequest(
        start_index=max(params.start_index or 1, 1),
        count=_count(params, settings),
        keyset=params.cursor is not None,
        after=after,
        ordering=ordering,
    )
    base = base_url(request)

    def work(session: Session) -> tuple[Page[Any], list[dict[str, Any]]]:
        found = kind.search(session, org, where, page)
        return found, kind.render(session, found.items, response_parameters, base)

    found, resources = await in_transaction(request, work, write=False)
    body = _list_body(found.total, resources, None if page.keyset else found.start_index)
    if found.next_after is not None:
        body["nextCursor"] = cursors.encode(key, found.next_after, query_id)
    return ScimResponse(body)


def _list_body(total: int, resources: list[dict[str, Any]], start: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [LIST_SCHEMA], "totalResults": total}
    if start is not None:
        body["startIndex"] = start
    body["itemsPerPage"] = len(resources)
    body["Resources"] = resources
    return body


async def _cursor_key(request: Request) -> bytes:
    cached: bytes | None = getattr(request.app.state, "cursor_key", None)
    if cached is None:
        cached = await in_transaction(
            request, lambda session: secrets.get_or_create(session, secrets.CURSOR_KEY), write=True
        )
        request.app.state.cursor_key = cached
    return cached


async def root_search(
    request: Request, org: Organization, params: ListParams, kinds: list[ResourceKind]
) -> Response:
    """Search every resource type at once (RFC 7644 §3.4.3 at the server root).

    Results list the Users, then the Groups, each in creation order. A filter naming
    an attribute only one type has matches nothing of the other (RFC 7644 §3.4.2.1).
    Sorting and cursors are offered per resource type only.
    """
    if params.sort_by or params.cursor is not None:
        raise InvalidValueError(
            "sortBy and cursor are supported on /Users/.search and /Groups/.search, "
            "not at the server root."
        )
    settings: Settings = request.app.state.settings
    if params.filter:
        limits.check_filter(params.filter, settings)
    wheres = _root_filters(params.filter, kinds)
    start, count = max(params.start_index or 1, 1), _count(params, settings)
    base = base_url(request)

    def work(session: Session) -> tuple[int, list[dict[str, Any]]]:
        total, skip = 0, start - 1
        resources: list[dict[str, Any]] = []
        for kind, where in zip(kinds, wheres, strict=True):
            if where is False:
                continue
            wanted = count - len(resources)
            page = PageRequest(start_index=skip + 1, count=wanted)
            found = kind.search(session, org, where if where is not True else None, page)
            total += found.total
            skip = max(skip - found.total, 0)
            chosen = projection(kind.model, params.attributes, params.excluded_attributes)
            resources += kind.render(session, found.items, chosen, base)
        return total, resources

    total, resources = await in_transaction(request, work, write=False)
    return ScimResponse(_list_body(total, resources, start))


def _root_filters(text: str | None, kinds: list[ResourceKind]) -> list[Any]:
    """Each type's SQL condition: True (no filter), False (cannot match) or an expression."""
    if not text:
        return [True for _ in kinds]
    wheres: list[Any] = []
    errors: list[InvalidFilterError] = []
    for kind in kinds:
        try:
            wheres.append(kind.translate(text))
        except InvalidFilterError as exc:
            wheres.append(False)
            errors.append(exc)
    if len(errors) == len(kinds):
        raise errors[0]
    return wheres
