"""Sealing request log payloads with AES-256-GCM under the key ring.

The payload (bodies, URL query, summary, warnings) is JSON, encrypted under the ring's
newest key with a random 96-bit nonce (NIST SP 800-38D §8.2.2). The organization and
the key id are authenticated as associated data, so a sealed payload copied onto
another organization's entry, or relabelled with another key id, does not open.
"""

import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from scimgate.errors import ScimError

from .keys import KeyRing

NONCE_BYTES = 12
_CONTEXT = b"scimgate request log v1"


class UnreadableEntryError(ScimError):
    """A sealed payload does not open with the key its entry names."""

    default_detail = "The request log entry cannot be decrypted."


@dataclass(frozen=True)
class Sealed:
    """An encrypted payload and what it takes to open it again."""

    key_id: str
    nonce: bytes
    ciphertext: bytes

    def __repr__(self) -> str:
        return f"Sealed(key_id={self.key_id!r}, bytes={len(self.ciphertext)})"


def _associated_data(org_id: str, key_id: str) -> bytes:
    return b"|".join((_CONTEXT, org_id.encode(), key_id.encode()))


def seal(ring: KeyRing, org_id: str, payload: dict[str, Any]) -> Sealed:
    """Encrypt ``payload`` for one organization's entry under the newest key."""
    key_id = ring.newest_id
    nonce = os.urandom(NONCE_BYTES)
    plaintext = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    ciphertext = AESGCM(ring.key(key_id)).encrypt(
        nonce, plaintext, _associated_data(org_id, key_id)
    )
    return Sealed(key_id=key_id, nonce=nonce, ciphertext=ciphertext)


def unseal(ring: KeyRing, org_id: str, sealed: Sealed) -> dict[str, Any]:
    """Decrypt a payload; LogKeyError without its key, UnreadableEntryError if it fails."""
    key = ring.key(sealed.key_id)
    try:
        plaintext = AESGCM(key).decrypt(
            sealed.nonce, sealed.ciphertext, _associated_data(org_id, sealed.key_id)
        )
    except InvalidTag:
        raise UnreadableEntryError(
            f"The entry does not open with the key {sealed.key_id!r}: another key carries "
            "that id, or the entry was altered."
        ) from None
    payload: dict[str, Any] = json.loads(plaintext)
    return payload
