"""Broker account names and topic rules (app/domain/broker.py) and the shipped accounts script
that must grant the same topics."""

import re
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from app.config import load_settings
from app.domain import broker

ACCOUNTS = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "accounts"


@pytest.mark.parametrize(
    ("email", "user_id", "username"),
    [
        ("ana@example.com", 3, "ana-3"),
        ("Ana.Lopez+plants@example.com", 12, "ana-lopez-plants-12"),
        ("#/+$@example.com", 4, "user-4"),  # nothing safe left
        ("__x__@example.com", 5, "x-5"),
        ("é@example.com", 6, "user-6"),
        ("a" * 200 + "@example.com", 2**31 - 1, "a" * (48 - 11) + "-2147483647"),
    ],
)
def test_a_users_broker_name_is_one_safe_topic_level_ending_in_their_id(email, user_id, username):
    name = broker.username_for(email, user_id)
    assert name == username
    assert re.fullmatch(r"[a-z0-9][a-z0-9_-]*-[0-9]+", name)
    assert len(name) <= broker.USERNAME_MAX


def test_two_users_never_get_the_same_broker_name():
    names = {broker.username_for(email, n) for n, email in enumerate(["ana@a", "ana@b", "ana-1@c", "ana@d"], 1)}
    assert len(names) == 4


def test_a_users_account_publishes_under_its_prefix_and_nothing_else_matches():
    [allowed] = broker.user_publish_filters("plantops", "ana-3")
    assert mqtt.topic_matches_sub(allowed, "plantops/u/ana-3/zigbee2mqtt/Fern soil")
    for topic in ("plantops/u/ben-4/zigbee2mqtt/Fern soil", "zigbee2mqtt/Fern soil", "plantops/u/ana-30/x/telemetry"):
        assert not mqtt.topic_matches_sub(allowed, topic)


@pytest.mark.parametrize(
    "topic",
    ["zigbee2mqtt/Fern soil", "miflora/Ficus", "tele/flora1/SENSOR", "plantops/fern-1/telemetry", "x/events/rpc"],
)
def test_a_bridge_publishes_on_the_shared_topics(topic):
    assert any(mqtt.topic_matches_sub(f, topic) for f in broker.bridge_publish_filters("plantops"))
    assert not any(
        mqtt.topic_matches_sub(f, "plantops/u/ana-3/" + topic) for f in broker.bridge_publish_filters("plantops")
    )


def test_the_accounts_script_grants_the_same_shared_filters():
    [listed] = re.findall(r"^SHARED_FILTERS='([^']*)'$", ACCOUNTS.read_text(), re.MULTILINE)
    assert tuple(listed.split()) == broker.SHARED_FILTERS


def test_no_topic_prefix_is_hard_coded_in_the_accounts_script():
    roles = [line for line in ACCOUNTS.read_text().splitlines() if "ensure_role" in line or "acls=" in line]
    assert roles
    assert not [line for line in roles if "plantops/" in line]


def test_the_app_may_subscribe_to_every_sources_filters_shared_and_per_user():
    """Each source's default filters (app/domain/sources), as the consumer subscribes to them."""
    sources = pytest.importorskip("app.domain.sources.routing")
    allowed = broker.app_subscribe_filters("plantops")
    for source in sources.active_sources("plantops"):
        for user in (False, True):
            for filter_ in source.filters(user):
                wanted = f"$share/plantops/{'plantops/u/+/' if user else ''}{filter_}"
                assert any(mqtt.topic_matches_sub(acl, wanted) for acl in allowed), wanted


def test_the_examples_put_every_ecosystem_under_the_users_prefix():
    examples = broker.examples("mqtt.example.com", 1883, "plantops/u/ana-3", "ana-3", "s3cret")
    assert {e.ecosystem for e in examples} >= {
        "zigbee2mqtt",
        "Tasmota",
        "ESPHome",
        "miflora-mqtt-daemon",
        "OpenMQTTGateway",
        "Shelly Gen2",
    }
    for example in examples:
        assert "plantops/u/ana-3/" in example.text
        assert "s3cret" in example.text
        assert "mqtt.example.com" in example.text
    placeholder = broker.examples("h", 1, "p/u/x-1", "x-1", None)
    assert all("<your broker password>" in e.text for e in placeholder)


def test_broker_accounts_are_off_without_an_admin_password(tmp_path):
    settings = load_settings({}, tmp_path)
    assert settings["MQTT_ADMIN_PASSWORD"] is None
    assert settings["MQTT_ADMIN_USERNAME"] == "admin"
    on = load_settings(
        {"MQTT_ADMIN_USERNAME": "dynsec", "MQTT_ADMIN_PASSWORD": "pw", "MQTT_PUBLIC_PORT": "8883"}, tmp_path
    )
    assert (on["MQTT_ADMIN_USERNAME"], on["MQTT_ADMIN_PASSWORD"], on["MQTT_PUBLIC_PORT"]) == ("dynsec", "pw", 8883)
