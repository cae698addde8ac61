"""The one place that knows both SCIM resources and storage rows.

Pure functions with symmetric names: ``to_scim_*`` builds the SCIM resource a
response shows, ``from_scim_*`` builds the (detached) row a request describes.
Attributes with their own column or table are lifted out of the stored document so
each fact is kept once.
"""

import base64
import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any

from scim2_models import Context, Email, EnterpriseUser, Meta
from scim2_models import Group as ScimGroup
from scim2_models import User as ScimUserBase

from scimgate.domain.groups import (
    AddMembers,
    GroupChange,
    Member,
    MemberRef,
    RemoveMembers,
    RemoveMembersWhere,
    Rename,
    ReplaceMembers,
    SetExternalId,
)
from scimgate.errors import InvalidPathError, InvalidValueError
from scimgate.storage.models import Group, User, UserEmail

ScimUser = ScimUserBase[EnterpriseUser]

# Keys of the stored document that live in columns or rows instead.
_LIFTED_USER_KEYS = ("id", "meta", "password", "userName", "externalId", "displayName", "active")
# Keys ``user_document`` writes itself rather than copying from the stored document.
_RENDERED_USER_KEYS = frozenset({*_LIFTED_USER_KEYS, "schemas", "name", "emails"})


def etag(version: int) -> str:
    """Return the weak ETag of a resource version (RFC 7644 §3.14)."""
    return f'W/"{version}"'


def to_scim_user(row: User, base_url: str) -> ScimUser:
    """Build the SCIM User a response shows for ``row``."""
    document: dict[str, Any] = dict(row.attributes)
    name = dict(document.get("name") or {})
    name.update(givenName=row.given_name, familyName=row.family_name)
    document.update(
        id=row.id,
        userName=row.user_name,
        externalId=row.external_id,
        displayName=row.display_name,
        active=row.active,
        name={key: value for key, value in name.items() if value is not None} or None,
        emails=[_email_document(email) for email in row.emails] or None,
        meta=_meta(
            "User", row.created_at, row.updated_at, row.version, f"{base_url}/Users/{row.id}"
        ),
    )
    return ScimUser.model_validate(_without_none(document))


def user_document(row: User, base_url: str) -> dict[str, Any]:
    """The JSON document of ``to_scim_user(row)`` as a response shows it unprojected.

    Built straight from the row: its stored attributes were validated and dumped by
    the model on the way in, so validating and dumping them again for every read (about
    0.2 ms a user: a page of 100 spent most of its time there) would only produce
    the same document. Projected responses (``attributes``, ``excludedAttributes``)
    still go through the model, which owns the ``returned`` rules; a test compares
    the two renderings.
    """
    document: dict[str, Any] = {
        "schemas": row.attributes.get("schemas") or [ScimUser.__schema__],
        "id": row.id,
    }
    if row.external_id is not None:
        document["externalId"] = row.external_id
    document["meta"] = {
        "resourceType": "User",
        "created": _timestamp(row.created_at),
        "lastModified": _timestamp(row.updated_at),
        "location": f"{base_url}/Users/{row.id}",
        "version": etag(row.version),
    }
    document["userName"] = row.user_name
    name = {
        **(row.attributes.get("name") or {}),
        "givenName": row.given_name,
        "familyName": row.family_name,
    }
    name = _without_none(name)
    if name:
        document["name"] = name
    if row.display_name is not None:
        document["displayName"] = row.display_name
    if row.active is not None:
        document["active"] = row.active
    if row.emails:
        document["emails"] = [_email_document(email) for email in row.emails]
    for key, value in row.attributes.items():
        if key not in _RENDERED_USER_KEYS and value is not None:
            document[key] = value
    return document


def _timestamp(moment: datetime) -> str:
    """An RFC 3339 UTC timestamp as the model library writes it (``...Z``)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def from_scim_user(resource: ScimUser) -> User:
    """Build the detached row that a validated SCIM User describes."""
    # Dumped as a request: the library leaves out readOnly attributes at every level
    # (manager.displayName too), which the server ignores (RFC 7644 §3.5.1).
    document = resource.model_dump(scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
    for key in _LIFTED_USER_KEYS:
        document.pop(key, None)
    document.pop("emails", None)
    name = document.pop("name", {})
    rest_of_name = {k: v for k, v in name.items() if k not in ("givenName", "familyName")}
    if rest_of_name:
        document["name"] = rest_of_name
    row = User(
        user_name=resource.user_name or "",
        external_id=resource.external_id,
        display_name=resource.display_name,
        given_name=name.get("givenName"),
        family_name=name.get("familyName"),
        # None: unassigned (RFC 7644 §3.5.2.2); the domain decides what that means.
        active=resource.active,
        attributes=document,
        password_hash=hash_password(resource.password) if resource.password else None,
    )
    row.emails = [_email_row(index, email) for index, email in enumerate(resource.emails or [])]
    return row


def _email_row(position: int, email: Email) -> UserEmail:
    # RFC 7643 §8.7.1 publishes emails.value as not required, but this server stores
    # and matches an email by its address: one without it would be lost silently.
    if not email.value:
        raise InvalidValueError("emails.value is required: every email needs an address.")
    return UserEmail(
        position=position,
        value=email.value,
        value_norm=email.value.lower(),
        type=email.type,
        primary=email.primary,
        display=email.display,
    )


def to_scim_group(row: Group, members: list[Member] | None, base_url: str) -> ScimGroup:
    """Build the SCIM Group a response shows; ``members`` is None when not requested."""
    document: dict[str, Any] = {
        "id": row.id,
        "displayName": row.display_name,
        "externalId": row.external_id,
        "meta": _meta(
            "Group", row.created_at, row.updated_at, row.version, f"{base_url}/Groups/{row.id}"
        ),
    }
    if members:
        document["members"] = [
            _without_none(
                {
                    "value": member.value,
                    "type": member.type,
                    "display": member.display,
                    "$ref": f"{base_url}/{member.type}s/{member.value}",
                }
            )
            for member in members
        ]
    return ScimGroup.model_validate(_without_none(document))


def from_scim_group(resource: ScimGroup) -> tuple[Group, list[MemberRef]]:
    """Build the detached row and the member list that a validated SCIM Group describes."""
    row = Group(display_name=resource.display_name or "", external_id=resource.external_id)
    return row, member_refs(resource.members or [])


def member_refs(members: list[Any]) -> list[MemberRef]:
    """Read member references from SCIM ``members`` values (models or dicts)."""
    refs: list[MemberRef] = []
    for member in members:
        data = member if isinstance(member, dict) else member.model_dump(by_alias=True)
        value = data.get("value")
        if isinstance(value, str) and value:
            member_type, display = data.get("type"), data.get("display")
            refs.append(
                MemberRef(
                    value=value,
                    type=member_type if isinstance(member_type, str) else None,
                    display=display if isinstance(display, str) else None,
                )
            )
    return refs


def hash_password(password: str) -> str:
    """Hash a password with scrypt; the clear text is never stored (RFC 7643 §4.1.1)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    encoded = base64.b64encode(salt + digest).decode()
    return f"scrypt$16384$8$1${encoded}"


