"""One HTTP attempt at a webhook, and what its answer means for the next one."""

import logging
from dataclasses import dataclass

import requests

from ..crypto import DecryptionError
from ..settings.secrets import read_secret
from .retry import parse_retry_after

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Outcome:
    sent: bool
    retry: bool = False
    error: str | None = None
    retry_after: float | None = None  # seconds the server asked us to wait


def post(http, url, payload, timeout=TIMEOUT_SECONDS):
    """POST `payload` as JSON. Error texts never include the URL: a webhook URL is a secret."""
    try:
        response = http.post(url, json=payload, timeout=timeout, allow_redirects=False)
    except requests.Timeout:
        return Outcome(False, retry=True, error=f"no answer within {timeout:g} s")
    except requests.RequestException as error:
        return Outcome(False, retry=True, error=f"network error ({type(error).__name__})")
    return classify(response.status_code, response.headers, _json(response))


def classify(status, headers, body):
    """2xx sent; 429 wait as told; 5xx retry; any other answer is final."""
    if 200 <= status < 300:
        return Outcome(True)
    if status == 429:
        return Outcome(False, retry=True, error="HTTP 429 (rate limited)", retry_after=parse_retry_after(headers, body))
    if status >= 500:
        return Outcome(False, retry=True, error=f"HTTP {status}")
    detail = body.get("message") if isinstance(body, dict) else None
    return Outcome(False, error=f"HTTP {status}" + (f": {str(detail)[:200]}" if detail else ""))


def _json(response):
    if "json" not in response.headers.get("Content-Type", ""):
        return None
    try:
        return response.json()
    except ValueError:
        return None


def webhook_url(user, default_url):
    """The user's own webhook (decrypted) if set, else the instance-wide one."""
    try:
        secret = read_secret(user, "discord_webhook_url")
    except DecryptionError:  # a key removed too early must not stop every other delivery
        log.warning("user %s: stored Discord webhook cannot be decrypted; using the default", user.id)
        return default_url
    return secret.reveal() if secret is not None else default_url
