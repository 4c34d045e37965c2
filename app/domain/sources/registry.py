"""Every source PlantOps knows, with its defaults, and the adapters by kind."""

from dataclasses import dataclass, field
from typing import Any

from . import esphome, generic, miflora, native, openmqttgateway, shelly, tasmota, zigbee2mqtt
from .base import Adapter


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
