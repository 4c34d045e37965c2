"""What the source adapters share: bounded decoding, numbers, ranges, units and time.

Everything here takes what an attacker may send and never raises past `Rejected`:
payloads are capped at payload.MAX_PAYLOAD_BYTES, JSON documents are walked at most
MAX_DEPTH deep and MAX_NODES wide, and field names longer than MAX_KEY are dropped.
"""

import json
import math
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from ..metrics import BY_KEY
from ..payload import EARLIEST_TS, MAX_FUTURE, MAX_PAYLOAD_BYTES, RANGES, Rejected
from .base import MERGE_SECONDS, SourceResult

MAX_DEPTH = 8  # JSON nesting an adapter looks into (Shelly's NotifyFullStatus is 4 deep)
MAX_NODES = 5000  # values in one document; a Shelly full status is about 120
MAX_KEY = 64  # a field name (ESPHome object id, generic path segment) longer than this is dropped
MAX_FIELDS = 32  # source fields kept per reading; the rest are dropped and counted
MAX_ID = 100  # a device id taken from a topic or a payload (friendly name, node, MAC)
NOT_MEASURED = {"", "none", "nan", "-nan", "null", "unknown", "unavailable"}


def rejected(key: str | None, reason: str, detail: str | None = None) -> SourceResult:
    result = SourceResult(key, [], Counter({reason: 1}))
    if detail:
        result.details[reason] = detail
    return result


def ignored(key: str | None = None) -> SourceResult:
    return SourceResult(key, [], Counter(), ignored=True)


def decode_text(payload: bytes | bytearray) -> str:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise Rejected("too_large")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected("not_utf8") from None


def decode_json(payload: bytes | bytearray) -> Any:
    """A JSON document within the size, depth and width bounds, or Rejected."""
    text = decode_text(payload)
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise Rejected("malformed_json") from None
    check_bounds(document)
    return document


def decode_object(payload: bytes | bytearray) -> dict[str, Any]:
    document = decode_json(payload)
    if not isinstance(document, dict):
        raise Rejected("wrong_shape")
    return document


def _no_constant(name: str) -> float:
    raise ValueError(name)  # NaN, Infinity: not JSON


