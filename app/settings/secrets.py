"""A user's stored secrets: written encrypted, read decrypted, described for pages.

Other areas (the Discord notifier, advice) read a secret with `read_secret`.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from ..crypto import DecryptionError, Secret, decrypt, encrypt
from .providers import LLMProvider

SECRET_FIELDS = ("discord_webhook_url", "llm_api_key")


@dataclass(frozen=True)
class SecretState:
    """What a page may show about a secret: whether it is set, and its last four characters."""

    status: str  # "unset", "set" or "unreadable"
    last4: str = ""

    @property
    def is_set(self):
        return self.status == "set"

    @property
    def unreadable(self):
        return self.status == "unreadable"


def store_secret(user, field, value):
    """Encrypt `value` into `user`'s column `field`; None or "" removes it."""
    _check(field)
    setattr(user, field, encrypt(value, user.id, field) if value else None)


def read_secret(user, field):
    """The decrypted secret (a `Secret`) or None when unset. Raises DecryptionError."""
    _check(field)
    stored = getattr(user, field)
    return None if stored is None else Secret(decrypt(stored, user.id, field))


def secret_state(user, field):
    try:
        secret = read_secret(user, field)
    except DecryptionError:
        return SecretState("unreadable")
    return SecretState("unset") if secret is None else SecretState("set", secret.last4)


def _check(field):
    if field not in SECRET_FIELDS:
        raise ValueError(f"{field} is not a secret column")


class KeyForAnotherOrigin(Exception):
    """The saved LLM API key was entered for another origin than the current base URL."""

    def __init__(self, origin: str) -> None:
        super().__init__(origin)
        self.origin = origin


@dataclass(frozen=True)
class BoundKey:
    """The LLM API key and the origin (scheme://host:port) it was entered for; None for a
    key saved before keys were bound, which counts as bound to the saved base URL."""

    origin: str | None
    key: Secret


def origin_of(url: str | None) -> str:
    """`https://api.example:443` for `https://API.example/v1`: what a key is bound to."""
    parts = urlsplit(url or "")
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme, 0)
    return f"{parts.scheme}://{parts.hostname or ''}:{port}"


def store_llm_key(user, key: str | None, base_url: str | None) -> None:
    """Save `key` bound to the origin of `base_url` (inside the ciphertext); None removes it."""
    store_secret(user, "llm_api_key", f"{origin_of(base_url)} {key}" if key else None)


def read_llm_key(user) -> BoundKey | None:
    """The saved key and its origin, or None. Raises DecryptionError."""
    secret = read_secret(user, "llm_api_key")
    if secret is None:
        return None
    origin, _, key = secret.reveal().rpartition(" ")  # keys never hold spaces (the form refuses them)
    return BoundKey(origin or None, Secret(key))


def key_origin(user, bound: BoundKey) -> str:
    return bound.origin or origin_of(user.llm_base_url)


def llm_provider(user):
    """The user's LLM provider with the decrypted key, or None when none is set up.
    Raises DecryptionError when the stored key cannot be read, and KeyForAnotherOrigin
    when it was entered for another origin (it is never sent there)."""
    if not (user.llm_base_url and user.llm_model):
        return None
    bound = read_llm_key(user)
    if bound is None:
        return LLMProvider(user.llm_base_url, user.llm_model)
    origin = key_origin(user, bound)
    if origin != origin_of(user.llm_base_url):
        raise KeyForAnotherOrigin(origin)
    return LLMProvider(user.llm_base_url, user.llm_model, bound.key)


# Notification channels: each channel's URL (its tokens inside) is one secret, bound to the
# user and to the channel's row, so a value copied to another channel or user fails to decrypt.


def channel_field(channel) -> str:
    return f"notification_channel:{channel.id}"


def store_channel_url(channel, url: str) -> None:
    """Encrypt `url` into `channel.url`; the channel must have its id (flush first)."""
    channel.url = encrypt(url, channel.user_id, channel_field(channel))


def read_channel_url(channel) -> Secret | None:
    """The decrypted channel URL, or None when unset. Raises DecryptionError."""
    return None if channel.url is None else Secret(decrypt(channel.url, channel.user_id, channel_field(channel)))


def channel_state(channel) -> SecretState:
    try:
        secret = read_channel_url(channel)
    except DecryptionError:
        return SecretState("unreadable")
    return SecretState("unset") if secret is None else SecretState("set", secret.last4)
