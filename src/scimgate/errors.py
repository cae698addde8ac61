"""The one error hierarchy of scimgate.

Every error a request can meet is a :class:`ScimError`; ``scim.responses`` turns any of
them into an RFC 7644 §3.12 Error response, so domain and storage code raise by name::

    ScimError                       500
    ├── InvalidSyntaxError          400 invalidSyntax
    ├── InvalidValueError           400 invalidValue
    │   └── NoSuchMemberError       400 invalidValue
    ├── InvalidFilterError          400 invalidFilter
    ├── InvalidPathError            400 invalidPath
    ├── NoTargetError               400 noTarget
    ├── MutabilityError             400 mutability
    ├── TooManyError                400 tooMany
    ├── InvalidCursorError          400 invalidCursor
    │   └── ExpiredCursorError      400 expiredCursor
    ├── UnauthorizedError           401
    ├── ForbiddenError              403
    ├── NotFoundError               404
    │   └── ScimUnavailableError    404
    ├── MethodNotAllowedError       405
    ├── UniquenessError             409 uniqueness
    ├── UnresolvedReferenceError    409
    ├── ConflictError               409
    ├── PreconditionFailedError     412
    ├── PayloadTooLargeError        413
    ├── UnsupportedMediaTypeError   415
    ├── TooManyRequestsError        429 (with Retry-After)
    ├── NotImplementedScimError     501
    ├── ServiceUnavailableError     503 (with Retry-After)
    │   └── domain.breaker.DeprovisioningHeldError  503 (a mass deprovisioning is held)
    ├── audit.keys.LogKeyError      500 (the request log's key ring is unusable)
    └── audit.cipher.UnreadableEntryError  500 (a log entry's key is gone)

Outside requests (the CLI) the same classes carry the message shown to the operator.
"""


class ScimError(Exception):
    """Base of every error scimgate reports."""

    status: int = 500
    scim_type: str | None = None
    default_detail = "Internal server error."
    retry_after: int | None = None
    """Seconds after which the client may try again, sent as ``Retry-After``."""

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.default_detail
        super().__init__(self.detail)


class InvalidSyntaxError(ScimError):
    """The request body is not valid JSON or not a valid SCIM message."""

    status = 400
    scim_type = "invalidSyntax"
    default_detail = "The request body could not be parsed."


class InvalidValueError(ScimError):
    """An attribute value is missing, of the wrong type or not acceptable."""

    status = 400
    scim_type = "invalidValue"
    default_detail = "A required value was missing or a value was not compatible."


class NoSuchMemberError(InvalidValueError):
    """A group member names a resource that does not exist in the organization."""


class InvalidFilterError(ScimError):
    """The filter is not valid or cannot be evaluated by this server."""

    status = 400
    scim_type = "invalidFilter"
    default_detail = "The filter syntax is invalid."


class InvalidPathError(ScimError):
    """A PATCH path is not valid."""

    status = 400
    scim_type = "invalidPath"
    default_detail = "The path attribute is invalid."


class NoTargetError(ScimError):
    """A PATCH path selected nothing where RFC 7644 §3.5.2 requires a target."""

    status = 400
    scim_type = "noTarget"
    default_detail = "The path did not yield an attribute that could be operated on."


class MutabilityError(ScimError):
    """The request tried to change an immutable or read-only attribute."""

    status = 400
    scim_type = "mutability"
    default_detail = "The attempted modification is not compatible with mutability."


class TooManyError(ScimError):
    """The request would touch more resources than the server allows."""

    status = 400
    scim_type = "tooMany"
    default_detail = "The request would return or affect too many resources."


class InvalidCursorError(ScimError):
    """A pagination cursor is malformed, altered, or issued for another query (RFC 9865)."""

    status = 400
    scim_type = "invalidCursor"
    default_detail = "The cursor is not valid for this query; start again without one."


class ExpiredCursorError(InvalidCursorError):
    """A pagination cursor is older than the advertised cursor timeout (RFC 9865)."""

    scim_type = "expiredCursor"
    default_detail = "The cursor has expired; start again without one."


class UnauthorizedError(ScimError):
    """The bearer token is missing, malformed, unknown or revoked."""

    status = 401
    default_detail = "Authorization failure."


class ForbiddenError(ScimError):
    """The caller is authenticated but may not perform this operation."""

    status = 403
    default_detail = "Operation not permitted."


class NotFoundError(ScimError):
    """The resource does not exist, or belongs to another organization."""

    status = 404
    default_detail = "Resource not found."


class ScimUnavailableError(NotFoundError):
    """SCIM is not available for the token's organization (no SSO, or switched off)."""


class MethodNotAllowedError(ScimError):
    """The HTTP method is not supported on this endpoint."""

    status = 405
    default_detail = "Method not allowed on this endpoint."


class UniquenessError(ScimError):
    """A value that must be unique in the organization is already taken."""

    status = 409
    scim_type = "uniqueness"
    default_detail = "One or more unique attribute values are already in use."


class UnresolvedReferenceError(ScimError):
    """A bulkId reference names no resource the bulk job created (RFC 7644 §3.7.3)."""

    status = 409
    default_detail = "A bulkId reference could not be resolved."


class ConflictError(ScimError):
    """The request conflicts with the organization's current settings."""

    status = 409
    default_detail = "The request conflicts with the current state."


class PreconditionFailedError(ScimError):
    """An ``If-Match`` precondition did not hold."""

    status = 412
    default_detail = "The resource has changed since the given version."


class PayloadTooLargeError(ScimError):
    """The request body is larger than the server accepts."""

    status = 413
    default_detail = "The request body is too large."


class UnsupportedMediaTypeError(ScimError):
    """The request body is not JSON."""

    status = 415
    default_detail = "Send the request body as application/scim+json or application/json."


class NotImplementedScimError(ScimError):
    """The operation is part of SCIM but not offered by this server."""

    status = 501
    default_detail = "This operation is not supported."


class TooManyRequestsError(ScimError):
    """The organization sent more requests than its rate limit allows (RFC 6585 §4)."""

    status = 429
    default_detail = "Too many requests; slow down and retry after the time given."

    def __init__(self, detail: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)


class ServiceUnavailableError(ScimError):
    """The request cannot be served now but may succeed later (RFC 9110 §15.6.4)."""

    status = 503
    default_detail = "The service is temporarily unavailable; retry later."

    def __init__(self, detail: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)
