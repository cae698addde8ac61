"""Identity providers' departures from RFC 7644, evened out before the SCIM parser.

Every rule here applies to every organization (none conflicts with the RFC: each
turns a request the RFC would refuse into the one the IdP meant) and names the IdP
and a public source. What the model library already accepts is not repeated here:
capitalized op names, booleans sent as "True"/"False", attribute names in any case,
``Add`` on single-valued attributes, ``+`` for spaces in query strings, foreign
extension schemas (dropped in ``requests.canonical_body``), and the Entra removal of
a group member given as ``value`` (``groups._take_removal_values``).
"""

from typing import Any

from scim2_models import Context, SCIMException
from scim2_models.path import CompareOperator, Comparison, FilterNode, LogicalExpr, ValuePath

from .requests import attribute, attribute_key, patch_op

ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def user_body(body: dict[str, Any]) -> dict[str, Any]:
    """Even out a User body of POST or PUT."""
    extension_key = attribute_key(body, ENTERPRISE_USER)
    if extension_key is not None and isinstance(body[extension_key], dict):
        body = {**body, extension_key: _manager_as_object(body[extension_key])}
    return body


def _manager_as_object(extension: dict[str, Any]) -> dict[str, Any]:
    # Entra sends the enterprise manager as the manager's id alone, where RFC 7643 §4.3
    # has a complex {"value": id}. Sources: github.com/Captain-P-Goldfish/SCIM-SDK/
    # issues/686; learn.microsoft.com/en-us/entra/identity/app-provisioning/
    # use-scim-to-provision-users-and-groups (manager mapping).
    key = attribute_key(extension, "manager")
    if key is not None and isinstance(extension[key], str):
        return {**extension, key: {"value": extension[key]} if extension[key] else None}
    return extension


def patch_body(body: dict[str, Any]) -> dict[str, Any]:
    """Even out the operations of a User PatchOp body."""
    key = attribute_key(body, "Operations")
    if key is None or not isinstance(body[key], list):
        return body
    operations: list[Any] = []
    for operation in body[key]:
        operations.extend(
            _split_value_paths(operation) if isinstance(operation, dict) else [operation]
        )
    return {**body, key: [_manager_operation(op) for op in operations]}


def _split_value_paths(operation: dict[str, Any]) -> list[Any]:
    # Entra, with its aadOptscim062020 flag, sends one pathless replace whose keys are
    # attribute paths, value paths included: {"emails[type eq \"work\"].value": ...}.
    # RFC 7644 §3.5.2 only allows attribute names there; each such key becomes an
    # operation of its own with that path. Source: learn.microsoft.com/en-us/entra/
    # identity/app-provisioning/application-provisioning-config-problem-scim-compatibility
    value = attribute(operation, "value")
    if attribute(operation, "path") is not None or not isinstance(value, dict):
        return [operation]
    op = attribute(operation, "op")
    plain = {k: v for k, v in value.items() if "[" not in k}
    # "add" sets the selected sub-attribute where an entry matches and, through
    # apply_patch, creates the entry where none does, which is what Entra means.
    split = [{"op": "add", "path": k, "value": v} for k, v in value.items() if "[" in k]
    if not split:
        return [operation]
    return ([{"op": op, "value": plain}] if plain else []) + split


def _manager_operation(operation: Any) -> Any:
    if not isinstance(operation, dict):
        return operation
    path, value = attribute(operation, "path"), attribute(operation, "value")
    if isinstance(path, str) and path.lower().endswith("manager") and isinstance(value, str):
        # Entra: the manager's id alone as the value of a manager path (see above).
        return {**operation, "value": {"value": value}}
    if path is None and isinstance(value, dict):
        key = attribute_key(value, ENTERPRISE_USER)
        if key is not None and isinstance(value[key], dict):
            return {**operation, "value": {**value, key: _manager_as_object(value[key])}}
    return operation


def apply_patch(patch: Any, resource: Any, model: type[Any]) -> None:
    """Apply a PatchOp to ``resource`` operation by operation, all in memory.

    An ``add`` to a value path that selects nothing creates the selected entry: Entra
    adds a user's first work email or mobile number as
    {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "..."}
    and expects {"type": "mobile", "value": "..."} to appear, where RFC 7644 §3.5.2.1
    is silent and the library answers noTarget. Sources: github.com/wireapp/
    wire-server/pull/5419; github.com/Captain-P-Goldfish/SCIM-SDK/issues/416.
    """
    for operation in patch.operations or []:
        single = patch_op(model).model_construct(schemas=[PATCH_OP], operations=[operation])
        try:
            single.patch(resource)
        except SCIMException as exc:
            entry = _created_entry(operation, exc)
            if entry is None:
                raise
            _add_entry(resource, model, entry)


def _created_entry(operation: Any, exc: SCIMException) -> tuple[str, dict[str, Any]] | None:
    """The (attribute, entry) an unmatched ``add`` to a value path means, if it is one."""
    if exc.scim_type != "noTarget" or str(operation.op.value).lower() != "add":
        return None
    node = operation.path.ast if operation.path is not None else None
    if not isinstance(node, ValuePath) or node.sub_attr is None:
        return None
    entry = _equalities(node.val_filter)
    if entry is None:
        return None
    entry[node.sub_attr] = operation.value
    return str(node.attr_path), entry


def _equalities(node: FilterNode) -> dict[str, Any] | None:
    """The sub-attribute values a filter of ``eq`` comparisons joined by ``and`` pins."""
    terms: tuple[FilterNode, ...] = (node,)
    if isinstance(node, LogicalExpr):
        if node.op.value != "and":
            return None
        terms = node.terms
    pinned: dict[str, Any] = {}
    for term in terms:
        if not isinstance(term, Comparison) or term.op != CompareOperator.eq:
            return None
        if term.attr_path.sub_attr is not None or term.attr_path.uri is not None:
            return None
        pinned[term.attr_path.attr] = term.value
    return pinned


def _add_entry(resource: Any, model: type[Any], target: tuple[str, dict[str, Any]]) -> None:
    path, entry = target
    patch = patch_op(model).model_validate(
        {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": path, "value": [entry]}]},
        scim_ctx=Context.RESOURCE_PATCH_REQUEST,
    )
    patch.patch(resource)
