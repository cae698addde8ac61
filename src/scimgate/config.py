"""Typed settings, read from ``SCIMGATE_*`` environment variables.

Nothing here opens a connection or reads a file: the settings object is built by the
CLI (or a test) and handed to ``create_app(settings)``.
"""

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything an operator can configure."""

    model_config = SettingsConfigDict(env_prefix="SCIMGATE_", extra="ignore")

    database_url: str = "sqlite:///./scimgate.db"
    """SQLAlchemy URL of the database: ``sqlite:///path`` (embedded default) or
    ``postgresql+psycopg://user@host:5432/dbname`` (production)."""

    public_base_url: str | None = None
    """Externally visible URL of this server (``https://scim.example.com``), used in
    ``meta.location`` and ``$ref``. When unset, it is taken from each request's host."""

    log_keys: SecretStr | None = None
    """Key ring of the encrypted SCIM request log: comma-separated ``id:key`` entries,
    oldest first, each key 32 random bytes in base64 (``scimgate logs key`` prints one).
    New entries are encrypted under the last key; the others stay to read older entries
    until ``scimgate logs rekey``. Required outside demo mode."""

    log_max_body_bytes: int = Field(default=262_144, ge=0)
    """Most bytes of each request and response body kept in a request log entry; the
    rest is dropped and the entry marked truncated."""

    log_purge_interval_seconds: int = Field(default=3600, ge=0)
    """How often the server purges request log entries older than each organization's
    retention period; 0 leaves purging to ``scimgate logs purge``."""

    admin_api_key: SecretStr | None = None
    """Bearer key of the JSON admin API under ``/api``; the API answers 404 while unset."""

    demo: bool = False
    """Demo mode, set by ``scimgate quickstart``: relaxes the secrets that production
    requires."""

    token_grace_seconds: int = Field(default=0, ge=0)
    """How long a rotated SCIM token keeps working after its replacement is issued."""

    default_page_size: int = Field(default=100, ge=1)
    """``count`` used for list requests that do not send one (RFC 7644 §3.4.2.4)."""

    max_page_size: int = Field(default=1000, ge=1)
    """Largest ``count`` honoured; larger requests are cut to it, as RFC 7644 §3.4.2.4
    allows, and it is advertised as ``filter.maxResults``."""

    cursor_timeout_seconds: int = Field(default=3600, ge=1)
    """How long a pagination cursor stays valid (RFC 9865 ``cursorTimeout``)."""

    max_members_per_request: int = Field(default=10000, ge=1)
    """Most group members a single POST, PUT or PATCH may name."""

    bulk_max_operations: int = Field(default=1000, ge=1)
    """Most operations one ``/Bulk`` request may carry (RFC 7644 §3.7.4), advertised in
    ``/ServiceProviderConfig``."""

    bulk_max_payload_bytes: int = Field(default=1_048_576, ge=1)
    """Largest ``/Bulk`` request body in bytes (RFC 7644 §3.7.4), advertised in
    ``/ServiceProviderConfig``."""

    sqlite_busy_timeout_ms: int = Field(default=30000, ge=0)
    """How long an SQLite writer waits for the write lock before giving up."""

    breaker_share: float = Field(default=0.25, ge=0, le=1)
    """Mass-deprovisioning breaker: the share of an organization's active members that
    may be deactivated or deleted within one window before further deprovisioning is
    held (503) until an administrator approves; 0 or 1 turns the breaker off.
    Organizations can have their own (``scimgate breaker set``)."""

    breaker_min_people: int = Field(default=10, ge=0)
    """Mass-deprovisioning breaker: this many deprovisionings per window always pass,
    whatever the share, so small organizations can offboard."""

    breaker_window_seconds: int = Field(default=3600, ge=1)
    """Mass-deprovisioning breaker: the sliding window deprovisionings are counted in."""

    max_body_bytes: int = Field(default=4_194_304, ge=1)
    """Largest SCIM request body in bytes, except ``/Bulk`` (``bulk_max_payload_bytes``);
    a larger one is refused with 413 before it is read in full."""

    max_filter_length: int = Field(default=4096, ge=1, le=4096)
    """Longest ``filter`` (query, ``.search`` body or PATCH path) accepted, in characters;
    longer ones are refused with 400 ``invalidFilter`` before parsing. At most 4096, the
    filter parser's own bound."""

    max_filter_depth: int = Field(default=10, ge=1)
    """Deepest nesting of parentheses, ``not (...)`` and value paths (``emails[...]``)
    in a filter or PATCH path; deeper ones are refused with 400 ``invalidFilter``."""

    max_filter_comparisons: int = Field(default=100, ge=1)
    """Most comparisons (``eq``, ``co``, ``pr``, ...) one filter or PATCH path may hold;
    more are refused with 400 ``invalidFilter``."""

    request_timeout_seconds: float = Field(default=30, gt=0)
    """How long a SCIM request may run before it is answered 503 with ``Retry-After``;
    database statements are stopped after the same time."""

    rate_limit_per_second: float = Field(default=0, ge=0)
    """SCIM requests per second each organization may send, per server process, refilled
    continuously; beyond it requests get 429 with ``Retry-After``. 0 turns it off."""

    rate_limit_burst: int = Field(default=10, ge=1)
    """How many requests an organization may send at once before the rate applies."""

    admin_sign_in_per_minute: int = Field(default=20, ge=0)
    """Sign-in attempts to the admin web UI each client address may make per minute, per
    server process (in bursts of as many); beyond it the form answers 429 with
    ``Retry-After``. Accounts also lock after 5 failures; this limit stops one address
    trying a few passwords on many accounts. 0 turns it off."""
