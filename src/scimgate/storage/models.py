"""SQLAlchemy models: the domain entities of scimgate.

Every tenant-owned row carries ``org_id``, and every query filters on it, so one
organization's rows are never visible through another's token.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Identical constraint names on SQLite and PostgreSQL, so migrations address them alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def new_id() -> str:
    """Return a fresh resource id (RFC 7643 §3.1: unique, stable, never reassigned)."""
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and read back timezone-aware.

    SQLite has no timezone-aware type, so both dialects store naive UTC, which keeps
    ``meta.lastModified`` comparisons identical on both.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base with the shared naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Organization(Base):
    """A tenant: one company whose identity provider provisions into scimgate."""

    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    """Name as given by the operator."""
    name_norm: Mapped[str] = mapped_column(String(200), unique=True)
    """Lower-cased name: organization names are unique case-insensitively."""
    scim_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    """The SCIM on/off switch; SCIM also needs a configured SSO connection."""
    google_directory_sync: Mapped[bool] = mapped_column(Boolean, default=False)
    """Google Directory Sync is the user source; never on together with SCIM."""
    sync_groups_to_teams: Mapped[bool] = mapped_column(Boolean, default=False)
    """Feature flag: SCIM groups create, rename and fill teams."""
    assign_roles_from_groups: Mapped[bool] = mapped_column(Boolean, default=False)
    """Feature flag: a member's role follows the roles mapped to their SCIM groups."""
    phone_sync: Mapped[bool] = mapped_column(Boolean, default=False)
    """Feature flag: SCIM phone numbers are written to the person's phone numbers."""
    default_role_id: Mapped[str | None] = mapped_column(
        ForeignKey("roles.id", ondelete="SET NULL", use_alter=True), default=None
    )
    """The role of a member no mapped group gives one to."""
    detected_idp: Mapped[str | None] = mapped_column(String(40), default=None)
    """The identity provider last seen talking SCIM to this organization."""
    detected_user_agent: Mapped[str | None] = mapped_column(String(300), default=None)
    """The User-Agent of that IdP's last request, as sent."""
    idp_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    """When that IdP was last seen (updated at most once a minute)."""
    log_retention_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    """How long SCIM request log entries are kept before they are purged."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    sso: Mapped["SsoConnection | None"] = relationship(
        back_populates="organization", uselist=False, lazy="selectin"
    )

    def __repr__(self) -> str:
        return f"Organization(id={self.id!r}, name={self.name!r})"


class SsoConnection(Base):
    """The SAML identity provider an organization signs in with."""

    __tablename__ = "sso_connections"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), unique=True
    )
    entity_id: Mapped[str] = mapped_column(String(1000))
    """The IdP's SAML entity ID."""
    sso_url: Mapped[str] = mapped_column(String(2000))
    """The IdP's single sign-on service URL."""
    certificate_pem: Mapped[str] = mapped_column(Text)
    """The IdP's signing certificate, PEM-encoded."""
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization] = relationship(back_populates="sso")


class ScimToken(Base):
    """A bearer token an IdP uses for one organization; only its hash is stored."""

    __tablename__ = "scim_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 of the token, hex-encoded."""
    prefix: Mapped[str] = mapped_column(String(16))
    """First characters of the token, to tell tokens apart in listings."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    """Set when the token is rotated: it keeps working until then."""
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    organization: Mapped[Organization] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"ScimToken(id={self.id!r}, prefix={self.prefix!r})"


class User(Base):
    """A SCIM User of one organization."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("org_id", "user_name_norm"),
        Index("ix_users_org_external_id", "org_id", "external_id"),
        # The default listing order and cursor paging (migration 0008).
        Index("ix_users_org_created", "org_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    person_id: Mapped[str | None] = mapped_column(
        ForeignKey("persons.id", ondelete="RESTRICT"), index=True, default=None
    )
    """The person this membership belongs to (one person, many organizations)."""
    role_id: Mapped[str | None] = mapped_column(
        ForeignKey("roles.id", ondelete="SET NULL"), index=True, default=None
    )
    """The member's role in the organization; None while deactivated."""
    role_from_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("groups.id", ondelete="SET NULL"), default=None
    )
    """The SCIM group whose mapping gave the role, when one did (shown as the reason)."""
    user_name: Mapped[str] = mapped_column(String(320))
    """``userName`` exactly as the IdP sent it."""
    user_name_norm: Mapped[str] = mapped_column(String(320))
    """Lower-cased ``userName``: RFC 7643 §4.1.1 makes it case-insensitive."""
    external_id: Mapped[str | None] = mapped_column(String(1000), default=None)
    display_name: Mapped[str | None] = mapped_column(String(1000), default=None)
    given_name: Mapped[str | None] = mapped_column(String(1000), default=None)
    family_name: Mapped[str | None] = mapped_column(String(1000), default=None)
    active: Mapped[bool | None] = mapped_column(Boolean, default=True)
    """None when the IdP removed the attribute (RFC 7644 §3.5.2.2: unassigned); the
    user is then treated as active, as when it was never sent."""
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """The rest of the SCIM document (core and enterprise attributes), as validated."""
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    """scrypt hash of a password the IdP sent; never returned (RFC 7643 §4.1.1)."""
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    emails: Mapped[list["UserEmail"]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="UserEmail.position",
        lazy="selectin",
    )

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, user_name={self.user_name!r})"


