"""How long to wait before the next delivery attempt."""

import random


def backoff_delay(attempt, base_seconds, cap_seconds, rng=random.random):
    """Exponential backoff with jitter after failed attempt number `attempt` (1, 2, ...).

    The ceiling doubles per attempt up to `cap_seconds`; the delay is drawn from
    its upper half, so retries of many messages spread out but never come early.
    """
    ceiling = min(cap_seconds, base_seconds * 2 ** (attempt - 1))
    return ceiling / 2 + rng() * ceiling / 2


def parse_retry_after(headers, body):
    """The wait in seconds: `retry_after` in the JSON body (Discord; Telegram's `parameters`),
    else the Retry-After header."""
    if isinstance(body, dict):
        value = body.get("retry_after")
        if value is None and isinstance(body.get("parameters"), dict):  # Telegram's Bot API
            value = body["parameters"].get("retry_after")
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
    header = headers.get("Retry-After")
    if header is not None:
        try:
            seconds = float(header)
        except ValueError:
            return None
        return seconds if seconds >= 0 else None
    return None
