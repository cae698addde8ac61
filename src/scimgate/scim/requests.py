"""Reading SCIM requests: bodies and preconditions."""

import json
import math
import re
from typing import Any

from scim2_models import PatchOp, ResponseParameters
from scim2_models import Resource as ScimResource
from starlette.requests import Request

from scimgate.config import Settings
from scimgate.errors import InvalidSyntaxError, UnsupportedMediaTypeError

from . import limits

# pydantic keeps parametrized generic models in a weak cache: once the garbage
# collector frees ``PatchOp[User]``, the next request builds the class and its schema
# again (about 2 ms). These dictionaries hold them for the life of the process.
_PATCH_OPS: "dict[type[Any], type[PatchOp[Any]]]" = {}
_RESPONSE_PARAMETERS: dict[type[Any], type[ResponseParameters[Any]]] = {}


def patch_op(model: type[ScimResource[Any]]) -> "type[PatchOp[Any]]":
    """``PatchOp[model]``, built once."""
    if model not in _PATCH_OPS:
        _PATCH_OPS[model] = PatchOp[model]  # type: ignore[valid-type]
    return _PATCH_OPS[model]


def response_parameters_of(model: type[ScimResource[Any]]) -> type[ResponseParameters[Any]]:
    """``ResponseParameters[model]``, built once."""
    if model not in _RESPONSE_PARAMETERS:
        _RESPONSE_PARAMETERS[model] = ResponseParameters[model]  # type: ignore[valid-type]
    return _RESPONSE_PARAMETERS[model]


# RFC 7644 §3.1 names application/scim+json; every IdP we know also sends (or only
# sends) application/json, sometimes with a charset parameter.
_JSON_TYPES = ("application/scim+json", "application/json")


async def read_json(request: Request, max_bytes: int | None = None) -> dict[str, Any]:
    """Read the request body as a JSON object, or raise the matching SCIM error.

    ``max_bytes`` defaults to the ``max_body_bytes`` setting. The ``path`` of each PATCH
    operation is held to the filter limits, as it may carry a value filter.
    """
    settings: Settings = request.app.state.settings
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type and media_type not in _JSON_TYPES:
        raise UnsupportedMediaTypeError(
            f"Content-Type {media_type!r} is not accepted; send application/scim+json."
        )
    raw = await limits.read_body(request, max_bytes or settings.max_body_bytes)
    if not raw.strip():
        raise InvalidSyntaxError("The request body is empty; send a JSON object.")
    body = decode_json(raw)
    if not isinstance(body, dict):
        raise InvalidSyntaxError("The request body must be a JSON object.")
    if request.method == "PATCH":
        limits.check_patch_paths(body, settings)
    return body


MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects a body may have; SCIM messages, bulk ones
included, need about ten levels, and every deeper level is work for recursive code."""
# After decoding, a character in this range is a lone UTF-16 surrogate ("\\ud800"
# unpaired): RFC 8259 §8.2 leaves its meaning open and UTF-8 cannot encode it, so it
# could be stored but never sent back.
_SURROGATE = re.compile("[\ud800-\udfff]")


def decode_json(raw: bytes | bytearray) -> Any:
    """Parse a JSON document, raising InvalidSyntaxError for anything but RFC 8259 JSON.

    Besides syntax errors, refused are NaN and infinite numbers (JSON has none, and
    PostgreSQL's json type refuses them where SQLite would store them), lone
    surrogates, and nesting deeper than :data:`MAX_JSON_DEPTH` (deeper still, the
    parser itself runs out of stack).
    """
    try:
        document = json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidSyntaxError(f"The request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidSyntaxError(_too_deep()) from None
    # Only a body with non-ASCII bytes or \u escapes can hold a surrogate, and only one
    # with enough brackets can nest too deep: most bodies skip the walk.
    brackets = raw.count(b"[") + raw.count(b"{")
    if not raw.isascii() or b"\\u" in raw or brackets > MAX_JSON_DEPTH:
        _check_tree(document)
    return document


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"{text} is too large for a number")
    return number


def _too_deep() -> str:
    return f"The request body nests arrays and objects more than {MAX_JSON_DEPTH} levels deep."


def _check_tree(document: Any) -> None:
    """Refuse lone surrogates and too deep nesting, walking without recursion."""
    pending: list[tuple[Any, int]] = [(document, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise InvalidSyntaxError(
                    "The request body holds a lone UTF-16 surrogate escape (such as "
                    '"\\ud800"), which no UTF-8 text can carry.'
                )
            continue
        if isinstance(value, dict):
            children: list[Any] = [*value, *value.values()]
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth >= MAX_JSON_DEPTH:
            raise InvalidSyntaxError(_too_deep())
        pending.extend((child, depth + 1) for child in children)


def declared_names(model: type[Any]) -> frozenset[str]:
    """The lower-cased attribute names a SCIM model declares."""
    return frozenset(
        (field.serialization_alias or name).lower() for name, field in model.model_fields.items()
    )


def canonical_body(
    body: dict[str, Any],
    known_schemas: tuple[str, ...],
    read_only: tuple[str, ...],
    declared: frozenset[str] | None = None,
) -> dict[str, Any]:
    """Return a resource body as the models should read it.

    RFC 7643 §2.1 makes attribute names case-insensitive, and a schema URN is the
    leading part of a fully qualified attribute name (RFC 7644 §3.10), so a known URN,
    as an extension key or a ``schemas`` entry, is given its canonical spelling: the
    models read keys in any case but compare ``schemas`` entries exactly.

    RFC 7644 §3.5.1 and RFC 7643 §3.1: the server ignores the readOnly values a client
    sends (``id``, ``meta``). IdPs add their own extension schemas (a key and a
    ``schemas`` entry that is a URN); their attributes are ignored, not refused, and so
    are attributes outside ``declared`` (IdPs map custom fields into the core namespace:
    Okta's custom attributes, Keycloak's extras), so one odd field never blocks a user.
    """
    canonical = {urn.lower(): urn for urn in known_schemas}
    ignored = {name.lower() for name in read_only}
    cleaned: dict[str, Any] = {}
    for key, value in body.items():
        lowered = key.lower()
        if lowered == "schemas":
            cleaned["schemas"] = _known_urns(value, known_schemas)
        elif ":" in key:
            if lowered in canonical:
                cleaned[canonical[lowered]] = value
        elif lowered not in ignored and (declared is None or lowered in declared):
            cleaned[key] = value
    return cleaned


def canonical_message(body: dict[str, Any], schema: str) -> dict[str, Any]:
    """Return a message body whose ``schemas`` array spells ``schema`` canonically.

    The same rule as for resources (see ``canonical_body``), for messages such as a
    PatchOp; other entries are left as sent, for the model to judge.
    """
    key = attribute_key(body, "schemas")
    if key is None or not isinstance(body[key], list):
        return body
    urns = [_canonical_urn(urn, (schema,)) for urn in body[key]]
    return {**{name: value for name, value in body.items() if name != key}, "schemas": urns}


def attribute_key(body: dict[str, Any], name: str) -> str | None:
    """Return the key under which ``body`` holds attribute ``name``, in any case.

    RFC 7643 §2.1: attribute names are case-insensitive.
    """
    lowered = name.lower()
    return next((key for key in body if key.lower() == lowered), None)


def attribute(body: dict[str, Any], name: str) -> Any:
    """Return the value of attribute ``name`` in ``body`` (any case), or None."""
    key = attribute_key(body, name)
    return None if key is None else body[key]


def _known_urns(urns: Any, known_schemas: tuple[str, ...]) -> Any:
    # Anything but a list is left as sent, for the model to refuse.
    if not isinstance(urns, list):
        return urns
    spelled = (_canonical_urn(urn, known_schemas) for urn in urns)
    return [urn for urn in spelled if urn in known_schemas]


def _canonical_urn(urn: Any, known_schemas: tuple[str, ...]) -> Any:
    if isinstance(urn, str):
        return next((known for known in known_schemas if known.lower() == urn.lower()), urn)
    return urn


def if_match(request: Request) -> int | None:
    """Return the version an ``If-Match`` header requires, or None for none or ``*``.

    An ETag this server could not have issued requires a version no resource has, so
    the change is refused with 412 (RFC 7644 §3.14).
    """
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    return parse_etag(raw)


def parse_etag(raw: str) -> int:
    """Read a resource version from an ETag such as ``W/"3"``; -1 when it is not ours."""
    tag = raw.strip()
    tag = tag.removeprefix("W/").strip('"')
    return int(tag) if tag.isdigit() else -1


def none_match(request: Request, version: int) -> bool:
    """Tell whether ``If-None-Match`` names ``version``, or is ``*``: a GET answers 304.

    RFC 7232 §3.2: the header lists entity tags, compared weakly, so ``"3"`` and
    ``W/"3"`` both name version 3.
    """
    raw = request.headers.get("if-none-match")
    if raw is None:
        return False
    tags = [tag.strip() for tag in raw.split(",") if tag.strip()]
    return "*" in tags or any(parse_etag(tag) == version for tag in tags)
