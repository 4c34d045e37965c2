"""The MQTT telemetry contract (docs/contracts.md, "MQTT telemetry") as plain functions.

No Flask and no I/O: `parse_message(topic, payload, prefix, now)` turns one MQTT
message into the readings worth storing plus a count of what was dropped, by
reason. A JSON array is checked item by item: valid items are kept, invalid
ones counted, and nothing partial is kept from an invalid item.
"""

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .devices import DEVICE_ID
from .metrics import METRICS

MAX_ITEMS = 1000
# A reading with ts and every metric at full float precision is about 230 bytes of JSON
# (test_payload checks it); 384 leaves room for a metric or two more and for whitespace.
MAX_ITEM_BYTES = 384
# The broker's max_packet_size (deploy/mosquitto*.conf) is derived from this in consumer.py.
MAX_PAYLOAD_BYTES = MAX_ITEMS * MAX_ITEM_BYTES
MAX_FUTURE = timedelta(minutes=5)
# A device whose clock was never set reports 1970; nothing real predates this.
EARLIEST_TS = datetime(2000, 1, 1, tzinfo=UTC)


RANGES = {metric.key: metric.range for metric in METRICS}

# Every reason a message or an item is dropped; the keys of the rejection counts.
REASONS = (
    "bad_topic",
    "too_large",
    "not_utf8",
    "malformed_json",
    "wrong_shape",
    "too_many_items",
    "empty_batch",
    "wrong_type",
    "not_finite",
    "out_of_range",
    "bad_ts",
    "future_ts",
    "no_metric",
    "unclaimed_device",
    "unparseable",  # the parser itself failed: a bug, counted instead of stalling the consumer
    "retained",  # a broker's retained copy, for a source that ignores them (consumer.Source)
)


@dataclass(frozen=True)
class Reading:
    device_id: str
    ts: datetime
    values: dict[str, float]  # metric -> float, only the metrics the device sent


@dataclass
class ParseResult:
    device_id: str | None
    readings: list[Reading] = field(default_factory=list)
    rejections: Counter[str] = field(default_factory=Counter)


class Rejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def device_from_topic(topic: str, prefix: str) -> str | None:
    """The device id of `<prefix>/<device_id>/telemetry`, or None."""
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] != prefix or parts[2] != "telemetry":
        return None
    return parts[1] if DEVICE_ID.fullmatch(parts[1]) else None


def parse_message(topic: str, payload: bytes | bytearray, prefix: str, now: datetime) -> ParseResult:
    """Parse one MQTT message; `now` (aware UTC) is the receive time."""
    device_id = device_from_topic(topic, prefix)
    if device_id is None:
        return ParseResult(None, rejections=Counter(bad_topic=1))
    try:
        items = decode_payload(payload)
    except Rejected as rejected:
        return ParseResult(device_id, rejections=Counter({rejected.reason: 1}))
    result = ParseResult(device_id)
    for item in items:
        try:
            result.readings.append(parse_item(item, device_id, now))
        except Rejected as rejected:
            result.rejections[rejected.reason] += 1
    return result


def decode_payload(payload: bytes | bytearray) -> list[Any]:
    """The list of items in a payload (one object or an array of them)."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise Rejected("too_large")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected("not_utf8") from None
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise Rejected("malformed_json") from None
    if isinstance(document, dict):
        return [document]
    if not isinstance(document, list):
        raise Rejected("wrong_shape")
    if len(document) > MAX_ITEMS:
        raise Rejected("too_many_items")
    if not document:
        raise Rejected("empty_batch")
    return document


def parse_item(item: Any, device_id: str, now: datetime) -> Reading:
    if not isinstance(item, dict):
        raise Rejected("wrong_shape")
    values: dict[str, float] = {}
    for metric, (low, high) in RANGES.items():
        value = item.get(metric)
        if value is None:
            continue
        value = number(value)
        if not low <= value <= high:
            raise Rejected("out_of_range")
        values[metric] = value
    ts = parse_ts(item["ts"], now) if item.get("ts") is not None else now
    if not values:
        raise Rejected("no_metric")
    return Reading(device_id, ts, values)


def number(value: Any) -> float:
    """A finite float from a JSON number; booleans and strings are not numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Rejected("wrong_type")
    if isinstance(value, int):
        if abs(value) > 1e15:
            raise Rejected("out_of_range")
        return float(value)
    if not math.isfinite(value):
        raise Rejected("not_finite")
    return value


def parse_ts(value: Any, now: datetime) -> datetime:
    """Unix seconds or ISO 8601 with an offset, as aware UTC, at most 5 minutes ahead of `now`."""
    if isinstance(value, str):
        try:
            ts = datetime.fromisoformat(value)
            if ts.tzinfo is None:
                raise Rejected("bad_ts")
            ts = ts.astimezone(UTC)
        except (ValueError, OverflowError):
            raise Rejected("bad_ts") from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise Rejected("not_finite")
        # Bounds first, as Python numbers: an int of hundreds of digits has no float.
        if value > (now + MAX_FUTURE).timestamp():
            raise Rejected("future_ts")
        if value < EARLIEST_TS.timestamp():
            raise Rejected("bad_ts")
        ts = datetime.fromtimestamp(value, UTC)
    else:
        raise Rejected("bad_ts")
    if ts > now + MAX_FUTURE:
        raise Rejected("future_ts")
    if ts < EARLIEST_TS:
        raise Rejected("bad_ts")
    return ts
