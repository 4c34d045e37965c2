"""The source adapter interface (docs/plan SENSORS.md): what every source module gives the writer."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class DeviceReading:
    key: str  # "zigbee2mqtt:Fern soil"; native: "fern-1"
    ts: datetime  # aware UTC
    values: dict[str, float]  # registry metric key -> value, in registry units (°C, %, lux, µS/cm)
    # Source field name -> value, for the device's field_map (ESPHome object ids, generic): the
    # writer maps them (Device.field_map, filled on first sight from sources.suggest_metric(name)).
    fields: dict[str, float] = field(default_factory=dict)
    # Uncalibrated values by metric ({"soil_moisture": 2450.0}); the writer applies
    # Device.calibration (two-point) or drops with reason "uncalibrated"; always kept in Device.last_raw.
    raw: dict[str, float] = field(default_factory=dict)
    # One value per message (ESPHome, OpenMQTTGateway, homie): ts is floored to MERGE_SECONDS (10)
    # and the writer merges rows of the same (device, ts) with COALESCE instead of skipping them.
    partial: bool = False
    linkquality: float | None = None
    name: str | None = None  # a suggested name (friendly name, BLE name)
    model: str | None = None


@dataclass
class SourceResult:
    key: str | None  # the device, when the topic names one
    readings: list[DeviceReading]
    rejections: Counter[str]  # payload.REASONS keys; per field for partial acceptance
    details: dict[str, str] = field(default_factory=dict)  # reason -> "soil moisture out of range (145)"
    # A topic of the source that carries no readings (z2m /availability, /bridge/#, /set, /get): no count.
    ignored: bool = False


class Adapter(Protocol):
    kind: str  # "zigbee2mqtt"
    default_base: str  # "zigbee2mqtt"
    stores_retained: bool

    def filters(self, base: str) -> list[str]: ...  # topic filters under base

    # topic is relative to base; never raises on bad input
    def parse(self, topic: str, payload: bytes, now: datetime, options: dict[str, Any]) -> SourceResult: ...
