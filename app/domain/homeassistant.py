"""Home Assistant MQTT discovery and plant status messages, as plain functions of a plant.

Every plant becomes a Home Assistant device with one sensor per metric it has reported, a
status sensor and a "problem" binary sensor, all fed by one retained JSON message on
`<MQTT_TOPIC_PREFIX>/status/<plant id>` (docs/homeassistant.md). The discovery configs follow
Home Assistant's single-component discovery schema
(`<discovery prefix>/<component>/<object id>/config`, a JSON object with `unique_id`, `device`
with `identifiers`, `origin` with `name`, `availability` as a list of topics; see
home-assistant/core homeassistant/components/mqtt/schemas.py and the MQTT integration's
documentation). The publisher (app/integrations/homeassistant.py) compares these messages with
what the broker retains and sends only the difference.

A message is `topic -> bytes`; an empty payload removes a retained message (and, on a config
topic, the entity in Home Assistant).
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .describe import STATUS_LABELS, problem_label
from .metrics import METRICS, Metric
from .status import plant_status

# Home Assistant's sensor device class of each registry metric, and its unit where Home Assistant
# spells it differently from the registry: illuminance is in "lx", and since Home Assistant 2025.6
# conductivity is "μS/cm" with the Greek mu (U+03BC), where the registry shows the micro sign.
DEVICE_CLASSES: dict[str, str] = {
    "soil_moisture": "moisture",
    "temperature": "temperature",
    "humidity": "humidity",
    "light": "illuminance",
    "conductivity": "conductivity",
    "battery": "battery",
}
HA_UNITS: dict[str, str] = {"light": "lx", "conductivity": "\u03bcS/cm"}
DIAGNOSTIC_METRICS = frozenset({"battery"})  # shown under "Diagnostic" on the device page

ONLINE, OFFLINE = "online", "offline"
SENSOR, BINARY_SENSOR = "sensor", "binary_sensor"
COMPONENTS = (SENSOR, BINARY_SENSOR)
STATUS_ENTITY, PROBLEM_ENTITY = "status", "problem"

# Columns of `plants` the messages are built from (the publisher selects exactly these).
PLANT_FIELDS: tuple[str, ...] = (
    "id",
    "name",
    "species",
    "location",
    "last_reading_at",
    "stale_after_minutes",
    *(f"latest_{m.key}" for m in METRICS),
    *(f"{m.key}_{end}" for m in METRICS if m.threshold for end in ("min", "max")),
)


@dataclass(frozen=True)
class Settings:
    discovery_prefix: str  # "homeassistant"
    topic_prefix: str  # MQTT_TOPIC_PREFIX: "plantops"
    version: str  # PlantOps's version, for the origin and device blocks
    public_url: str  # "https://plants.example.com", for links back to the plant

    @property
    def id_prefix(self) -> str:
        """The first part of every object id and unique id: the topic prefix as an id."""
        return re.sub(r"[^A-Za-z0-9_-]", "_", self.topic_prefix)

    @property
    def availability_topic(self) -> str:
        """`online` while a publisher is connected, `offline` (its will) when the last one left."""
        return f"{self.topic_prefix}/status"

    def status_topic(self, plant_id: int) -> str:
        return f"{self.topic_prefix}/status/{plant_id}"

    def object_id(self, plant_id: int, entity: str) -> str:
        return f"{self.id_prefix}_{plant_id}_{entity}"

    def config_topic(self, component: str, plant_id: int, entity: str) -> str:
        return f"{self.discovery_prefix}/{component}/{self.object_id(plant_id, entity)}/config"

    def subscriptions(self) -> list[str]:
        """What the publisher reads back: its own retained messages and Home Assistant's birth."""
        return [
            *(f"{self.discovery_prefix}/{component}/+/config" for component in COMPONENTS),
            f"{self.topic_prefix}/status/+",
            self.availability_topic,
            self.birth_topic,
        ]

    @property
    def birth_topic(self) -> str:
        return f"{self.discovery_prefix}/status"

    def owned_plant(self, topic: str) -> int | None:
        """The plant id of a topic this publisher writes (a config or a status), else None.

        Config topics of other software under the same discovery prefix (zigbee2mqtt,
        ESPHome, another PlantOps with another topic prefix) are never ours.
        """
        status = re.fullmatch(re.escape(self.topic_prefix) + r"/status/([1-9][0-9]{0,18})", topic)
        if status:
            return int(status.group(1))
        pattern = (
            re.escape(self.discovery_prefix)
            + r"/(?:sensor|binary_sensor)/"
            + re.escape(self.id_prefix)
            + r"_([1-9][0-9]{0,18})_[a-z_]+/config"
        )
        config = re.fullmatch(pattern, topic)
        return int(config.group(1)) if config else None


