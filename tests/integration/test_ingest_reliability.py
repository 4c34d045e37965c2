"""Nothing lost, nothing stored twice: broker restarts, a locked database, two consumers."""

import sqlite3
import threading
import time

import pytest
from sqlalchemy import create_engine, func, select, text

from app.extensions import db
from app.ingest import writer
from app.models import Reading
from app.workers import background_services
from tests.fixtures.services import Broker

from .ingest_helpers import Publisher, claim, reading_count, wait_until

DEVICES = [f"dev-{n:02d}" for n in range(10)]


@pytest.fixture
def durable_mosquitto(tmp_path):
    """A broker that, like the one PlantOps ships, keeps sessions and queued messages on disk."""
    broker = Broker(tmp_path)
    broker.config.write_text(
        f"listener {broker.port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "max_queued_messages 0\n"
        "persistence true\n"
        f"persistence_location {tmp_path}/\n"
        "autosave_on_changes true\n"
        "autosave_interval 1\n"
        f"log_dest file {tmp_path / 'mosquitto.log'}\n"
        # Run as root (a no-op for other users) so it may write its files into the private tmp_path.
        "user root\n"
    )
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def consumers(make_app):
    apps = []

    def start(broker):
        app = make_app(MQTT_ENABLED="true", MQTT_PORT=broker.port)
        background_services(app).start()
        apps.append(app)
        wait_until(lambda: background_services(app).consumer_state.connected, message="consumer connected")
        return app

    yield start
    for app in apps:
        background_services(app).stop()


def publish_stream(publisher, count, base_ts, pause=0.001, during=None):
    """Publish `count` readings round-robin over DEVICES; call `during()` halfway through."""
    for n in range(count):
        device = DEVICES[n % len(DEVICES)]
        publisher.send(device, {"ts": base_ts + n // len(DEVICES), "soil_moisture": 50.0, "battery": n % 100})
        if during and n == count // 2:
            during()
        time.sleep(pause)


def assert_each_stored_once(app, count):
    with app.app_context():
        stored = db.session.scalar(select(func.count(Reading.id)))
        distinct = db.session.scalar(
            select(func.count()).select_from(select(Reading.device_id, Reading.ts).distinct().subquery())
        )
    assert stored == count
    assert distinct == count


class Acked:
    """Counts the broker's acknowledgements of a publisher's messages."""

    def __init__(self, publisher):
        self.count = 0
        self.lock = threading.Lock()
        publisher.client.on_publish = self.on_publish

    def on_publish(self, client, userdata, mid, reason_code, properties):
        with self.lock:
            self.count += 1


def test_broker_killed_mid_stream_and_restarted_loses_and_duplicates_nothing(durable_mosquitto, consumers):
    """The consumer holds received, uncommitted and unacknowledged messages when the broker dies.

    Two limits of Mosquitto (2.0) itself shape the test. It acknowledges a publish
    before writing it to disk, so a kill at that instant loses the message inside the
    broker: the kill waits until the broker acknowledged (and so forwarded) what was
    sent. And after a restart it routes nothing to a shared subscription until a member
    subscribes again (publishers get PUBACK "no matching subscribers"): the publisher
    reconnects after the consumer did.
    """
    app = consumers(durable_mosquitto)
    claim(app, DEVICES)
    state = background_services(app).consumer_state
    publisher = Publisher(durable_mosquitto.port)
    publisher.client.reconnect_delay_set(4, 4)
    acked = Acked(publisher)
    count = 1500

    def restart_broker():
        wait_until(lambda: acked.count >= count // 2 + 1, message="the first half acknowledged")
        time.sleep(0.05)
        durable_mosquitto.stop(kill=True)
        wait_until(lambda: not state.connected, message="the consumer noticed")
        time.sleep(0.5)
        durable_mosquitto.start()

    try:
        publish_stream(publisher, count, base_ts=time.time() - 3600, during=restart_broker)
        wait_until(lambda: acked.count >= count, timeout=30, message="every PUBACK", status=lambda: acked.count)
    finally:
        publisher.close()

    wait_until(lambda: reading_count(app) >= count, timeout=30, message=f"{count} readings", status=lambda: state)
    time.sleep(0.5)  # redeliveries still on their way must not add rows
    assert_each_stored_once(app, count)
    assert state.connected
    assert state.duplicates > 0  # the broker redelivered what was unacknowledged at the kill


def hold_database_lock(app, seconds, locked):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=10, isolation_level=None)
        connection.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(seconds)
        connection.execute("COMMIT")
        connection.close()
        return
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("LOCK TABLE readings IN ACCESS EXCLUSIVE MODE"))
        locked.set()
        time.sleep(seconds)
    engine.dispose()


def test_database_locked_for_three_seconds_mid_stream_loses_nothing(mosquitto, consumers):
    app = consumers(mosquitto)
    claim(app, DEVICES)
    publisher = Publisher(mosquitto.port)
    count = 3000
    locked = threading.Event()
    holder = threading.Thread(target=hold_database_lock, args=(app, 3.0, locked))

    def lock_database():
        holder.start()
        locked.wait(5)

    try:
        publish_stream(publisher, count, base_ts=time.time() - 3600, pause=0.0005, during=lock_database)
        holder.join(10)
        wait_until(lambda: reading_count(app) >= count, timeout=60, message=f"{count} readings")
    finally:
        publisher.close()
    assert_each_stored_once(app, count)


def test_writer_retries_a_failing_batch_and_acknowledges_only_after_commit(mosquitto, consumers, monkeypatch):
    app = consumers(mosquitto)
    claim(app, ["sensor-1"])
    real_store, failures = writer.store_batch, []

    def flaky_store(session, deliveries, now):
        if len(failures) < 2:
            failures.append(len(deliveries))
            session.execute(text("SELECT 1"))
            raise RuntimeError("database went away")
        return real_store(session, deliveries, now)

    monkeypatch.setattr(writer, "store_batch", flaky_store)
    monkeypatch.setattr(writer, "RETRY_FIRST_DELAY", 0.05)
    acked = []
    ingest = background_services(app).ingest
    real_ack = ingest.writer.acknowledge
    ingest.writer.acknowledge = lambda batch: (acked.append(reading_count(app)), real_ack(batch))
    publisher = Publisher(mosquitto.port)
    try:
        publisher.send("sensor-1", {"temperature": 20.0})
        wait_until(lambda: reading_count(app) == 1, message="the reading after two failures")
    finally:
        publisher.close()
    assert len(failures) == 2
    wait_until(lambda: acked)
    assert acked == [1]


def test_two_consumers_on_the_shared_subscription_store_each_reading_once(mosquitto, consumers):
    first = consumers(mosquitto)
    second = consumers(mosquitto)
    claim(first, DEVICES)
    publisher = Publisher(mosquitto.port)
    count = 2000
    try:
        publish_stream(publisher, count, base_ts=time.time() - 3600, pause=0.0002)
        wait_until(lambda: reading_count(first) >= count, timeout=60, message=f"{count} readings")
    finally:
        publisher.close()
    time.sleep(0.3)
    assert_each_stored_once(first, count)
    ids = {background_services(app).ingest.consumer.client_id for app in (first, second)}
    assert len(ids) == 2
    received = [background_services(app).consumer_state.received for app in (first, second)]
    assert all(n > count // 10 for n in received), received
    assert sum(received) == count
