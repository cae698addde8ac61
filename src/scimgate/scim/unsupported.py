"""Endpoints SCIM defines that this server deliberately does not offer."""

from starlette.requests import Request
from starlette.responses import Response

from scimgate.errors import NotImplementedScimError

from .tenancy import tenant


async def me(request: Request) -> Response:
    """/Me (RFC 7644 §3.11): 501, as there is no end-user authentication to map it to."""
    await tenant(request)
    raise NotImplementedScimError(
        "/Me is not supported: scimgate authenticates identity providers, not end users."
    )
