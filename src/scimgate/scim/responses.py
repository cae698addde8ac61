"""SCIM responses, and the one place where errors become SCIM Error bodies."""

import json
import logging
from typing import Any

from pydantic import ValidationError
from scim2_models import SCIMException
from starlette.requests import Request
from starlette.responses import Response

from scimgate.errors import (
    InvalidValueError,
    ScimError,
    UnauthorizedError,
)

SCIM_MEDIA_TYPE = "application/scim+json"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"

logger = logging.getLogger("scimgate")


class ScimResponse(Response):
    """A JSON response with the SCIM media type (RFC 7644 §3.1)."""

    media_type = SCIM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        if content is None:
            return b""
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def error_response(error: ScimError) -> ScimResponse:
    """Render a SCIM Error body (RFC 7644 §3.12), with ``status`` as a string."""
    body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(error.status)}
    if error.scim_type:
        body["scimType"] = error.scim_type
    body["detail"] = error.detail
    headers = {}
    if isinstance(error, UnauthorizedError):
        # RFC 6750 §3: a 401 names the scheme the client must use.
        headers["WWW-Authenticate"] = 'Bearer realm="scim"'
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return ScimResponse(body, status_code=error.status, headers=headers)


def as_scim_error(exc: Exception) -> ScimError:
    """Translate an exception raised while handling a request into a ScimError."""
    if isinstance(exc, ScimError):
        return exc
    if isinstance(exc, SCIMException):
        detail = exc.detail
        if isinstance(exc.__cause__, ValidationError):
            # scim2_models reports a value a PATCH writes with pydantic's multi-line
            # text; name the attribute instead, as for a POST body.
            detail = _validation_detail(exc.__cause__)
        return _from_library(exc.status, exc.scim_type or None, detail)
    if isinstance(exc, ValidationError):
        return _from_validation(exc)
    return ScimError()


def _from_library(status: int, scim_type: str | None, detail: str) -> ScimError:
    error = ScimError(detail)
    error.status = status
    error.scim_type = scim_type
    return error


def _validation_detail(exc: ValidationError) -> str:
    """Say which attribute is wrong and why, by its SCIM (camelCase) name."""
    first = exc.errors()[0]
    location = ".".join(_camel(str(part)) for part in first["loc"] if not isinstance(part, int))
    message = first["msg"]
    detail = f"{location}: {message}" if location else message
    if len(exc.errors()) > 1:
        detail += f" (and {len(exc.errors()) - 1} more problems)"
    return detail


def _camel(name: str) -> str:
    # Sub-models validated on their own report Python field names ("given_name").
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _from_validation(exc: ValidationError) -> ScimError:
    """Name the offending attribute, and keep a scimType the model library chose."""
    ctx = exc.errors()[0].get("ctx") or {}
    detail = _validation_detail(exc)
    scim_type = ctx.get("scim_type")
    if scim_type:
        return _from_library(int(ctx.get("status", 400)), scim_type, detail)
    return InvalidValueError(detail)


async def handle_error(request: Request, exc: Exception) -> Response:
    """Starlette exception handler: every error on a SCIM route is a SCIM Error."""
    error = as_scim_error(exc)
    # An error with Retry-After (a busy database, a held deprovisioning) is an answer
    # the server chose, not a fault: no traceback.
    if error.status >= 500 and error.retry_after is None:
        logger.exception("Unhandled error on %s %s", request.method, request.url.path)
    return error_response(error)
