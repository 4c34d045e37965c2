"""Requests to the services a user configured: an OpenAI-compatible LLM API and Discord,
sent through app.outbound (total deadline, size cap, bounded concurrency, SSRF guard).

Every failure becomes a ProviderError with a fixed, user-facing message that never
contains the URL (a Discord webhook's path is its secret).
"""

import json as jsonlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .. import __version__, outbound
from ..crypto import Secret

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
USER_AGENT = f"PlantOps/{__version__}"
DEFAULT_CONCURRENCY = 2
BUSY = "PlantOps is waiting on other AI and Discord requests right now. Try again in a moment."


class ProviderError(Exception):
    """`kind` is one of timeout, unreachable, blocked, busy, unauthorized, not_found,
    rate_limited, redirect, error, bad_response; `message` is safe to show."""

    def __init__(self, kind: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status


@dataclass(frozen=True)
class LLMProvider:
    base_url: str
    model: str
    api_key: Secret | None = None  # None for providers without keys (Ollama)

    def headers(self) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.api_key is not None:
            headers["Authorization"] = f"Bearer {self.api_key.reveal()}"
        return headers


@dataclass(frozen=True)
class Caller:
    """How one user's requests go out: the policy (deadline, addresses) and the gate slot."""

    policy: outbound.Policy
    gate: outbound.Gate
    user_id: int | None = None


def caller_for(config: Mapping, user_id: int | None) -> Caller:
    """The Caller for a web request of `user_id`, from the app's config mapping.

    Outside production any address may be called (a local stand-in for a provider);
    in production only public ones and the hosts in LLM_ALLOWED_HOSTS.
    """
    total = config.get("OUTBOUND_CONCURRENCY", DEFAULT_CONCURRENCY)
    policy = outbound.Policy(
        deadline_seconds=config.get("PROVIDER_TIMEOUT_SECONDS", 30),
        max_body_bytes=MAX_BODY_BYTES,
        allow_private=config.get("PLANTOPS_ENV") != "production",
        allowed_hosts=frozenset(host.lower() for host in config.get("LLM_ALLOWED_HOSTS", ())),
    )
    return Caller(policy, outbound.shared_gate("web", total, max(1, total // 2)), user_id)


def list_models(provider: LLMProvider, caller: Caller) -> list[str]:
    """The model ids the provider offers (`GET {base}/models`)."""
    body = _request(caller, "GET", f"{provider.base_url}/models", "The LLM provider", provider.headers())
    try:
        return [str(item["id"]) for item in body["data"]]
    except (KeyError, TypeError):
        raise ProviderError("bad_response", "The provider's model list is not in the OpenAI format.") from None


def chat(provider: LLMProvider, messages: list[dict], caller: Caller) -> str:
    """The provider's answer to `messages` (`POST {base}/chat/completions`)."""
    body = _request(
        caller,
        "POST",
        f"{provider.base_url}/chat/completions",
        "The LLM provider",
        provider.headers(),
        json={"model": provider.model, "messages": messages, "stream": False},
    )
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        content = None
    if not isinstance(content, str) or not content.strip():
        raise ProviderError("bad_response", "The provider's answer was empty or not in the OpenAI format.")
    return content


def send_discord_test(webhook_url: Secret, caller: Caller) -> None:
    """Post a short test message to a Discord webhook."""
    _request(
        caller,
        "POST",
        webhook_url.reveal(),
        "Discord",
        {"User-Agent": USER_AGENT},
        json={"username": "PlantOps", "content": "PlantOps test message: this webhook works."},
    )


def _request(caller: Caller, method: str, url: str, who: str, headers: dict, json: object = None) -> Any:
    """Send one request; the decoded JSON body (or None) of a 2xx answer, else ProviderError."""
    host = urlsplit(url).hostname
    body = None
    if json is not None:
        body = jsonlib.dumps(json).encode()
        headers = {**headers, "Content-Type": "application/json"}
    try:
        response = outbound.send(
            method, url, policy=caller.policy, gate=caller.gate, key=caller.user_id, headers=headers, body=body
        )
    except outbound.OutboundError as error:
        log.info("%s request to %s failed: %s", method, host, error.kind)
        raise _outbound_error(who, host, error, caller.policy.deadline_seconds) from None
    log.info("%s request to %s answered %s", method, host, response.status)
    if not 200 <= response.status < 300:
        raise _status_error(who, response.status)
    if not response.body:
        return None
    try:
        return jsonlib.loads(response.body.decode("utf-8"))
    except ValueError:
        raise ProviderError("bad_response", f"{who} did not answer with JSON; check the URL.") from None


def _outbound_error(who: str, host: str | None, error: outbound.OutboundError, seconds: float) -> ProviderError:
    messages = {
        "timeout": f"{who} did not answer within {seconds:g} seconds. Try again later.",
        "busy": BUSY,
        "blocked": f"{host} is a local or private address; only hosts the operator listed can be called.",
        "too_large": f"{who} sent an answer that is too large.",
        "unreachable": f"Could not connect to {host}: check the URL and that it is up.",
    }
    kind = error.kind if error.kind in messages else "error"
    return ProviderError(kind, messages.get(kind, f"The request to {host} failed unexpectedly."))


def _status_error(who: str, status: int) -> ProviderError:
    if status in (401, 403):
        return ProviderError("unauthorized", f"{who} rejected the credentials (HTTP {status}). Check them.", status)
    if status == 404:
        return ProviderError("not_found", f"{who} answered 404 Not Found: check the URL and model name.", status)
    if status == 429:
        return ProviderError("rate_limited", f"{who} is limiting requests (HTTP 429). Try again later.", status)
    if 300 <= status < 400:
        return ProviderError("redirect", f"{who} answered with a redirect (HTTP {status}): check the URL.", status)
    return ProviderError("error", f"{who} answered with an error (HTTP {status}). Try again later.", status)
