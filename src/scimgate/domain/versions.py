"""Resource versions, the basis of ETags (RFC 7644 §3.14)."""

from scimgate.errors import PreconditionFailedError


def check_precondition(version: int, if_match: int | None) -> None:
    """Refuse a change with 412 when ``If-Match`` named another version."""
    if if_match is not None and if_match != version:
        raise PreconditionFailedError(
            f"The resource is at version {version}, not {if_match}; read it again."
        )
