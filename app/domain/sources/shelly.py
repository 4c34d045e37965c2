"""Shelly Gen2+ RPC notifications: `<shelly id>/events/rpc`, NotifyStatus and NotifyFullStatus.

`{"src": "shellyplusht-...", "method": "NotifyStatus", "params": {"ts": 1631186880.75,
"temperature:0": {"tC": 19.8, "tF": 67.6}, "humidity:0": {"rh": 42.2},
"devicepower:0": {"battery": {"percent": 87}}}}`: `tC` (or `tF` converted), `rh`,
`illuminance:0` `lux` and the battery percent; `params.ts` is the reading's time. Further
temperature components (an add-on's probes, `temperature:101`) are fields. NotifyEvent and
other methods are ignored. Key: `shelly:<shelly id>`.
"""

from datetime import datetime
from typing import Any

from ..payload import Rejected
from .base import DeviceReading, SourceResult
from .common import decode_object, ignored, new_result, rejected, safe_id, unix_ts

_STATUS = {"NotifyStatus", "NotifyFullStatus"}


class ShellyAdapter:
    kind = "shelly"
    default_base = ""  # Shelly's topic prefix is the device id by default
    # Each notification carries its ts: a retained copy is the same reading again, stored once.
    stores_retained = True

    def filters(self, base: str) -> list[str]:
        return [f"{base}/+/events/rpc" if base else "+/events/rpc"]

    def parse(self, topic: str, payload: bytes, now: datetime, options: dict[str, Any]) -> SourceResult:
        levels = topic.split("/")
        device = safe_id(levels[0]) if len(levels) == 3 and levels[1:] == ["events", "rpc"] else None
        if device is None:
            return rejected(None, "bad_topic")
        key = f"shelly:{device}"
        try:
            frame = decode_object(payload)
        except Rejected as error:
            return rejected(key, error.reason)
        params = frame.get("params")
        method = frame.get("method")
        if not isinstance(method, str) or method not in _STATUS:
            return ignored(key)
        if not isinstance(params, dict):
            return rejected(key, "wrong_shape")
        result, values = new_result(key)
        for component, status in params.items():
            if not isinstance(status, dict):
                continue
            kind, _, index = component.partition(":")
            if kind == "temperature":
                celsius, fahrenheit = status.get("tC"), status.get("tF")
                if "temperature" not in values.values and not index.startswith("1"):
                    if celsius is not None:
                        values.metric("temperature", celsius)
                    else:
                        values.metric("temperature", fahrenheit, fahrenheit=True)
                elif celsius is not None:
                    values.field(component, celsius)
            elif kind == "humidity":
                values.metric("humidity", status.get("rh"))
            elif kind == "illuminance":
                values.metric("light", status.get("lux"))
            elif kind == "devicepower":
                battery = status.get("battery")
                if isinstance(battery, dict):
                    values.metric("battery", battery.get("percent"))
        if not values:
            return result if result.rejections else ignored(key)
        try:
            ts = unix_ts(params["ts"], now) if params.get("ts") is not None else now
        except Rejected as error:
            result.rejections[error.reason] += 1
            return result
        source = frame.get("src")
        model = source.rsplit("-", 1)[0] if isinstance(source, str) and "-" in source else None
        result.readings.append(
            DeviceReading(
                key, ts, values.values, fields=values.fields, name=device, model=model[:100] if model else None
            )  # fmt: skip
        )
        return result


ADAPTER = ShellyAdapter()
