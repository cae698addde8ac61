"""What a SCIM request was about, read from its method and path alone.

The resource types and events are the values the viewer filters on; the target is
the user or group the request addressed, so an administrator can follow one resource.
"""

import re
from dataclasses import dataclass
from enum import StrEnum


class ResourceType(StrEnum):
    """The kind of endpoint a request reached."""

    USER = "User"
    GROUP = "Group"
    BULK = "Bulk"
    SEARCH = "Search"
    """``POST /.search`` across Users and Groups (RFC 7644 §3.4.3)."""
    DISCOVERY = "Discovery"
    """``/ServiceProviderConfig``, ``/ResourceTypes`` and ``/Schemas`` (RFC 7644 §4)."""
    ME = "Me"


class Event(StrEnum):
    """What a request asked for."""

    CREATE = "create"
    REPLACE = "replace"
    PATCH = "patch"
    DELETE = "delete"
    READ = "read"
    LIST = "list"
    SEARCH = "search"
    BULK = "bulk"
    OTHER = "other"


@dataclass(frozen=True)
class Classification:
    """A request's resource type (None for an unknown endpoint), event and target."""

    resource_type: ResourceType | None
    event: Event
    target_id: str | None = None


_COLLECTIONS = {"users": ResourceType.USER, "groups": ResourceType.GROUP}
_DISCOVERY = ("serviceproviderconfig", "resourcetypes", "schemas")
_ON_ONE = {
    "GET": Event.READ,
    "PUT": Event.REPLACE,
    "PATCH": Event.PATCH,
    "DELETE": Event.DELETE,
}
# Ids the server issues are hex; a longer or stranger segment is not worth an index.
_TARGET = re.compile(r"[A-Za-z0-9._~-]{1,64}")


def classify(method: str, path: str) -> Classification:
    """Classify a request by its method and its path below the SCIM base URL."""
    segments = [segment for segment in path.split("/") if segment]
    head = segments[0].lower() if segments else ""
    rest = segments[1:]
    if head in _COLLECTIONS:
        return _collection(method, _COLLECTIONS[head], rest)
    if head == ".search" and method == "POST":
        return Classification(ResourceType.SEARCH, Event.SEARCH)
    if head == "bulk" and method == "POST":
        return Classification(ResourceType.BULK, Event.BULK)
    if head in _DISCOVERY and method == "GET":
        single = head == "serviceproviderconfig" or bool(rest)
        return Classification(ResourceType.DISCOVERY, Event.READ if single else Event.LIST)
    if head == "me":
        return Classification(ResourceType.ME, _ON_ONE.get(method, Event.OTHER))
    return Classification(None, Event.OTHER)


def _collection(method: str, kind: ResourceType, rest: list[str]) -> Classification:
    if not rest:
        event = {"GET": Event.LIST, "POST": Event.CREATE}.get(method, Event.OTHER)
        return Classification(kind, event)
    if rest == [".search"] and method == "POST":
        return Classification(kind, Event.SEARCH)
    target = rest[0] if len(rest) == 1 and _TARGET.fullmatch(rest[0]) else None
    return Classification(kind, _ON_ONE.get(method, Event.OTHER), target)