def plant_messages(plant: Any, now: datetime, settings: Settings) -> dict[str, bytes]:
    """Every retained message of one plant: its discovery configs and its status.

    `plant` is a Plant or any row with PLANT_FIELDS.
    """
    reported = [m for m in METRICS if getattr(plant, f"latest_{m.key}") is not None]
    messages = {
        settings.config_topic(SENSOR, plant.id, m.key): _dump(metric_config(plant, m, settings)) for m in reported
    }
    messages[settings.config_topic(SENSOR, plant.id, STATUS_ENTITY)] = _dump(status_config(plant, settings))
    messages[settings.config_topic(BINARY_SENSOR, plant.id, PROBLEM_ENTITY)] = _dump(problem_config(plant, settings))
    messages[settings.status_topic(plant.id)] = _dump(status_payload(plant, now, settings))
    return messages


def status_payload(plant: Any, now: datetime, settings: Settings) -> dict[str, Any]:
    """What `<prefix>/status/<plant id>` carries (docs/homeassistant.md, "The status topic")."""
    status = plant_status(plant, now)
    return {
        "id": plant.id,
        "name": plant.name,
        "status": status.status,
        "label": STATUS_LABELS[status.status],
        "problems": list(status.problems),
        "problem_labels": [problem_label(problem) for problem in status.problems],
        "metrics": {
            m.key: {"value": value, "unit": m.unit, "label": m.label}
            for m in METRICS
            if (value := getattr(plant, f"latest_{m.key}")) is not None
        },
        "last_reading_at": _utc(plant.last_reading_at),
        "url": plant_url(plant, settings),
    }


def metric_config(plant: Any, metric: Metric, settings: Settings) -> dict[str, Any]:
    key = metric.key
    config = _entity(plant, key, metric.label, settings) | {
        # "None" is Home Assistant's word for "unknown" on an MQTT sensor.
        "value_template": (f"{{{{ value_json.metrics.{key}.value if '{key}' in value_json.metrics else None }}}}"),
        "unit_of_measurement": HA_UNITS.get(key, metric.unit),
        "state_class": "measurement",
        "suggested_display_precision": metric.decimals,
    }
    if key in DEVICE_CLASSES:
        config["device_class"] = DEVICE_CLASSES[key]
    if key in DIAGNOSTIC_METRICS:
        config["entity_category"] = "diagnostic"
    return config


def status_config(plant: Any, settings: Settings) -> dict[str, Any]:
    return _entity(plant, STATUS_ENTITY, "Status", settings) | {
        "value_template": "{{ value_json.label }}",
        "json_attributes_topic": settings.status_topic(plant.id),
        "json_attributes_template": (
            "{{ {'status': value_json.status, 'problems': value_json.problems, "
            "'problem_labels': value_json.problem_labels, 'last_reading_at': value_json.last_reading_at, "
            "'url': value_json.url} | tojson }}"
        ),
        "icon": "mdi:sprout",
    }


def problem_config(plant: Any, settings: Settings) -> dict[str, Any]:
    return _entity(plant, PROBLEM_ENTITY, "Problem", settings) | {
        "device_class": "problem",
        "value_template": "{{ 'ON' if value_json.problems else 'OFF' }}",
        "payload_on": "ON",
        "payload_off": "OFF",
        "json_attributes_topic": settings.status_topic(plant.id),
        "json_attributes_template": "{{ {'problems': value_json.problem_labels} | tojson }}",
    }


def device_block(plant: Any, settings: Settings) -> dict[str, Any]:
    """One Home Assistant device per plant: its entities are grouped under it."""
    device = {
        "identifiers": [f"{settings.id_prefix}_{plant.id}"],
        "name": plant.name,
        "manufacturer": "PlantOps",
        "model": plant.species or "Plant",
        "sw_version": settings.version,
        "configuration_url": plant_url(plant, settings),
    }
    if plant.location:
        device["suggested_area"] = plant.location
    return device


def origin_block(settings: Settings) -> dict[str, str]:
    return {"name": "PlantOps", "sw_version": settings.version, "support_url": settings.public_url}


def plant_url(plant: Any, settings: Settings) -> str:
    return f"{settings.public_url}/plants/{plant.id}"


def _entity(plant: Any, entity: str, name: str, settings: Settings) -> dict[str, Any]:
    return {
        "name": name,
        "unique_id": settings.object_id(plant.id, entity),
        "state_topic": settings.status_topic(plant.id),
        "availability": [
            {"topic": settings.availability_topic, "payload_available": ONLINE, "payload_not_available": OFFLINE}
        ],
        "qos": 1,
        "device": device_block(plant, settings),
        "origin": origin_block(settings),
    }


def _dump(document: Mapping[str, Any]) -> bytes:
    # Sorted keys: the same plant always gives the same bytes, so an unchanged plant sends nothing.
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _utc(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
