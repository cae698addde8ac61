"""Reading list requests: filter, paging (RFC 7644 §3.4.2)."""

from collections.abc import Callable

from sqlalchemy import ColumnElement
from starlette.requests import Request

from scimgate.config import Settings
from scimgate.domain.paging import PageRequest
from scimgate.errors import InvalidValueError


def list_query(
    request: Request, translate: Callable[[str], ColumnElement[bool]]
) -> tuple[ColumnElement[bool] | None, PageRequest]:
    """Read the ``filter`` (translated to SQL by ``translate``) and paging of a list request."""
    settings: Settings = request.app.state.settings
    text = request.query_params.get("filter")
    where = translate(text) if text else None
    return where, page_request(request, settings.default_page_size, settings.max_page_size)


def page_request(request: Request, default_count: int, max_count: int) -> PageRequest:
    """Read ``startIndex`` and ``count`` (RFC 7644 §3.4.2.4)."""
    start = _integer(request, "startIndex", 1)
    count = _integer(request, "count", default_count)
    # §3.4.2.4: a startIndex below 1 is read as 1, a negative count as 0, and a
    # count above the server's maximum is cut to it.
    return PageRequest(start_index=max(start, 1), count=min(max(count, 0), max_count))


def _integer(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidValueError(f"{name} must be an integer, not {raw!r}.") from None
