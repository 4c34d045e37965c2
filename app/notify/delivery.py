"""One HTTP attempt at a webhook, and what its answer means for the next one."""

import http.client
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import outbound
from .retry import parse_retry_after

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0
MAX_ANSWER_BYTES = 64 * 1024
FINAL_KINDS = {"blocked", "bad_url", "too_large"}


@dataclass(frozen=True)
class Outcome:
    sent: bool
    retry: bool = False
    error: str | None = None
    retry_after: float | None = None  # seconds the server asked us to wait
    kind: str | None = None  # app.outbound's error kind when the request did not complete ("busy", ...)


def delivery_policy(config: Mapping[str, Any], timeout: float = TIMEOUT_SECONDS) -> outbound.Policy:
    """Webhooks get the same address rules as every outbound call: public addresses only
    in production."""
    return outbound.Policy(
        deadline_seconds=timeout,
        max_body_bytes=MAX_ANSWER_BYTES,
        allow_private=config.get("PLANTOPS_ENV") != "production",
    )


def post(url: str, payload: dict, policy: outbound.Policy, gate: outbound.Gate) -> Outcome:
    """POST `payload` as JSON. Error texts never include the URL: a webhook URL is a secret."""
    headers = {"Content-Type": "application/json", "User-Agent": "PlantOps"}
    try:
        response = outbound.send(
            "POST", url, policy=policy, gate=gate, headers=headers, body=json.dumps(payload).encode()
        )
    except outbound.OutboundError as error:
        if error.kind == "timeout":
            return Outcome(False, retry=True, error=f"no answer within {policy.deadline_seconds:g} s")
        problem = "network error" if error.kind == "unreachable" else "not sent"
        return Outcome(False, retry=error.kind not in FINAL_KINDS, error=f"{problem}: {error.message}")
    return classify(response.status, response.headers, _json(response))


def classify(status: int, headers: Mapping[str, str] | http.client.HTTPMessage, body: object) -> Outcome:
    """2xx sent; 429 wait as told; 5xx retry; any other answer is final."""
    if 200 <= status < 300:
        return Outcome(True)
    if status == 429:
        return Outcome(False, retry=True, error="HTTP 429 (rate limited)", retry_after=parse_retry_after(headers, body))
    if status >= 500:
        return Outcome(False, retry=True, error=f"HTTP {status}")
    detail = None
    if isinstance(body, dict):  # Discord, Telegram, Gotify, Matrix, ntfy
        detail = next((body[k] for k in ("message", "description", "errorDescription", "error") if body.get(k)), None)
    return Outcome(False, error=f"HTTP {status}" + (f": {str(detail)[:200]}" if detail else ""))


def _json(response: outbound.Response) -> object:
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        return json.loads(response.body)
    except ValueError:
        return None
