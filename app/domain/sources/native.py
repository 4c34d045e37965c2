"""PlantOps native telemetry (docs/contracts.md, "MQTT telemetry"): `<prefix>/<device_id>/telemetry`.

The payload contract of app/domain/payload.py, with partial acceptance: a bad metric is
dropped and counted, the good metrics of the same reading are kept. A reading with a bad
`ts`, or with no metric at all, is dropped whole. The key is the plain device id.
"""

from collections import Counter
from datetime import datetime
from typing import Any

from ..devices import DEVICE_ID
from ..metrics import BY_KEY
from ..payload import RANGES, Rejected, decode_payload, number, parse_ts
from .base import DeviceReading, SourceResult

_METRICS = tuple((key, low, high, BY_KEY[key].label.lower()) for key, (low, high) in RANGES.items())


class NativeAdapter:
    kind = "native"
    default_base = "plantops"  # the consumer passes MQTT_TOPIC_PREFIX
    # A native sensor publishes each reading once; a retained copy replayed at subscription is a
    # reading already stored, or one without ts that would be stored again with a new time.
    stores_retained = False

    def filters(self, base: str) -> list[str]:
        return [f"{base}/+/telemetry" if base else "+/telemetry"]

    def parse(self, topic: str, payload: bytes, now: datetime, options: dict[str, Any]) -> SourceResult:
        device_id, slash, rest = topic.partition("/")
        if rest != "telemetry" or not DEVICE_ID.fullmatch(device_id):
            return SourceResult(None, [], Counter(bad_topic=1))
        rejections: Counter[str] = Counter()
        result = SourceResult(device_id, [], rejections)
        try:
            items = decode_payload(payload)
        except Rejected as error:
            rejections[error.reason] += 1
            return result
        readings = result.readings
        for item in items:
            reading = _item(item, device_id, now, result)
            if reading is not None:
                readings.append(reading)
        return result


def _item(item: Any, device_id: str, now: datetime, result: SourceResult) -> DeviceReading | None:
    rejections = result.rejections
    if not isinstance(item, dict):
        rejections["wrong_shape"] += 1
        return None
    values: dict[str, float] = {}
    bad = False
    for metric, low, high, label in _METRICS:
        value = item.get(metric)
        if value is None:
            continue
        try:
            value = number(value)
        except Rejected as error:
            rejections[error.reason] += 1
            result.details.setdefault(error.reason, f"{label}: {error.reason.replace('_', ' ')}")
            bad = True
            continue
        if not low <= value <= high:
            rejections["out_of_range"] += 1
            result.details.setdefault("out_of_range", f"{label} out of range ({value:g})")
            bad = True
            continue
        values[metric] = value
    ts = item.get("ts")
    try:
        ts = parse_ts(ts, now) if ts is not None else now
    except Rejected as error:
        rejections[error.reason] += 1
        return None
    if not values:
        if not bad:
            rejections["no_metric"] += 1
        return None
    return new_reading(device_id, ts, values)


def new_reading(key: str, ts: datetime, values: dict[str, float]) -> DeviceReading:
    """DeviceReading(key, ts, values), built as its frozen __init__ would, at a third of the cost.

    The native path is the busiest one (bench.sources): a frozen dataclass's __init__ sets each
    of its nine fields through object.__setattr__.
    """
    reading = _new(DeviceReading)
    reading.__dict__.update(
        key=key, ts=ts, values=values, fields={}, raw={}, partial=False, linkquality=None, name=None, model=None
    )
    return reading


_new = object.__new__

ADAPTER = NativeAdapter()