class UserEmail(Base):
    """One value of a user's ``emails``, kept as a row so filters can reach it in SQL."""

    __tablename__ = "user_emails"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    value: Mapped[str] = mapped_column(String(320))
    value_norm: Mapped[str] = mapped_column(String(320), index=True)
    type: Mapped[str | None] = mapped_column(String(100), default=None)
    primary: Mapped[bool | None] = mapped_column(Boolean, default=None)
    """As sent: true, false, or None when the IdP did not say."""
    display: Mapped[str | None] = mapped_column(String(1000), default=None)


class Group(Base):
    """A SCIM Group of one organization."""

    __tablename__ = "groups"
    __table_args__ = (
        UniqueConstraint("org_id", "display_name_norm"),
        Index("ix_groups_org_external_id", "org_id", "external_id"),
        Index("ix_groups_org_created", "org_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    display_name: Mapped[str] = mapped_column(String(1000))
    display_name_norm: Mapped[str] = mapped_column(String(1000))
    """Lower-cased ``displayName``: group names are unique per organization,
    case-insensitively."""
    external_id: Mapped[str | None] = mapped_column(String(1000), default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"Group(id={self.id!r}, display_name={self.display_name!r})"


class GroupMember(Base):
    """One member of a group: a user or a nested group, one row each.

    Adding or removing a member touches only its row, never the rest of the list.
    """

    __tablename__ = "group_members"
    __table_args__ = (
        UniqueConstraint("group_id", "user_id"),
        UniqueConstraint("group_id", "member_group_id"),
        CheckConstraint(
            "(user_id IS NULL) <> (member_group_id IS NULL)", name="exactly_one_member"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, default=None
    )
    member_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), index=True, default=None
    )
    display: Mapped[str | None] = mapped_column(String(1000), default=None)
    """The ``display`` the IdP sent with the member (readWrite in RFC 7643 §4.2);
    when None, responses show the member's own name."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ServerSecret(Base):
    """A random key the server generates once and shares across workers and restarts."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    """The key, base64url-encoded."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"ServerSecret(name={self.name!r})"


class Person(Base):
    """Someone who can sign in, across organizations: one record per email address.

    Only the app's own fields live here. What an organization's IdP sent stays on its
    membership (``User``), so no organization sees what another one's IdP says.
    """

    __tablename__ = "persons"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320))
    email_norm: Mapped[str] = mapped_column(String(320), unique=True)
    """Lower-cased email: one person per address, case-insensitively."""
    first_name: Mapped[str | None] = mapped_column(String(1000), default=None)
    last_name: Mapped[str | None] = mapped_column(String(1000), default=None)
    preferred_name: Mapped[str | None] = mapped_column(String(1000), default=None)
    work_email: Mapped[str | None] = mapped_column(String(320), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"Person(id={self.id!r})"


class PersonPhoneNumber(Base):
    """A verified phone number of a person, in E.164."""

    __tablename__ = "person_phone_numbers"
    __table_args__ = (UniqueConstraint("person_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(32))
    verified: Mapped[bool] = mapped_column(Boolean, default=True)
    """Numbers imported from an IdP count as verified (the seed's rule)."""


class Role(Base):
    """A role of an organization; the higher the weight, the more it grants."""

    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("org_id", "name_norm"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    name_norm: Mapped[str] = mapped_column(String(200))
    weight: Mapped[int] = mapped_column(Integer)


class GroupRole(Base):
    """An administrator's mapping: members of this SCIM group get this role."""

    __tablename__ = "group_roles"

    group_id: Mapped[str] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    role_id: Mapped[str] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), index=True)


class Team(Base):
    """The app's own group of people; it may be linked to one SCIM group."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("org_id", "name_norm"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(1000))
    name_norm: Mapped[str] = mapped_column(String(1000))
    scim_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("groups.id", ondelete="SET NULL"), unique=True, default=None
    )
    """The SCIM group that names and fills this team, while linked."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TeamMember(Base):
    """A member of a team, with who granted it: SCIM, a person, or both."""

    __tablename__ = "team_members"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    via_scim: Mapped[bool] = mapped_column(Boolean, default=False)
    """Granted through the linked SCIM group; SCIM only ever removes this grant."""
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    """Granted by a person; SCIM never removes it."""


class ResourceCount(Base):
    """How many users or groups an organization has, kept exact by database triggers.

    A list without a filter must still report an exact ``totalResults`` (RFC 7644
    §3.4.2), and counting a million rows on every page cost more than the page itself.
    Triggers on ``users`` and ``groups`` (migration 0008) keep this row in step within
    the very transaction that inserts or deletes, whatever inserts them.
    """

    __tablename__ = "resource_counts"

    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    resource_type: Mapped[str] = mapped_column(String(20), primary_key=True)
    """``User`` or ``Group``."""
    total: Mapped[int] = mapped_column(Integer, default=0)


class RequestLogEntry(Base):
    """One SCIM request of an organization and its response, bodies sealed.

    What the viewer filters on is stored in the clear; the URL query, bodies, summary
    and warnings, which can hold personal data, are in ``payload``, encrypted with
    AES-256-GCM under the key ``key_id`` of the request log key ring.
    """

    __tablename__ = "request_log_entries"
    __table_args__ = (
        Index("ix_request_log_entries_org_time", "org_id", "created_at"),
        Index("ix_request_log_entries_org_status", "org_id", "status"),
        Index("ix_request_log_entries_org_resource", "org_id", "resource_type"),
        Index("ix_request_log_entries_org_event", "org_id", "event"),
        Index("ix_request_log_entries_org_target", "org_id", "target_id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    """When the request arrived."""
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(2000))
    """The URL path, without the query (which is sealed)."""
    status: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[float] = mapped_column(Float)
    """From the request's arrival until the last byte of the response was handed over."""
    resource_type: Mapped[str | None] = mapped_column(String(40))
    """User, Group, Bulk, Search, Discovery or Me; None for an unknown endpoint."""
    event: Mapped[str] = mapped_column(String(20))
    """create, replace, patch, delete, read, list, search, bulk or other."""
    target_id: Mapped[str | None] = mapped_column(String(64))
    """The user or group addressed by the URL, or created by the request."""
    user_agent: Mapped[str | None] = mapped_column(String(300))
    idp: Mapped[str | None] = mapped_column(String(40))
    """The identity provider the request looked like it came from, if any did."""
    key_id: Mapped[str] = mapped_column(String(32))
    """The id, in the key ring, of the key that sealed ``payload``."""
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    """The sealed JSON document: query, summary, warnings, headers and bodies."""

    def __repr__(self) -> str:
        return f"RequestLogEntry(id={self.id!r}, status={self.status!r}, key_id={self.key_id!r})"


class DeprovisioningBreaker(Base):
    """An organization's mass-deprovisioning breaker: its limits and its state.

    The row is locked by every deprovisioning request of the organization, so that
    concurrent ones are counted one after the other (see ``domain.breaker``).
    """

    __tablename__ = "deprovisioning_breakers"

    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    share: Mapped[float | None] = mapped_column(Float, default=None)
    """The organization's own share limit (0 to 1); None follows the server's."""
    min_people: Mapped[int | None] = mapped_column(Integer, default=None)
    """The organization's own minimum; None follows the server's."""
    window_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    """The organization's own window length; None follows the server's."""
    tripped_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the first deprovisioning request was held since the breaker last let one
    through; None while none is held."""
    held_requests: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Deprovisioning requests held since ``tripped_at``."""
    approved_until: Mapped[datetime | None] = mapped_column(default=None)
    """An administrator's approval lets every deprovisioning through until then."""
    counted_since: Mapped[datetime | None] = mapped_column(default=None)
    """Deprovisionings before this time no longer count (set by an approval)."""


class DeprovisioningEvent(Base):
    """One membership deactivated or deleted while active, kept for one window."""

    __tablename__ = "deprovisioning_events"
    __table_args__ = (Index("ix_deprovisioning_events_org_time", "org_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    """The membership's id; no foreign key, since a deleted one counts too."""
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdminAccount(Base):
    """A person who signs in to the admin web UI; the password is kept as an argon2 hash."""

    __tablename__ = "admin_accounts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(150))
    """The sign-in name as given."""
    username_norm: Mapped[str] = mapped_column(String(150), unique=True)
    """Lower-cased sign-in name: unique case-insensitively."""
    password_hash: Mapped[str] = mapped_column(String(200))
    """argon2id hash in PHC string form (salt and parameters included)."""
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Wrong passwords since the last successful sign-in."""
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    """Sign-in is refused until then, whatever the password."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)


class AdminGrant(Base):
    """An organization an administrator may see and change."""

    __tablename__ = "admin_grants"

    admin_id: Mapped[str] = mapped_column(
        ForeignKey("admin_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AdminSession(Base):
    """A signed-in browser: the cookie holds a secret, this row only its hash."""

    __tablename__ = "admin_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 of the session cookie's secret, hex-encoded."""
    admin_id: Mapped[str] = mapped_column(
        ForeignKey("admin_accounts.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    """The token every form of this session must send back."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    """Absolute end of the session, however active it is."""
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    """Last request; the session ends after a period without one."""
