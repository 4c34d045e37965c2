"""A user's stored secrets: written encrypted, read decrypted, described for pages.

Other areas (the Discord notifier, advice) read a secret with `read_secret`.
"""

from dataclasses import dataclass

from ..crypto import DecryptionError, Secret, decrypt, encrypt

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


def llm_provider(user):
    """The user's LLM provider with the decrypted key, or None when none is set up.
    Raises DecryptionError when the stored key cannot be read."""
    from .providers import LLMProvider

    if not (user.llm_base_url and user.llm_model):
        return None
    return LLMProvider(user.llm_base_url, user.llm_model, read_secret(user, "llm_api_key"))
