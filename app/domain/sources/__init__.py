"""Source adapters: the messages of sensor ecosystems as readings of devices (no Flask, no I/O).

One small module per source; each exposes an adapter (base.Adapter). `SOURCES` lists every
source PlantOps knows with its defaults (an administrator's IngestSource row overrides the
`enabled` flag, the base topic and the options); `suggest_metric` proposes the registry metric
for a source's field name (ESPHome object ids, generic fields) when a device is first seen.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from ..metrics import KEYS
from .base import MERGE_SECONDS, Adapter, DeviceReading, SourceResult

__all__ = [
    "MERGE_SECONDS",
    "SOURCES",
    "Adapter",
    "DeviceReading",
    "SourceResult",
    "SourceSpec",
    "adapter",
    "suggest_metric",
]

_WORDS = re.compile(r"[a-z]+")
# A word that makes a field something else than the metric its other words name.
_NOT_A_METRIC = {"voltage", "volt", "volts", "raw", "adc", "signal", "rssi", "uptime", "wifi", "status", "dew", "point"}
# (words any of which names the metric, metric), in order: "soil humidity" is soil moisture.
_SUGGESTIONS: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"soil", "moisture", "moi", "moist", "soilmoisture"}), "soil_moisture"),
    (frozenset({"temperature", "temp", "tempc", "tc", "temperatur"}), "temperature"),
    (frozenset({"humidity", "hum", "rh", "humid"}), "humidity"),
    (frozenset({"illuminance", "lux", "light", "brightness", "illumination", "luminance"}), "light"),
    (frozenset({"conductivity", "fertility", "ec", "fer", "cond"}), "conductivity"),
    (frozenset({"battery", "batt", "bat"}), "battery"),
)


def suggest_metric(name: str) -> str | None:
    """The registry metric a field name most likely means, or None.

    "Fern Soil Moisture", "soil_moisture", "moisture" -> "soil_moisture"; "temp" ->
    "temperature"; "lux" -> "light"; "fertility" -> "conductivity"; "battery_voltage",
    "wifi_signal" -> None.
    """
    if not isinstance(name, str) or len(name) > 200:
        return None
    lowered = name.lower()
    if lowered in KEYS:
        return lowered
    words = set(_WORDS.findall(lowered.replace("_", " ")))
    if not words or words & _NOT_A_METRIC:
        return None
    for names, metric in _SUGGESTIONS:
        if words & names:
            return metric
    return None


@dataclass(frozen=True)
class SourceSpec:
    """A source as the consumer subscribes to it: its adapter and its defaults."""

    name: str  # IngestSource.name: "zigbee2mqtt", "miflora-homie"
    adapter: Adapter
    options: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True

    @property
    def kind(self) -> str:
        return self.adapter.kind


from . import esphome, generic, miflora, native, openmqttgateway, shelly, tasmota, zigbee2mqtt  # noqa: E402

ADAPTERS: dict[str, Adapter] = {
    a.kind: a
    for a in (
        native.ADAPTER,
        zigbee2mqtt.ADAPTER,
        miflora.JSON,
        esphome.ADAPTER,
        tasmota.ADAPTER,
        openmqttgateway.ADAPTER,
        shelly.ADAPTER,
        generic.ADAPTER,
    )
}

# Every source with its defaults, in routing order for overlapping filters (consumer.route).
SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec("native", native.ADAPTER),
    SourceSpec("zigbee2mqtt", zigbee2mqtt.ADAPTER),
    SourceSpec("miflora", miflora.JSON),
    SourceSpec("miflora-homeassistant", miflora.HOMEASSISTANT),
    SourceSpec("miflora-homie", miflora.HOMIE),
    SourceSpec("esphome", esphome.ADAPTER),
    SourceSpec("tasmota", tasmota.ADAPTER),
    SourceSpec("openmqttgateway", openmqttgateway.ADAPTER),
    SourceSpec("shelly", shelly.ADAPTER),
    # The generic source does nothing until an administrator gives it a topic filter and fields.
    SourceSpec("generic", generic.ADAPTER, enabled=False),
)
BY_NAME: dict[str, SourceSpec] = {spec.name: spec for spec in SOURCES}


def adapter(kind: str) -> Adapter | None:
    return ADAPTERS.get(kind)
