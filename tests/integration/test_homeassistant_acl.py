"""The broker access docs/homeassistant.md asks for, on the shipped broker with authentication
(deploy/mosquitto-auth.conf and deploy/mosquitto/accounts, which grants the app's role its four
ACL entries): with them the publisher works with the app's own account; without them it says
what the broker refused."""

import os
import subprocess
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from app.clock import utcnow
from app.extensions import db
from app.integrations import homeassistant as publisher_module
from app.integrations.homeassistant import HomeAssistantPublisher
from app.models import Plant
from app.ownership import personal_garden_id
from tests.conftest import make_user

from .test_mosquitto_auth import ACCOUNTS, ADMIN_PASSWORD, serve_auth_broker

# The entries deploy/mosquitto/accounts grants the app's role for Home Assistant (docs/homeassistant.md).
HOME_ASSISTANT_ACL = [
    ("publishClientSend", "plantops/status"),
    ("publishClientSend", "plantops/status/+"),
    ("subscribePattern", "plantops/status"),
    ("subscribePattern", "plantops/status/+"),
    ("publishClientSend", "homeassistant/+/+/config"),
    ("subscribePattern", "homeassistant/+/+/config"),
]


@pytest.fixture
def auth_broker(monkeypatch):
    monkeypatch.setattr(publisher_module, "SYNC_TIMEOUT_SECONDS", 0.5)
    with tempfile.TemporaryDirectory(prefix="plantops-mqtt-") as folder:
        yield from serve_auth_broker(Path(folder))


def revoke(port, acl):
    for kind, topic in acl:
        subprocess.run(
            ["mosquitto_ctrl", "-h", "127.0.0.1", "-p", str(port), "-u", "admin", "-P", ADMIN_PASSWORD]
            + ["dynsec", "removeRoleACL", "plantops-app", kind, topic],
            check=True,
            capture_output=True,
            env=os.environ,
        )


def retained(port, *filters, wait=1.0):
    """What a fresh subscriber with the admin account finds retained."""
    found = {}
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set("admin", ADMIN_PASSWORD)
    client.on_message = lambda _c, _u, m: found.__setitem__(m.topic, bytes(m.payload))
    subscribed = threading.Event()
    client.on_subscribe = lambda *args: subscribed.set()
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.subscribe([(f, 1) for f in filters])
    assert subscribed.wait(5)
    time.sleep(wait)
    client.disconnect()
    client.loop_stop()
    return found


def grant_admin_reading(port):
    subprocess.run(
        ["mosquitto_ctrl", "-h", "127.0.0.1", "-p", str(port), "-u", "admin", "-P", ADMIN_PASSWORD]
        + ["dynsec", "addRoleACL", "admin", "subscribePattern", "#", "allow"],
        check=True,
        capture_output=True,
    )


def start_publisher(make_app, tmp_path, port):
    app = make_app(
        config={"INSTANCE_PATH": str(tmp_path)},
        HOMEASSISTANT_DISCOVERY="true",
        HOMEASSISTANT_POLL_SECONDS="1",
        MQTT_PORT=str(port),
        MQTT_USERNAME="plantops",
        MQTT_PASSWORD=ACCOUNTS["plantops"],
    )
    user_id = make_user(app)
    with app.app_context():
        plant = Plant(
            garden_id=personal_garden_id(user_id), name="Fern", last_reading_at=utcnow() - timedelta(minutes=1)
        )
        plant.latest_soil_moisture = 40.0
        db.session.add(plant)
        db.session.commit()
        plant_id = plant.id
    publisher = HomeAssistantPublisher(app)
    publisher.start()
    return publisher, plant_id


def wait_until(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_the_shipped_acl_lets_the_app_account_publish_and_read_back(auth_broker, make_app, tmp_path):
    grant_admin_reading(auth_broker)
    publisher, plant_id = start_publisher(make_app, tmp_path, auth_broker)
    try:
        assert wait_until(lambda: publisher.snapshot()["published"] == 4)
        found = retained(auth_broker, "homeassistant/#", "plantops/status/#")
        assert f"homeassistant/sensor/plantops_{plant_id}_soil_moisture/config" in found
        assert f"plantops/status/{plant_id}" in found
        assert found["plantops/status"] == b"online"
        assert publisher.snapshot()["last error"] is None
        # It reads its own messages back: the broker's copies are what it holds.
        assert wait_until(lambda: publisher.snapshot()["retained messages"] == 4)
    finally:
        publisher.stop(5)


def test_without_the_acl_the_refusal_is_reported(auth_broker, make_app, tmp_path):
    revoke(auth_broker, HOME_ASSISTANT_ACL)
    grant_admin_reading(auth_broker)
    publisher, plant_id = start_publisher(make_app, tmp_path, auth_broker)
    try:
        assert wait_until(lambda: publisher.snapshot()["last error"] is not None)
        assert "refused" in publisher.snapshot()["last error"]
        time.sleep(1.5)
        assert retained(auth_broker, "homeassistant/#", "plantops/status/#") == {}
    finally:
        publisher.stop(5)
