"""Authenticated encryption of users' secrets at rest (AES-256-GCM).

A stored value reads `pv1.<key id>.<nonce>.<ciphertext+tag>` (URL-safe base64, no
padding). The key id is a short hash of the key, so decryption picks the right key
from ENCRYPTION_KEYS (newest first) and rotation knows which values are current.
The associated data binds the value to its owner and column: a value copied into
another user's row or another column fails to decrypt instead of being used there.

Why AES-GCM with associated data rather than MultiFernet: Fernet has no associated
data, so a token copied to another user's row would decrypt there; binding would
need an extra MAC or a per-user key derivation of our own. Fernet tokens also carry
no key id, so MultiFernet tries every key in turn and cannot tell "encrypted under
an old key" from "tampered", which the rotation report needs.
"""

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

VERSION = "pv1"
NONCE_BYTES = 12
KEY_ID_CHARS = 8


class DecryptionError(Exception):
    """A stored secret cannot be read: no configured key fits, or it was tampered with
    or moved. The message never contains the value."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"stored secret cannot be decrypted ({reason})")
        self.reason = reason


class Secret:
    """A decrypted secret that keeps itself out of reprs, f-strings and logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    @property
    def last4(self) -> str:
        return self._value[-4:]

    def __repr__(self) -> str:
        return "Secret('****')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)


def key_id(key: bytes) -> str:
    """A short, non-secret name for a key (a domain-separated hash)."""
    return hashlib.sha256(b"plantops key id\0" + key).hexdigest()[:KEY_ID_CHARS]


def configured_keys() -> Sequence[bytes]:
    return current_app.config["ENCRYPTION_KEYS"]


def encrypt(value: str, user_id: int, field: str, keys: Sequence[bytes] | None = None) -> str:
    """Encrypt `value` (a str) for `user_id`'s `field` under the newest key."""
    key = (keys or configured_keys())[0]
    kid = key_id(key)
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, value.encode(), _associated_data(kid, user_id, field))
    return ".".join((VERSION, kid, _b64(nonce), _b64(sealed)))


def decrypt(stored: str | None, user_id: int, field: str, keys: Sequence[bytes] | None = None) -> str:
    """The plaintext of a value made by `encrypt` for the same user and field.

    Raises DecryptionError when the format is unknown, no configured key has the
    value's key id, or authentication fails (tampered, or moved to another row/column).
    """
    kid, nonce, sealed = parse(stored)
    candidates = [key for key in (keys or configured_keys()) if key_id(key) == kid]
    if not candidates:
        raise DecryptionError("no configured key fits")
    for key in candidates:
        try:
            plain = AESGCM(key).decrypt(nonce, sealed, _associated_data(kid, user_id, field))
        except InvalidTag:
            continue
        return plain.decode()
    raise DecryptionError("tampered, or stored for another user or field")


def decrypt_field(owner: Any, field: str, keys: Sequence[bytes] | None = None) -> str | None:
    """The plaintext of `owner`'s (a User's) encrypted column `field`, or None when unset."""
    stored = getattr(owner, field)
    return None if stored is None else decrypt(stored, owner.id, field, keys)


def key_id_of(stored: str | None) -> str:
    return parse(stored)[0]


def is_current(stored: str | None, keys: Sequence[bytes] | None = None) -> bool:
    """Whether `stored` is under the newest key (its id only; it may still be tampered)."""
    return key_id_of(stored) == key_id((keys or configured_keys())[0])


def parse(stored: str | None) -> tuple[str, bytes, bytes]:
    parts = (stored or "").split(".")
    if len(parts) != 4 or parts[0] != VERSION or len(parts[1]) != KEY_ID_CHARS:
        raise DecryptionError("unknown format")
    try:
        nonce, sealed = _unb64(parts[2]), _unb64(parts[3])
    except (binascii.Error, ValueError):
        raise DecryptionError("unknown format") from None
    if len(nonce) != NONCE_BYTES or len(sealed) < 16:
        raise DecryptionError("unknown format")
    return parts[1], nonce, sealed


def _associated_data(kid: str, user_id: int, field: str) -> bytes:
    return f"plantops|{VERSION}|{kid}|user={int(user_id)}|field={field}".encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
