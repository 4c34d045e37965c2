"""The Home Assistant discovery and status messages (app/domain/homeassistant.py), checked
against what Home Assistant's MQTT discovery requires (homeassistant/components/mqtt/schemas.py:
a device needs identifiers, an origin needs a name, availability is a list of topics) and by
rendering their templates, as Home Assistant would, over the status they read."""

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest

from app.domain import homeassistant as ha
from app.domain.metrics import CHARTED, METRICS, THRESHOLD_KEYS

NOW = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
SETTINGS = ha.Settings(
    discovery_prefix="homeassistant",
    topic_prefix="plantops",
    version="0.1.0",
    public_url="https://plants.example.com",
)
OBJECT_ID = re.compile(r"[a-zA-Z0-9_-]+")  # Home Assistant's rule for the object id of a topic
HOSTILE_NAME = 'Fern "Big" / \\ {{ 7*7 }} {% raw %} Üñîçødé 🌿 + # \' <b>'


def plant(**fields):
    values = dict.fromkeys(ha.PLANT_FIELDS)
    values.update(
        id=12, name="Fern", species="Nephrolepis", location="Bathroom", stale_after_minutes=60,
        last_reading_at=NOW - timedelta(minutes=5),
        latest_soil_moisture=41.2, latest_temperature=21.5, latest_humidity=64.0,
        latest_light=1200.0, latest_conductivity=800.0, latest_battery=90.0,
    )  # fmt: skip
    values.update(fields)
    return SimpleNamespace(**values)


def messages(row, now=NOW):
    return {topic: json.loads(body) for topic, body in ha.plant_messages(row, now, SETTINGS).items()}


def render(template: str, status: dict) -> str:
    """Render a value or attributes template as Home Assistant does: `value_json` is the payload."""
    return jinja2.Environment(autoescape=False).from_string(template).render(value_json=status)  # noqa: S701  (JSON, not HTML)


def status_of(row, now=NOW):
    return messages(row, now)[SETTINGS.status_topic(row.id)]


def check_entity(config, component):
    """The keys Home Assistant needs to make an entity of a discovery payload, grouped under its device."""
    assert config["name"]
    assert isinstance(config["name"], str)
    assert OBJECT_ID.fullmatch(config["unique_id"])
    assert config["state_topic"] == SETTINGS.status_topic(12)
    assert config["device"]["identifiers"] == ["plantops_12"]
    assert config["device"]["name"]
    assert config["origin"]["name"] == "PlantOps"
    assert config["availability"] == [
        {"topic": "plantops/status", "payload_available": "online", "payload_not_available": "offline"}
    ]
    assert config["qos"] == 1
    assert "command_topic" not in config  # read-only entities
    if component == ha.BINARY_SENSOR:
        assert config["device_class"] == "problem"


def test_every_charted_metric_has_a_home_assistant_device_class():
    assert set(ha.DEVICE_CLASSES) == {m.key for m in CHARTED}
    assert set(ha.HA_UNITS) <= set(ha.DEVICE_CLASSES)


@pytest.mark.parametrize("metric", CHARTED, ids=lambda m: m.key)
def test_a_metric_sensor_carries_what_home_assistant_needs(metric):
    config = messages(plant())[f"homeassistant/sensor/plantops_12_{metric.key}/config"]

    check_entity(config, ha.SENSOR)
    assert config["unique_id"] == f"plantops_12_{metric.key}"
    assert config["name"] == metric.label
    assert config["device_class"] == ha.DEVICE_CLASSES[metric.key]
    assert config["state_class"] == "measurement"
    assert config["unit_of_measurement"] == ha.HA_UNITS.get(metric.key, metric.unit)
    assert config["suggested_display_precision"] == metric.decimals
    value = getattr(plant(), f"latest_{metric.key}")
    assert float(render(config["value_template"], status_of(plant()))) == value


def test_home_assistant_units_are_the_ones_it_validates():
    config = messages(plant())
    assert config["homeassistant/sensor/plantops_12_light/config"]["unit_of_measurement"] == "lx"
    assert config["homeassistant/sensor/plantops_12_conductivity/config"]["unit_of_measurement"] == "\u03bcS/cm"
    assert config["homeassistant/sensor/plantops_12_temperature/config"]["unit_of_measurement"] == "°C"
    assert config["homeassistant/sensor/plantops_12_battery/config"]["entity_category"] == "diagnostic"


