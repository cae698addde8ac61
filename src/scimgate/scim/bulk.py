"""The ``/Bulk`` endpoint (RFC 7644 §3.7)."""

from starlette.requests import Request
from starlette.responses import Response

from scimgate.errors import NotImplementedScimError

from .tenancy import tenant


async def post_bulk(request: Request) -> Response:
    """POST /Bulk."""
    await tenant(request)
    raise NotImplementedScimError("Bulk operations are not supported yet.")