def check_bounds(document: Any) -> None:
    """Reject documents nested deeper than MAX_DEPTH or holding more than MAX_NODES values."""
    stack = [(document, 0)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise Rejected("wrong_shape")
        if isinstance(value, dict):
            if depth >= MAX_DEPTH:
                raise Rejected("wrong_shape")
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            if depth >= MAX_DEPTH:
                raise Rejected("wrong_shape")
            stack.extend((item, depth + 1) for item in value)


def number(value: Any, text: bool = False) -> float:
    """A finite float from a JSON number (or, with `text`, a number written as text)."""
    if isinstance(value, bool):
        raise Rejected("wrong_type")
    if isinstance(value, int):
        if abs(value) > 1e15:
            raise Rejected("out_of_range")
        return float(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Rejected("not_finite")
        return value
    if text and isinstance(value, str) and len(value) <= 32:
        stripped = value.strip()
        if stripped.lower() in {"nan", "-nan", "inf", "-inf", "infinity", "-infinity"}:
            raise Rejected("not_finite")
        try:
            parsed = float(stripped)
        except ValueError:
            raise Rejected("wrong_type") from None
        if not math.isfinite(parsed):
            raise Rejected("not_finite")
        if abs(parsed) > 1e15:
            raise Rejected("out_of_range")
        return parsed
    raise Rejected("wrong_type")


def fahrenheit_to_celsius(value: float) -> float:
    return round((value - 32.0) * 5.0 / 9.0, 2)


def floor_ts(ts: datetime) -> datetime:
    """The merge slot of a one-value-per-message source (base.MERGE_SECONDS)."""
    seconds = int(ts.timestamp())
    return datetime.fromtimestamp(seconds - seconds % MERGE_SECONDS, UTC)


def check_ts(ts: datetime, now: datetime) -> datetime:
    if ts > now + MAX_FUTURE:
        raise Rejected("future_ts")
    if ts < EARLIEST_TS:
        raise Rejected("bad_ts")
    return ts


def unix_ts(value: Any, now: datetime, milliseconds: bool = False) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Rejected("bad_ts")
    if isinstance(value, float) and not math.isfinite(value):
        raise Rejected("bad_ts")
    seconds = value / 1000 if milliseconds else value
    if seconds > (now + MAX_FUTURE).timestamp():
        raise Rejected("future_ts")
    if seconds < EARLIEST_TS.timestamp():
        raise Rejected("bad_ts")
    return datetime.fromtimestamp(seconds, UTC)


def iso_ts(value: Any, now: datetime, tz: Any = None) -> datetime:
    """ISO 8601; a time without an offset is read in `tz` (a tzinfo), or refused without one."""
    if not isinstance(value, str) or len(value) > 40:
        raise Rejected("bad_ts")
    try:
        ts = datetime.fromisoformat(value.strip())
        if ts.tzinfo is None:
            if tz is None:
                raise Rejected("bad_ts")
            ts = ts.replace(tzinfo=tz)
        ts = ts.astimezone(UTC)
    except (ValueError, OverflowError):
        raise Rejected("bad_ts") from None
    return check_ts(ts, now)


def safe_id(value: object) -> str | None:
    """A device id from a topic level or a payload: 1 to MAX_ID printable characters, no wildcards."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > MAX_ID or any(ch in text for ch in "+#\x00") or not text.isprintable():
        return None
    return text


def new_result(key: str) -> tuple[SourceResult, "Values"]:
    """An empty result for device `key` and a Values that counts its rejections into it."""
    result = SourceResult(key, [], Counter())
    return result, Values(result.rejections, result.details)


class Values:
    """The values of one reading, taken one field at a time: a bad field is dropped and counted."""

    __slots__ = ("values", "fields", "raw", "rejections", "details")

    def __init__(self, rejections: Counter[str], details: dict[str, str]) -> None:
        self.values: dict[str, float] = {}
        self.fields: dict[str, float] = {}
        self.raw: dict[str, float] = {}
        self.rejections = rejections
        self.details = details

    def reject(self, reason: str, detail: str) -> None:
        self.rejections[reason] += 1
        self.details.setdefault(reason, detail)

    def metric(self, metric: str, value: Any, *, text: bool = False, fahrenheit: bool = False,
               scale: float = 1.0) -> None:  # fmt: skip
        """Take `value` for registry `metric`, converted to registry units and range-checked."""
        label = BY_KEY[metric].label.lower()
        if value is None:
            return
        if text and isinstance(value, str) and value.strip().lower() in NOT_MEASURED:
            return
        try:
            number_ = number(value, text) * scale
        except Rejected as error:
            self.reject(error.reason, f"{label}: {error.reason.replace('_', ' ')} ({_show(value)})")
            return
        if fahrenheit:
            number_ = fahrenheit_to_celsius(number_)
        low, high = RANGES[metric]
        if not low <= number_ <= high:
            self.reject("out_of_range", f"{label} out of range ({_show(number_)})")
            return
        self.values[metric] = number_

    def field(self, name: str, value: Any, *, text: bool = False) -> None:
        """A source field the device's field_map maps (ESPHome object ids, generic fields)."""
        if value is None or (text and isinstance(value, str) and value.strip().lower() in NOT_MEASURED):
            return
        if len(name) > MAX_KEY or not name.isprintable():
            self.reject("wrong_shape", "a field name is too long")
            return
        if len(self.fields) >= MAX_FIELDS and name not in self.fields:
            self.reject("wrong_shape", f"more than {MAX_FIELDS} fields")
            return
        try:
            self.fields[name] = number(value, text)
        except Rejected as error:
            self.reject(error.reason, f"{name}: {error.reason.replace('_', ' ')} ({_show(value)})")

    def raw_value(self, metric: str, value: Any, *, text: bool = False) -> None:
        """An uncalibrated value (a capacitive sensor's ADC count); the writer calibrates it."""
        if value is None:
            return
        try:
            self.raw[metric] = number(value, text)
        except Rejected as error:
            self.reject(error.reason, f"raw {metric}: {error.reason.replace('_', ' ')} ({_show(value)})")

    def __bool__(self) -> bool:
        return bool(self.values or self.fields or self.raw)


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 24 else text[:21] + "..."
