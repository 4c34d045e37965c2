"""Generic JSON: any topic filter, and per metric a field path, a unit and a scale.

Options (set by an administrator, IngestSource.options; its base_topic is the topic filter,
e.g. "garden/+/data"):
    {"fields": {"soil_moisture": {"path": "soil.moisture", "scale": 1, "raw": false},
                "temperature": {"path": "env.t", "unit": "F"}},
     "device_level": 1, "ts_path": "time"}
`path` is a dotted path into the JSON object ("" for a payload that is one plain number;
digits index lists), `unit` "C", "F" or "K" for temperature, `scale` multiplies, `raw` sends
the value to calibration instead. The device id is the topic level `device_level` (default:
the first level the filter's "+" matches, else the whole topic). Key: `generic:<id>`.
"""

from datetime import datetime
from typing import Any

from ..metrics import KEYS
from ..payload import Rejected, parse_ts
from .base import DeviceReading, SourceResult
from .common import MAX_DEPTH, MAX_KEY, Values, decode_json, decode_text, ignored, new_result, number, rejected, safe_id

_MISSING = object()


def lookup(document: Any, path: str) -> Any:
    """The value at a dotted path, or _MISSING."""
    if path == "":
        return document
    parts = path.split(".")
    if len(parts) > MAX_DEPTH:
        return _MISSING
    value = document
    for part in parts:
        if isinstance(value, dict):
            value = value.get(part, _MISSING)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
        if value is _MISSING:
            return _MISSING
    return value


def device_level(filter_: str, options: dict[str, Any]) -> int | None:
    level = options.get("device_level")
    if isinstance(level, int) and not isinstance(level, bool) and 0 <= level < 32:
        return level
    levels = filter_.split("/")
    return levels.index("+") if "+" in levels else None


class GenericAdapter:
    kind = "generic"
    default_base = ""  # no topic until an administrator sets one
    # Readings carry a time only when ts_path is set; a retained copy would be stored again.
    stores_retained = False

    def filters(self, base: str) -> list[str]:
        return [base] if base else []

    def parse(self, topic: str, payload: bytes, now: datetime, options: dict[str, Any]) -> SourceResult:
        """`topic` is the whole topic (the base is the filter); options carry the filter as "filter"."""
        levels = topic.split("/")
        level = device_level(str(options.get("filter", "")), options)
        device = safe_id(levels[level] if level is not None and level < len(levels) else topic)
        if device is None:
            return rejected(None, "bad_topic")
        key = f"generic:{device}"
        fields = options.get("fields")
        if not isinstance(fields, dict) or not fields:
            return ignored(key)
        try:
            text_payload = all(isinstance(spec, dict) and spec.get("path", "") == "" for spec in fields.values())
            document = decode_json(payload) if not text_payload else _plain(payload)
        except Rejected as error:
            return rejected(key, error.reason)
        result, values = new_result(key)
        for metric, spec in list(fields.items())[: len(KEYS) * 4]:
            if not isinstance(spec, dict):
                continue
            path = spec.get("path", "")
            if not isinstance(path, str) or len(path) > MAX_KEY * 4:
                continue
            value = lookup(document, path)
            if value is _MISSING:
                continue
            scale = spec.get("scale", 1)
            scale = float(scale) if isinstance(scale, int | float) and not isinstance(scale, bool) else 1.0
            if metric not in KEYS:
                values.field(str(metric)[:MAX_KEY], value, text=True)
            elif spec.get("raw"):
                values.raw_value(metric, value, text=True)
            elif metric == "temperature" and str(spec.get("unit", "C")).upper().lstrip("°") in {"F", "K"}:
                _temperature(values, value, scale, str(spec["unit"]).upper().lstrip("°"))
            else:
                values.metric(metric, value, text=True, scale=scale)
        ts = now
        ts_path = options.get("ts_path")
        if isinstance(ts_path, str) and ts_path and isinstance(document, dict):
            stamp = lookup(document, ts_path)
            if stamp is not _MISSING and stamp is not None:
                try:
                    ts = parse_ts(stamp, now)
                except Rejected as error:
                    result.rejections[error.reason] += 1
                    return result
        if values:
            result.readings.append(DeviceReading(key, ts, values.values, fields=values.fields, raw=values.raw))
        elif not result.rejections:
            result.rejections["no_metric"] += 1
        return result


def _plain(payload: bytes) -> Any:
    return decode_text(payload).strip()


def _temperature(values: Values, value: Any, scale: float, unit: str) -> None:
    try:
        number_ = number(value, text=True) * scale
    except Rejected as error:
        values.reject(error.reason, f"temperature: {error.reason.replace('_', ' ')}")
        return
    if unit == "K":
        values.metric("temperature", round(number_ - 273.15, 2))
    else:
        values.metric("temperature", number_, fahrenheit=True)


ADAPTER = GenericAdapter()
