"""Helpers for the ingestion tests: a publisher, plants claiming devices, waiting for rows."""

import json
import time

import paho.mqtt.client as mqtt
from sqlalchemy import func, select

from app.extensions import db
from app.models import Device, IngestRejection, Plant, Reading
from app.ownership import personal_garden_id
from tests.conftest import make_user
from tests.fixtures.readings import attach_device


class Publisher:
    """A QoS 1 publisher that, like a device, resends what the broker did not acknowledge."""

    def __init__(self, port, client_id="test-publisher"):
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.client.max_queued_messages_set(0)
        self.client.max_inflight_messages_set(100)
        self.client.reconnect_delay_set(0.2, 1)
        self.client.connect("127.0.0.1", port, clean_start=False, properties=_session_properties())
        self.client.loop_start()
        self.infos = []

    def send(self, device_id, payload, qos=1, topic=None):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        info = self.client.publish(topic or f"plantops/{device_id}/telemetry", body, qos=qos)
        self.infos.append(info)
        return info

    def wait_all_sent(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        for info in self.infos:
            info.wait_for_publish(max(0.1, deadline - time.monotonic()))

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def _session_properties():
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 300
    return properties


def claim(app, device_ids, email="gardener@example.com", **thresholds):
    """Plants of one gardener, each bound to one of `device_ids` on the shared topics (what the
    consumer subscribes to); returns {device_id: plant_id}."""
    user_id = make_user(app, email=email)
    with app.app_context():
        plants = {d: Plant(garden_id=personal_garden_id(user_id), name=f"Plant {d}", **thresholds) for d in device_ids}
        for device_id, plant in plants.items():
            attach_device(db.session, plant, device_id)
        db.session.commit()
        return {d: p.id for d, p in plants.items()}


def reading_count(app, device_id=None, since=None):
    with app.app_context():
        query = select(func.count(Reading.id))
        if since is not None:
            query = query.where(Reading.ts >= since)
        if device_id:
            query = query.join(Device, Device.id == Reading.device_id).where(Device.key == device_id)
        return db.session.scalar(query)


def rejections(app):
    with app.app_context():
        rows = db.session.execute(select(IngestRejection.reason, IngestRejection.count))
        return {row.reason: row.count for row in rows}


def wait_until(condition, timeout=20.0, interval=0.05, message="condition", status=None):
    """Poll `condition` until it is truthy; `status()` says what was seen instead on a timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}" + (f" (saw {status()})" if status else ""))


def start_ingest(app):
    """Start the app's background services and wait until its MQTT consumer is connected."""
    from app.workers import background_services

    background_services(app).start()
    state = background_services(app).consumer_state
    wait_until(lambda: state.connected, message="consumer connected")
    return app
