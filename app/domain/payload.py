"""The MQTT telemetry contract (docs/contracts.md, "MQTT telemetry") as plain functions.

No Flask and no I/O: `parse_message(topic, payload, prefix, now)` turns one MQTT
message into the readings worth storing plus a count of what was dropped, by
reason. A JSON array is checked item by item: valid items are kept, invalid
ones counted. Within an item a bad metric is dropped and counted, its good
metrics kept (partial acceptance); a bad `ts` drops the whole item.
"""

import json
import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from .devices import DEVICE_ID
from .metrics import BY_KEY, METRICS
from .sources.base import DeviceReading, SourceResult

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
    "uncalibrated",  # a raw value (capacitive soil) from a device without its two-point calibration
    "retained",  # a broker's retained copy, for a source that ignores them (consumer.Source)
)


# The native parser's results are the adapters' (sources/base.py): the device key is its id.
Reading = DeviceReading
ParseResult = SourceResult


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


def parse_message(topic: str, payload: bytes | bytearray, prefix: str, now: datetime) -> SourceResult:
    """Parse one MQTT message; `now` (aware UTC) is the receive time."""
    device_id = device_from_topic(topic, prefix)
    if device_id is None:
        return SourceResult(None, [], Counter(bad_topic=1))
    return parse_payload(device_id, payload, now)


def parse_payload(device_id: str, payload: bytes | bytearray, now: datetime) -> SourceResult:
    """The readings of one native payload from `device_id`."""
    result = SourceResult(device_id, [], Counter())
    try:
        items = decode_payload(payload)
    except Rejected as rejected:
        result.rejections[rejected.reason] += 1
        return result
    for item in items:
        try:
            reading = parse_item(item, device_id, now, result)
        except Rejected as rejected:
            result.rejections[rejected.reason] += 1
            continue
        if reading is not None:
            result.readings.append(reading)
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


def parse_item(item: Any, device_id: str, now: datetime, result: SourceResult | None = None) -> Reading | None:
    """One item's reading. A bad metric is dropped and counted in `result` (with a detail
    such as "soil moisture out of range (145)"), the item's good metrics kept; an item
    whose every metric was bad gives None. A bad `ts` or no metric at all rejects the item."""
    if not isinstance(item, dict):
        raise Rejected("wrong_shape")
    values: dict[str, float] = {}
    dropped = 0
    for metric, (low, high) in RANGES.items():
        value = item.get(metric)
        if value is None:
            continue
        try:
            value = number(value)
            if not low <= value <= high:
                raise Rejected("out_of_range")
        except Rejected as rejected:
            dropped += 1
            if result is None:
                raise
            result.rejections[rejected.reason] += 1
            result.details[rejected.reason] = detail(metric, rejected.reason, item.get(metric))
            continue
        values[metric] = value
    ts = parse_ts(item["ts"], now) if item.get("ts") is not None else now
    if not values:
        if dropped:
            return None
        raise Rejected("no_metric")
    return Reading(device_id, ts, values)


def detail(metric: str, reason: str, value: Any) -> str:
    """ "soil moisture out of range (145)": what a gardener reads on the device page."""
    shown = json.dumps(value)[:20] if not isinstance(value, float) or math.isfinite(value) else str(value)
    words = {"out_of_range": "out of range", "wrong_type": "not a number", "not_finite": "not a finite number"}
    return f"{BY_KEY[metric].in_words} {words.get(reason, reason)} ({shown})"


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