def test_every_entity_of_a_plant_is_grouped_under_one_device():
    configs = {t: c for t, c in messages(plant()).items() if t.endswith("/config")}

    assert len(configs) == len(METRICS) + 2  # each metric, the status and the problem
    devices = {json.dumps(c["device"], sort_keys=True) for c in configs.values()}
    assert len(devices) == 1
    device = configs["homeassistant/sensor/plantops_12_status/config"]["device"]
    assert device == {
        "identifiers": ["plantops_12"],
        "name": "Fern",
        "manufacturer": "PlantOps",
        "model": "Nephrolepis",
        "sw_version": "0.1.0",
        "configuration_url": "https://plants.example.com/plants/12",
        "suggested_area": "Bathroom",
    }
    assert len({c["unique_id"] for c in configs.values()}) == len(configs)


def test_topics_follow_the_discovery_layout():
    topics = set(ha.plant_messages(plant(), NOW, SETTINGS))

    assert "homeassistant/sensor/plantops_12_soil_moisture/config" in topics
    assert "homeassistant/sensor/plantops_12_status/config" in topics
    assert "homeassistant/binary_sensor/plantops_12_problem/config" in topics
    assert "plantops/status/12" in topics
    for topic in topics - {"plantops/status/12"}:
        prefix, component, object_id, config = topic.split("/")
        assert (prefix, config) == ("homeassistant", "config")
        assert component in ha.COMPONENTS
        assert OBJECT_ID.fullmatch(object_id)


def test_only_reported_metrics_become_sensors():
    row = plant(latest_light=None, latest_conductivity=None, latest_battery=None)
    sensors = {t.split("/")[2] for t in messages(row) if t.startswith("homeassistant/sensor/")}

    assert sensors == {
        "plantops_12_soil_moisture",
        "plantops_12_temperature",
        "plantops_12_humidity",
        "plantops_12_status",
    }


def test_a_hostile_plant_name_is_data_never_a_topic_or_a_template():
    row = plant(name=HOSTILE_NAME, location='Hall / "2nd" floor', species="")
    raw = ha.plant_messages(row, NOW, SETTINGS)
    parsed = {topic: json.loads(body.decode("utf-8")) for topic, body in raw.items()}

    assert set(raw) == set(ha.plant_messages(plant(), NOW, SETTINGS))  # topics never carry the name
    config = parsed["homeassistant/sensor/plantops_12_status/config"]
    assert config["device"]["name"] == HOSTILE_NAME
    assert config["device"]["suggested_area"] == 'Hall / "2nd" floor'
    assert config["device"]["model"] == "Plant"
    assert parsed["plantops/status/12"]["name"] == HOSTILE_NAME
    for body in parsed.values():
        for key, value in body.items():
            if key.endswith("template"):
                assert HOSTILE_NAME not in value
                assert "Hall" not in value
    assert "🌿".encode() in raw["plantops/status/12"]  # UTF-8, as MQTT strings are


def test_the_status_of_a_healthy_plant():
    status = status_of(plant())

    assert status == {
        "id": 12,
        "name": "Fern",
        "status": "ok",
        "label": "OK",
        "problems": [],
        "problem_labels": [],
        "metrics": {
            m.key: {"value": getattr(plant(), f"latest_{m.key}"), "unit": m.unit, "label": m.label} for m in METRICS
        },
        "last_reading_at": "2026-12-01T20:55:00Z",
        "url": "https://plants.example.com/plants/12",
    }


def test_a_plant_out_of_range_needs_care_and_says_why():
    row = plant(soil_moisture_min=50.0, latest_battery=10.0)
    status = status_of(row)
    configs = messages(row)

    assert status["status"] == "alert"
    assert status["problems"] == ["soil_moisture_low", "battery_low"]
    assert status["problem_labels"] == ["Soil moisture low", "Battery low"]
    status_config = configs["homeassistant/sensor/plantops_12_status/config"]
    assert render(status_config["value_template"], status) == "Needs care"
    attributes = json.loads(render(status_config["json_attributes_template"], status))
    assert attributes["problems"] == ["soil_moisture_low", "battery_low"]
    assert attributes["status"] == "alert"
    problem = configs["homeassistant/binary_sensor/plantops_12_problem/config"]
    assert render(problem["value_template"], status) == problem["payload_on"] == "ON"
    assert json.loads(render(problem["json_attributes_template"], status)) == {
        "problems": ["Soil moisture low", "Battery low"]
    }


