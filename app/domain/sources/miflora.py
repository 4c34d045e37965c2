"""miflora-mqtt-daemon (ThomDietrich): Mi Flora readings polled over BLE by a Linux daemon.

Three of its reporting methods, one adapter each (all kind "miflora", key `miflora:<name>`):
- mqtt-json (its default): `miflora/<name>`, one JSON object
  `{"light", "temperature", "moisture", "conductivity", "battery"}`; `miflora/$announce` ignored;
- homeassistant-mqtt: `homeassistant/sensor/<name>/state`, the same JSON object;
- mqtt-homie: `homie/<daemon id>/<name>/<param>`, one plain value per topic (merged into
  readings, base.MERGE_SECONDS); the `$` attribute topics are ignored.
"""

from datetime import datetime
from typing import Any

from ..payload import Rejected
from .base import DeviceReading, SourceResult
from .common import decode_object, decode_text, floor_ts, ignored, new_result, rejected, safe_id

FIELDS = {"moisture": "soil_moisture", "temperature": "temperature", "light": "light",
          "conductivity": "conductivity", "battery": "battery"}  # fmt: skip


class MifloraAdapter:
    kind = "miflora"
    # Every mode publishes readings live without a time of their own; a retained copy (homie
    # retains every value) replayed at subscription is an old reading, so it is skipped.
    stores_retained = False

    def __init__(self, mode: str, default_base: str) -> None:
        self.mode = mode
        self.default_base = default_base

    def filters(self, base: str) -> list[str]:
        pattern = {"mqtt-json": "+", "homeassistant-mqtt": "sensor/+/state", "mqtt-homie": "+/+/+"}[self.mode]
        return [f"{base}/{pattern}" if base else pattern]

    def parse(self, topic: str, payload: bytes, now: datetime, options: dict[str, Any]) -> SourceResult:
        levels = topic.split("/")
        if any(level.startswith("$") for level in levels):
            return ignored()
        if self.mode == "mqtt-homie":
            return self._homie(levels, payload, now)
        if self.mode == "homeassistant-mqtt":
            if len(levels) != 3 or levels[0] != "sensor" or levels[2] != "state":
                return rejected(None, "bad_topic")
            name = safe_id(levels[1])
        else:
            name = safe_id(topic) if len(levels) == 1 else None
        if name is None:
            return rejected(None, "bad_topic")
        key = f"miflora:{name}"
        try:
            data = decode_object(payload)
        except Rejected as error:
            return rejected(key, error.reason)
        result, values = new_result(key)
        for field, metric in FIELDS.items():
            values.metric(metric, data.get(field))
        if values:
            result.readings.append(DeviceReading(key, now, values.values, name=name, model="HHCCJCY01"))
        elif not result.rejections:
            result.rejections["no_metric"] += 1
        return result

    def _homie(self, levels: list[str], payload: bytes, now: datetime) -> SourceResult:
        if len(levels) != 3:
            return rejected(None, "bad_topic")
        name = safe_id(levels[1])
        if name is None:
            return rejected(None, "bad_topic")
        key = f"miflora:{name}"
        metric = FIELDS.get(levels[2])
        if metric is None:
            return ignored(key)
        try:
            text = decode_text(payload)
        except Rejected as error:
            return rejected(key, error.reason)
        result, values = new_result(key)
        values.metric(metric, text, text=True)
        if values:
            reading = DeviceReading(key, floor_ts(now), values.values, partial=True, name=name, model="HHCCJCY01")
            result.readings.append(reading)
        return result


JSON = MifloraAdapter("mqtt-json", "miflora")
HOMEASSISTANT = MifloraAdapter("homeassistant-mqtt", "homeassistant")
HOMIE = MifloraAdapter("mqtt-homie", "homie")
