"""One-line summaries of SCIM requests ("deactivate user ada@example.com").

They are read from the request and response bodies alone, never from the database, so
writing a log entry costs no query and a summary says what the client asked for even
when the request failed. A change answered 204 has no body to name its resource: the
SCIM layer then hands over the name it had loaded anyway (``known_name``).
Attribute names are matched case-insensitively (RFC 7643 §2.1).
"""

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from .events import Classification, Event, ResourceType

MAX_LENGTH = 300
_EQ = re.compile(r"\beq\b", flags=re.IGNORECASE)


def summarize(
    kind: Classification,
    method: str,
    path: str,
    query: Mapping[str, str],
    request: Any,
    response: Any,
    known_name: str | None = None,
) -> str:
    """Say in one line what a request asked for; ``path`` is below the SCIM base URL."""
    if kind.resource_type in (ResourceType.USER, ResourceType.GROUP):
        text = _resource(kind, query, request, response, known_name)
    elif kind.resource_type is ResourceType.BULK:
        text = _bulk(request, response)
    elif kind.resource_type is ResourceType.SEARCH:
        text = "search users and groups" + _where(_attr(request, "filter")) + _found(response)
    elif kind.resource_type is ResourceType.DISCOVERY:
        text = f"{kind.event} {path.strip('/')}"
    else:
        text = f"{method} {path or '/'}"
    return text if len(text) <= MAX_LENGTH else text[: MAX_LENGTH - 1] + "…"


def _attr(value: Any, name: str) -> Any:
    """``value[name]`` for a JSON object, whatever the case of the key; else None."""
    if not isinstance(value, dict):
        return None
    lowered = name.lower()
    return next((item for key, item in value.items() if key.lower() == lowered), None)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _where(filter_text: Any) -> str:
    return f" where {filter_text}" if isinstance(filter_text, str) and filter_text else ""


def _found(response: Any) -> str:
    total = _attr(response, "totalResults")
    return f": {total} found" if isinstance(total, int) else ""


def _resource(
    kind: Classification,
    query: Mapping[str, str],
    request: Any,
    response: Any,
    known_name: str | None,
) -> str:
    user = kind.resource_type is ResourceType.USER
    noun = "user" if user else "group"
    name = _name(kind, request, response, known_name)
    if kind.event is Event.LIST:
        return f"list {noun}s" + _where(query.get("filter")) + _found(response)
    if kind.event is Event.SEARCH:
        return f"search {noun}s" + _where(_attr(request, "filter")) + _found(response)
    if kind.event is Event.PATCH:
        return _user_patch(name, request) if user else _group_patch(name, request)
    if kind.event is Event.REPLACE and user and _truth(_attr(request, "active")) is False:
        # Okta deactivates with a PUT that carries active: false.
        return f"deactivate user {name}"
    if kind.event in (Event.CREATE, Event.REPLACE, Event.READ, Event.DELETE):
        return f"{kind.event} {noun} {name}" + ("" if user else _with_members(request))
    return f"{kind.event} {noun} {name}"


def _name(kind: Classification, request: Any, response: Any, known_name: str | None) -> str:
    """The user's userName or the group's displayName, else the id addressed."""
    attribute = "userName" if kind.resource_type is ResourceType.USER else "displayName"
    for body in (response, request):
        value = _attr(body, attribute)
        if isinstance(value, str) and value:
            return value
    return known_name or kind.target_id or "(unnamed)"


def _with_members(request: Any) -> str:
    members = _attr(request, "members")
    return f" with {_plural(len(members), 'member')}" if isinstance(members, list) else ""


def _truth(value: Any) -> bool | None:
    # Entra sends booleans as the strings "True"/"False".
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value if isinstance(value, bool) else None


def _changes(request: Any) -> list[tuple[str, str, Any]]:
    """(op, attribute, value) for each PatchOp operation; a path-less op per attribute."""
    operations = _attr(request, "Operations")
    found: list[tuple[str, str, Any]] = []
    for operation in operations if isinstance(operations, list) else []:
        op = str(_attr(operation, "op") or "").lower()
        path, value = _attr(operation, "path"), _attr(operation, "value")
        if not path and isinstance(value, dict):
            found.extend((op, str(key), item) for key, item in value.items())
        else:
            found.append((op, str(path or ""), value))
    return found


def _user_patch(name: str, request: Any) -> str:
    parts: list[str] = []
    updated: list[str] = []
    for op, attribute, value in _changes(request):
        if attribute.rsplit(":", 1)[-1].lower() == "active" and op != "remove":
            active = _truth(value)
            if active is not None:
                parts.append(f"{'reactivate' if active else 'deactivate'} user {name}")
                continue
        updated.append(attribute or "(whole resource)")
    if updated or not parts:
        detail = ": " + ", ".join(dict.fromkeys(updated)) if updated else ""
        parts.append(f"update user {name}{detail}")
    return "; ".join(dict.fromkeys(parts))


def _group_patch(name: str, request: Any) -> str:
    parts = [_group_change(op, attr, value, name) for op, attr, value in _changes(request)]
    return "; ".join(dict.fromkeys(parts)) or f"update group {name}"


def _group_change(op: str, attribute: str, value: Any, name: str) -> str:
    lowered = attribute.lower()
    if lowered.startswith("members"):
        count = _member_count(attribute, value)
        if op == "add":
            return f"add {_plural(count, 'member')} to {name}"
        if op == "remove":
            return f"remove {_plural(count, 'member') if count else 'all members'} from {name}"
        return f"set the members of {name} to {_plural(count, 'member')}"
    if lowered == "displayname" and op != "remove":
        return f"rename group {name} to {value}" if value != name else f"rename group to {value}"
    return f"{op} {attribute or '(whole resource)'} of group {name}"


def _member_count(attribute: str, value: Any) -> int:
    if isinstance(value, list):
        return len(value)
    if isinstance(value, dict):
        return 1
    # members[value eq "a" or value eq "b"] selects as many members as it compares.
    return len(_EQ.findall(attribute)) if "[" in attribute else 0


def _bulk(request: Any, response: Any) -> str:
    operations = _attr(request, "Operations")
    operations = operations if isinstance(operations, list) else []
    methods = Counter(str(_attr(op, "method") or "?").upper() for op in operations)
    text = f"bulk: {_plural(len(operations), 'operation')}"
    if methods:
        text += " (" + ", ".join(f"{count} {method}" for method, count in methods.items()) + ")"
    results = _attr(response, "Operations")
    if isinstance(results, list):
        failed = sum(1 for result in results if not str(_attr(result, "status")).startswith("2"))
        if failed:
            text += f", {failed} failed"
    return text
