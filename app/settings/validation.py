"""Checks for the URLs a user gives PlantOps to call; plain functions of their inputs."""

import re
from urllib.parse import urlsplit

from .. import outbound

DISCORD_HOSTS = {"discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com"}
RESOLVE_SECONDS = 2.0
WEBHOOK_PATH = re.compile(r"^/api(/v\d{1,2})?/webhooks/\d{1,25}/[A-Za-z0-9_-]{20,120}$")


class InvalidURL(ValueError):
    """The message is for the user; it never repeats the URL (it may hold a secret)."""


class CredentialsInURL(InvalidURL):
    """The URL carries a user name or password: do not even show it back in the form."""


def check_discord_webhook_url(url, production):
    """A Discord webhook URL (`https://discord.com/api/webhooks/<id>/<token>`), normalised.

    Outside production any http(s) host is accepted, so a local stand-in can be used.
    """
    parts = _split(url, "Leave user names and passwords out of the URL: the webhook URL Discord shows has none.")
    if parts.query or parts.fragment or not WEBHOOK_PATH.match(parts.path):
        raise InvalidURL("That is not a Discord webhook URL: it looks like https://discord.com/api/webhooks/…")
    if production and (parts.scheme != "https" or parts.hostname not in DISCORD_HOSTS):
        raise InvalidURL("Use the https://discord.com/api/webhooks/… URL that Discord shows.")
    return url.strip()


def check_llm_base_url(url, production, allowed_hosts=()):
    """The base URL of an OpenAI-compatible API (e.g. https://api.openai.com/v1), normalised.

    In production only https is accepted, and no local or private address, unless the
    host is in LLM_ALLOWED_HOSTS (e.g. a local Ollama). This tells the user at once; the
    guard that holds is app.outbound's, at every request.
    """
    parts = _split(url)
    if parts.query or parts.fragment:
        raise InvalidURL("Give the base URL without ? or # parts, e.g. https://api.openai.com/v1.")
    allowed = parts.hostname in {host.lower() for host in allowed_hosts}
    if production and not allowed:
        if parts.scheme != "https":
            raise InvalidURL("Use an https:// URL (plain http is only allowed for hosts the operator listed).")
        if _is_local(parts.hostname, parts.port or 443):
            raise InvalidURL("Local and private addresses are only allowed for hosts the operator listed.")
    return url.strip().rstrip("/")


def _split(url, credentials_message="Leave user names and passwords out of the URL; use the API key field."):
    url = (url or "").strip()
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise InvalidURL("A URL cannot contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        raise InvalidURL("That is not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidURL("Give a full URL starting with https:// (or http://).")
    if parts.username is not None or parts.password is not None:
        raise CredentialsInURL(credentials_message)
    return parts


def _is_local(hostname: str, port: int) -> bool:
    """A local name, an address in any spelling the resolver reads (`127.1`, `0x7f.0.0.1`,
    `2130706433`, `[::ffff:127.0.0.1]`), or a name that resolves to one. A name that does not
    resolve now passes: the request-time check refuses it if it later resolves locally."""
    if hostname == "localhost" or hostname.endswith((".localhost", ".local", ".internal")):
        return True
    address = outbound.literal_address(hostname)
    if address is not None:
        return not outbound.is_public(address)
    try:
        outbound.vetted_addresses(hostname, port, outbound.Policy(RESOLVE_SECONDS), RESOLVE_SECONDS)
    except outbound.OutboundError as error:
        return error.kind == "blocked"
    return False
