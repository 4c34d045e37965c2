"""Tasmota: `tele/<topic>/SENSOR`, the JSON telemetry of every sensor on the device.

`{"Time": "2026-12-01T21:05:00", "AM2301": {"Temperature": 21.4, "Humidity": 55}, "TempUnit": "C"}`:
each sensor is an object; its `Temperature` (°F when `TempUnit` is "F"), `Humidity`,
`Illuminance`, `Moisture`, `Fertility` (µS/cm) and `Battery` are read, `ANALOG` inputs `A0`...
are raw values of soil moisture (the writer calibrates them), other numbers are fields.
The chip (`ESP32`) and a plug's `ENERGY` are skipped.
`Time` has no offset: it is read in the source's `timezone` option (an IANA name, default UTC).
Key `tasmota:<topic>` for the device's own sensors; a BLE sensor it relays (`"Flora-6ab3c1":
{"mac": ..., ...}`) is a device of its own, `tasmota:<topic>/<sensor name>`.
"""

import re
from collections import Counter
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..devices import KEY_MAX
from ..payload import Rejected
from .base import DeviceReading, SourceResult
from .common import MAX_FIELDS, Values, decode_object, ignored, iso_ts, rejected, safe_id

FIELDS = {"Temperature": "temperature", "Humidity": "humidity", "Illuminance": "light",
          "Moisture": "soil_moisture", "Fertility": "conductivity", "Conductivity": "conductivity",
          "Battery": "battery"}  # fmt: skip
_BLE_NAME = re.compile(r"[A-Za-z0-9_]+-[0-9a-fA-F]{6}")
_ANALOG = re.compile(r"A[0-9]{1,2}")
# The chip's own temperature, a plug's meter, the switch and counter inputs.
_NOT_PLANT_SENSORS = {"ESP32", "ESP8266", "ENERGY", "COUNTER", "Switch1", "Switch2", "IBEACON"}


@lru_cache(maxsize=64)
def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


class TasmotaAdapter:
    kind = "tasmota"
    default_base = "tele"
    # Every message carries its Time: a retained copy (SensorRetain 1) is the same reading
    # (device, ts) again, stored once, or one this consumer missed while it was down.
    stores_retained = True

    def filters(self, base: str) -> list[str]:
        return [f"{base}/+/SENSOR" if base else "+/SENSOR"]

    def parse(self, topic: str, payload: bytes, now: datetime, options: dict[str, Any]) -> SourceResult:
        levels = topic.split("/")
        name = safe_id(levels[0]) if len(levels) == 2 and levels[1] == "SENSOR" else None
        if name is None:
            return rejected(None, "bad_topic")
        key = f"tasmota:{name}"
        try:
            data = decode_object(payload)
        except Rejected as error:
            return rejected(key, error.reason)
        result = SourceResult(key, [], Counter())
        zone = options.get("timezone")
        try:
            time = data.get("Time")
            ts = iso_ts(time, now, _zone(zone) if isinstance(zone, str) else UTC) if time is not None else now
        except Rejected as error:
            result.rejections[error.reason] += 1
            return result
        fahrenheit = str(data.get("TempUnit", "C")).upper() == "F"
        own = Values(result.rejections, result.details)
        for block, sensor in list(data.items())[: MAX_FIELDS * 2]:
            if not isinstance(sensor, dict) or block in _NOT_PLANT_SENSORS:
                continue
            if "mac" in sensor or _BLE_NAME.fullmatch(block):
                ble_name = safe_id(block)
                if ble_name is None or len(key) + 1 + len(ble_name) > KEY_MAX:
                    continue
                ble = Values(result.rejections, result.details)
                _sensor(ble, block, sensor, fahrenheit)
                if ble:
                    result.readings.append(
                        DeviceReading(
                            f"{key}/{ble_name}", ts, ble.values, fields=ble.fields, raw=ble.raw, name=ble_name
                        )  # fmt: skip
                    )
            else:
                _sensor(own, block, sensor, fahrenheit)
        if own:
            result.readings.append(DeviceReading(key, ts, own.values, fields=own.fields, raw=own.raw, name=name))
        elif not result.readings and not result.rejections:
            return ignored(key)  # a plug's ENERGY, a switch: nothing a plant uses
        elif not result.rejections:
            result.key = None  # only relayed BLE sensors: the gateway itself is no plant sensor
        return result


def _sensor(values: Values, block: str, sensor: dict[str, Any], fahrenheit: bool) -> None:
    for field, value in list(sensor.items())[:MAX_FIELDS]:
        metric = FIELDS.get(field)
        if metric is not None:
            if metric in values.values:
                continue  # two sensors of one metric: the first is the device's
            values.metric(metric, value, fahrenheit=fahrenheit and metric == "temperature")
        elif block == "ANALOG" and _ANALOG.fullmatch(field):
            if "soil_moisture" not in values.raw:
                values.raw_value("soil_moisture", value)
            else:
                values.field(f"{block}.{field}", value)
        elif isinstance(value, int | float) and not isinstance(value, bool) and field != "mac":
            values.field(f"{block}.{field}", value)


ADAPTER = TasmotaAdapter()
