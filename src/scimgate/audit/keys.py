"""The request log's key ring: configured keys, and the demo key kept beside the database.

A ring is written ``id:key,id:key`` (oldest first); each key is 32 random bytes in
base64, as ``openssl rand -base64 32`` or ``scimgate logs key`` prints them. Entries
record the id of the key that sealed them, so old keys stay in the ring until
``scimgate logs rekey`` has moved every entry to the newest one.
"""

import base64
import binascii
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from scimgate.config import Settings
from scimgate.errors import ScimError

KEY_BYTES = 32  # AES-256
DEMO_KEY_ID = "demo"
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,32}")
# A key that decodes to text is a password or a placeholder, not 32 random bytes.
_PRINTABLE = frozenset(range(0x20, 0x7F))


class LogKeyError(ScimError):
    """The request log's key ring is missing or malformed (extends ``ScimError``: 500)."""

    default_detail = "The request log key ring is not usable."


@dataclass(frozen=True)
class KeyRing:
    """The keys that open request log entries; the last one seals new entries."""

    keys: dict[str, bytes] = field(repr=False)
    """Key id → 32-byte key, oldest first."""

    def __post_init__(self) -> None:
        if not self.keys:
            raise LogKeyError("The request log key ring is empty.")

    @property
    def newest_id(self) -> str:
        """The id of the key new entries are sealed with."""
        return next(reversed(self.keys))

    def key(self, key_id: str) -> bytes:
        """The key named ``key_id``; LogKeyError when the ring lacks it."""
        try:
            return self.keys[key_id]
        except KeyError:
            raise LogKeyError(f"The key {key_id!r} is not in the request log key ring.") from None


def new_key_entry(key_id: str) -> str:
    """A fresh ``id:key`` ring entry, for an operator to append to ``SCIMGATE_LOG_KEYS``."""
    _check_id(key_id)
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def parse_ring(text: str) -> dict[str, bytes]:
    """Read ``id:key,id:key``; LogKeyError saying which entry is wrong and why."""
    keys: dict[str, bytes] = {}
    for number, entry in enumerate(text.split(","), start=1):
        key_id, colon, encoded = entry.strip().partition(":")
        if not colon:
            raise LogKeyError(f"Log key entry {number} must be written id:base64key.")
        _check_id(key_id)
        if key_id in keys:
            raise LogKeyError(f"Log key id {key_id!r} appears twice in the key ring.")
        keys[key_id] = _decode_key(key_id, encoded.strip())
    return keys


def _check_id(key_id: str) -> None:
    if not _KEY_ID.fullmatch(key_id):
        raise LogKeyError(
            f"Log key id {key_id!r} must be 1 to 32 letters, digits, '.', '_' or '-'."
        )


def _decode_key(key_id: str, encoded: str) -> bytes:
    padded = encoded + "=" * (-len(encoded) % 4)
    try:
        key = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise LogKeyError(f"Log key {key_id!r} is not valid base64.") from None
    if len(key) != KEY_BYTES:
        raise LogKeyError(f"Log key {key_id!r} must be {KEY_BYTES} bytes, not {len(key)}.")
    if set(key) <= _PRINTABLE or len(set(key)) < 8:
        raise LogKeyError(
            f"Log key {key_id!r} looks like a placeholder, not 32 random bytes; "
            "make one with `scimgate logs key` or `openssl rand -base64 32`."
        )
    return key


def demo_key_path(database_url: str) -> Path:
    """Where demo mode keeps its key: beside an SQLite file, else in the working folder."""
    url = make_url(database_url)
    database = url.database or ""
    # Names ending in ".key", which the repository's .gitignore already keeps out.
    if url.get_backend_name() == "sqlite" and database and database != ":memory:":
        return Path(database + ".log.key")
    return Path("scimgate.log.key")


def _read_demo_key(path: Path) -> dict[str, bytes]:
    if not path.exists():
        return {}
    try:
        return parse_ring(path.read_text().strip())
    except LogKeyError as exc:
        raise LogKeyError(f"The demo key file {path} is damaged: {exc.detail}") from None


def _create_demo_key(path: Path) -> dict[str, bytes]:
    """Write a new demo key readable by its owner only; another process may win the race."""
    entry = new_key_entry(DEMO_KEY_ID)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_demo_key(path)
    with os.fdopen(descriptor, "w") as file:
        file.write(entry + "\n")
    return parse_ring(entry)


def load_ring(settings: Settings, *, create_demo_key: bool = False) -> KeyRing:
    """The configured keys, preceded by the demo key when its file exists.

    The demo key comes first (oldest), so once ``SCIMGATE_LOG_KEYS`` is set,
    ``scimgate logs rekey`` moves the demo entries under the configured key. With
    ``create_demo_key`` and no key anywhere, the demo key file is created.
    """
    configured = parse_ring(settings.log_keys.get_secret_value()) if settings.log_keys else {}
    path = demo_key_path(settings.database_url)
    demo = _read_demo_key(path)
    if not demo and not configured and create_demo_key:
        demo = _create_demo_key(path)
    if DEMO_KEY_ID in configured and demo:
        raise LogKeyError(f"The key id {DEMO_KEY_ID!r} is taken by the demo key file {path}.")
    if not demo and not configured:
        raise LogKeyError(
            "No request log key: set SCIMGATE_LOG_KEYS to id:base64key "
            "(`scimgate logs key` prints a new one)."
        )
    return KeyRing({**demo, **configured})


def server_ring(settings: Settings) -> KeyRing:
    """The ring a server starts with; outside demo mode a configured key is required."""
    if settings.log_keys is None and not settings.demo:
        raise LogKeyError(
            "The server needs a request log key outside demo mode: set SCIMGATE_LOG_KEYS "
            "to id:base64key (`scimgate logs key` prints a new one)."
        )
    return load_ring(settings, create_demo_key=settings.demo)
