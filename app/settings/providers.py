"""Requests to the services a user configured: an OpenAI-compatible LLM API and Discord.

Every failure becomes a ProviderError with a fixed, user-facing message. The HTTP
library's exceptions carry the URL (a Discord webhook's path is its secret), so they
are never shown, logged or chained.
"""

import json as jsonlib
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from .. import __version__

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
USER_AGENT = f"PlantOps/{__version__}"


class ProviderError(Exception):
    """`kind` is one of timeout, unreachable, unauthorized, not_found, rate_limited,
    redirect, error, bad_response; `message` is safe to show."""

    def __init__(self, kind, message, status=None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status


@dataclass(frozen=True)
class LLMProvider:
    base_url: str
    model: str
    api_key: object = None  # a crypto.Secret, or None for providers without keys (Ollama)

    def headers(self):
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.api_key is not None:
            headers["Authorization"] = f"Bearer {self.api_key.reveal()}"
        return headers


def list_models(provider, timeout):
    """The model ids the provider offers (`GET {base}/models`)."""
    body = _request("GET", f"{provider.base_url}/models", "The LLM provider", timeout, headers=provider.headers())
    try:
        return [str(item["id"]) for item in body["data"]]
    except (KeyError, TypeError):
        raise ProviderError("bad_response", "The provider's model list is not in the OpenAI format.") from None


def chat(provider, messages, timeout):
    """The provider's answer to `messages` (`POST {base}/chat/completions`)."""
    body = _request(
        "POST",
        f"{provider.base_url}/chat/completions",
        "The LLM provider",
        timeout,
        headers=provider.headers(),
        json={"model": provider.model, "messages": messages, "stream": False},
    )
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        content = None
    if not isinstance(content, str) or not content.strip():
        raise ProviderError("bad_response", "The provider's answer was empty or not in the OpenAI format.")
    return content


def send_discord_test(webhook_url, timeout):
    """Post a short test message to a Discord webhook (a crypto.Secret)."""
    _request(
        "POST",
        webhook_url.reveal(),
        "Discord",
        timeout,
        headers={"User-Agent": USER_AGENT},
        json={"username": "PlantOps", "content": "PlantOps test message: this webhook works."},
    )


def _request(method, url, who, timeout, headers, json=None):
    """Send one request; the decoded JSON body (or None) of a 2xx answer, else ProviderError."""
    host = urlsplit(url).hostname
    try:
        with (
            requests.Session() as session,
            session.request(
                method, url, headers=headers, json=json, timeout=timeout, allow_redirects=False, stream=True
            ) as response,
        ):
            status = response.status_code
            body = response.raw.read(MAX_BODY_BYTES + 1, decode_content=True)
    except requests.Timeout:
        error = ProviderError("timeout", f"{who} did not answer within {timeout:g} seconds. Try again later.")
    except requests.RequestException:
        error = ProviderError("unreachable", f"Could not connect to {host}: check the URL and that it is up.")
    except Exception:  # noqa: BLE001  (anything else the HTTP stack raises also carries the URL)
        error = ProviderError("error", f"The request to {host} failed unexpectedly.")
    else:
        error = None
    if error is not None:
        log.info("%s request to %s failed: %s", method, host, error.kind)
        raise error
    log.info("%s request to %s answered %s", method, host, status)
    if not 200 <= status < 300:
        raise _status_error(who, status)
    if len(body) > MAX_BODY_BYTES:
        raise ProviderError("bad_response", f"{who} sent an answer that is too large.")
    if not body:
        return None
    try:
        return jsonlib.loads(body.decode("utf-8"))
    except ValueError:
        raise ProviderError("bad_response", f"{who} did not answer with JSON; check the URL.") from None


def _status_error(who, status):
    if status in (401, 403):
        return ProviderError("unauthorized", f"{who} rejected the credentials (HTTP {status}). Check them.", status)
    if status == 404:
        return ProviderError("not_found", f"{who} answered 404 Not Found: check the URL and model name.", status)
    if status == 429:
        return ProviderError("rate_limited", f"{who} is limiting requests (HTTP 429). Try again later.", status)
    if 300 <= status < 400:
        return ProviderError("redirect", f"{who} answered with a redirect (HTTP {status}): check the URL.", status)
    return ProviderError("error", f"{who} answered with an error (HTTP {status}). Try again later.", status)


def quiet_http_library_logs():
    """urllib3 logs each request's path at DEBUG, and a Discord webhook's path is its
    token: keep that logger at INFO even when PlantOps runs at DEBUG."""
    logger = logging.getLogger("urllib3")
    if logger.level < logging.INFO:
        logger.setLevel(logging.INFO)