def _email_document(email: UserEmail) -> dict[str, Any]:
    return _without_none(
        {
            "value": email.value,
            "type": email.type,
            "primary": email.primary,
            "display": email.display,
        }
    )


def _meta(resource_type: str, created: Any, modified: Any, version: int, location: str) -> Meta:
    return Meta(
        resource_type=resource_type,
        created=created,
        last_modified=modified,
        version=etag(version),
        location=location,
    )


def _without_none(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if value is not None}


_GROUP_URN_PREFIX = "urn:ietf:params:scim:schemas:core:2.0:group:"
_GROUP_READ_ONLY = ("id", "meta")
_GROUP_WRITABLE = ("displayname", "externalid", "members")


def group_changes(
    patch: Any, removal_values: dict[int, Any] | None = None, member_limit: int | None = None
) -> list[GroupChange]:
    """Translate a validated ``PatchOp[Group]`` into domain changes, in order.

    ``removal_values`` holds, by operation index, the values of remove operations that
    were taken off the body before validation (see ``scim.groups.patch_group``);
    ``member_limit`` caps how many members one filtered remove may select.
    """
    changes: list[GroupChange] = []
    for index, operation in enumerate(patch.operations or []):
        kind = str(operation.op.value).lower()
        path = operation.path
        if path is None:
            if not isinstance(operation.value, dict):
                raise InvalidValueError(f"A {kind} operation without a path needs an object value.")
            for key, value in operation.value.items():
                # Okta renames with {"op": "replace", "value": {"id": ..., "displayName": ...}};
                # read-only attributes are ignored here as PUT ignores them (RFC 7644 §3.5.1).
                name = key.lower().removeprefix(_GROUP_URN_PREFIX)
                if name in _GROUP_READ_ONLY or name not in _GROUP_WRITABLE:
                    # Unknown keys in a value are ignored, as in a POST body.
                    continue
                changes.append(_attribute_change(kind, key, value))
        elif path.attr.lower() == "members" and path.value_filter is not None:
            if kind != "remove":
                raise InvalidPathError(
                    "Only a remove operation may select members with a filter; "
                    "add or replace members with the path 'members'."
                )
            changes.append(RemoveMembersWhere(where=path.value_filter, limit=member_limit))
        elif kind == "remove":
            value = (removal_values or {}).get(index, operation.value)
            changes.append(_removal(path.attr, value))
        else:
            changes.append(_attribute_change(kind, path.attr, operation.value))
    return changes


def _attribute_change(kind: str, key: str, value: Any) -> GroupChange:
    name = key.lower().removeprefix(_GROUP_URN_PREFIX)
    if name == "displayname":
        if not isinstance(value, str):
            raise InvalidValueError("displayName must be a string.")
        return Rename(display_name=value)
    if name == "externalid":
        if value is not None and not isinstance(value, str):
            raise InvalidValueError("externalId must be a string.")
        return SetExternalId(external_id=value)
    if name == "members":
        refs = _member_list(value)
        return AddMembers(refs=refs) if kind == "add" else ReplaceMembers(refs=refs)
    raise InvalidPathError(f"{key!r} is not a writable attribute of a Group.")


def _removal(attribute: str, value: Any) -> GroupChange:
    name = attribute.lower()
    if name == "members":
        # A plain "remove members" clears the group (RFC 7644 §3.5.2.2); one naming
        # members, even none of them, removes only those.
        if value is None:
            return ReplaceMembers(refs=[])
        return RemoveMembers(refs=_member_list(value))
    if name == "externalid":
        return SetExternalId(external_id=None)
    if name == "displayname":
        raise InvalidValueError("displayName is required and cannot be removed.")
    raise InvalidPathError(f"{attribute!r} is not a writable attribute of a Group.")


def _member_list(value: Any) -> list[MemberRef]:
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(
        isinstance(item, dict) and isinstance(item.get("value"), str) for item in value
    ):
        raise InvalidValueError('members must be a list of objects like {"value": "<id>"}.')
    return member_refs(value)