def test_a_silent_plant_is_stale_and_a_new_one_waits_for_data():
    stale = status_of(plant(), now=NOW + timedelta(hours=2))
    new = status_of(plant(last_reading_at=None, **{f"latest_{m.key}": None for m in METRICS}))
    problem = messages(plant())["homeassistant/binary_sensor/plantops_12_problem/config"]

    assert (stale["status"], stale["label"], stale["problems"]) == ("stale", "Sensor silent", ["stale"])
    assert render(problem["value_template"], stale) == "ON"
    assert (new["status"], new["label"], new["metrics"], new["last_reading_at"]) == (
        "no_data",
        "Waiting for data",
        {},
        None,
    )
    assert render(problem["value_template"], new) == "OFF"
    assert render(problem["value_template"], status_of(plant())) == "OFF"


def test_a_metric_missing_from_the_status_reads_as_unknown():
    config = messages(plant())["homeassistant/sensor/plantops_12_light/config"]
    assert render(config["value_template"], status_of(plant(latest_light=None))) == "None"


def test_the_same_plant_always_gives_the_same_bytes():
    assert ha.plant_messages(plant(), NOW, SETTINGS) == ha.plant_messages(
        plant(), NOW + timedelta(seconds=30), SETTINGS
    )
    changed = ha.plant_messages(plant(latest_soil_moisture=40.0), NOW, SETTINGS)
    differ = {t for t, body in changed.items() if body != ha.plant_messages(plant(), NOW, SETTINGS)[t]}
    assert differ == {"plantops/status/12"}


def test_the_publisher_knows_its_own_topics_and_no_one_elses():
    owned = ha.plant_messages(plant(), NOW, SETTINGS)
    assert {ha.Settings.owned_plant(SETTINGS, topic) for topic in owned} == {12}
    for foreign in (
        "homeassistant/sensor/0x00158d0001_temperature/config",  # zigbee2mqtt
        "homeassistant/sensor/plantops2_12_status/config",  # another PlantOps, another prefix
        "homeassistant/sensor/plantops_12_status/state",
        "homeassistant/light/plantops_12_status/config",
        "homeassistant/status",
        "plantops/status",
        "plantops/status/abc",
        "plantops/status/012",
        "plantops/fern-1/telemetry",
    ):
        assert SETTINGS.owned_plant(foreign) is None, foreign


def test_another_topic_prefix_makes_other_ids():
    other = ha.Settings("ha/discovery", "green.house", "0.1.0", "http://127.0.0.1:5000")
    topics = set(ha.plant_messages(plant(), NOW, other))

    assert "ha/discovery/sensor/green_house_12_status/config" in topics
    assert "green.house/status/12" in topics
    assert {other.owned_plant(t) for t in topics} == {12}
    assert SETTINGS.owned_plant("ha/discovery/sensor/green_house_12_status/config") is None


def test_thresholds_are_read_for_every_threshold_metric():
    for key in THRESHOLD_KEYS:
        assert f"{key}_min" in ha.PLANT_FIELDS
        assert f"{key}_max" in ha.PLANT_FIELDS


def test_the_documented_status_is_the_one_sent():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "homeassistant.md").read_text()
    example = json.loads(re.search(r"## The status topic.*?```json\n(.*?)```", doc, re.DOTALL).group(1))
    sent = status_of(plant(soil_moisture_min=50.0, latest_soil_moisture=18.5))

    assert set(example) == set(sent)
    assert set(example["metrics"]["soil_moisture"]) == set(sent["metrics"]["soil_moisture"])
    assert (example["status"], example["label"], example["problems"], example["problem_labels"]) == (
        sent["status"],
        sent["label"],
        sent["problems"],
        sent["problem_labels"],
    )
