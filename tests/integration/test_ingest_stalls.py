"""One sensor's poison messages never stall ingestion for anyone else, and a writer that
stops moving shows in /api/health.

Before the fix, a message the callback could not parse stayed unacknowledged: 5,000 of
them fill the consumer's receive window and the broker sends nothing more, to anyone.
"""

import threading
import time
from collections import Counter

import pytest

from app.domain.payload import ParseResult, parse_message
from app.ingest import consumer, writer
from app.workers import background_services

from .ingest_helpers import Publisher, claim, reading_count, rejections, wait_until

POISON_COUNT = 5000
HUGE_TS = 10**400  # a 401-digit integer: float() of it overflows


@pytest.fixture
def ingest_app(make_app, mosquitto):
    app = make_app(MQTT_ENABLED="true", MQTT_PORT=mosquitto.port)
    services = background_services(app)
    services.start()
    wait_until(lambda: services.consumer_state.connected, message="consumer connected")
    yield app
    services.stop()


def exploding_parser(topic, payload, prefix, now):
    """The native parser, with a bug that only poison-1's messages reach."""
    if topic == "plantops/poison-1/telemetry":
        raise RuntimeError("a parser bug")
    return parse_message(topic, payload, prefix, now)


@pytest.mark.parametrize(
    ("parser", "reason"),
    [(parse_message, "future_ts"), (exploding_parser, "unparseable")],
    ids=["huge_integer_ts", "parser_raises"],
)
def test_five_thousand_poison_messages_do_not_stop_another_devices_readings(
    ingest_app, mosquitto, monkeypatch, parser, reason
):
    monkeypatch.setattr(consumer, "NATIVE", consumer.Source("native", parser, stores_retained=False))
    claim(ingest_app, ["poison-1", "good-1"])
    state = background_services(ingest_app).consumer_state
    attacker, sensor = Publisher(mosquitto.port, "attacker"), Publisher(mosquitto.port, "sensor")
    try:
        for _ in range(POISON_COUNT):
            attacker.send("poison-1", b'{"ts": %d, "soil_moisture": 40}' % HUGE_TS)
        attacker.wait_all_sent(60)
        for n in range(10):
            sensor.send("good-1", {"ts": time.time() - 60 + n, "soil_moisture": 41.0})
        wait_until(
            lambda: reading_count(ingest_app, "good-1") == 10,
            timeout=10,
            message="the good device's readings",
            status=lambda: f"{reading_count(ingest_app, 'good-1')} stored, {state.unacknowledged} unacknowledged",
        )
    finally:
        attacker.close()
        sensor.close()

    assert reading_count(ingest_app, "poison-1") == 0
    wait_until(lambda: rejections(ingest_app).get(reason) == POISON_COUNT, message=f"{POISON_COUNT} x {reason}")
    wait_until(lambda: state.unacknowledged == 0, message="every message acknowledged")


def test_a_message_the_callback_cannot_handle_is_acknowledged_and_counted(ingest_app, mosquitto, monkeypatch):
    """Even a failure outside the parser (here: the delivery record) ends in an acknowledgement."""
    claim(ingest_app, ["good-1"])
    real_delivery = consumer.Delivery

    def failing_delivery(topic, *args, **kwargs):
        if topic == "plantops/poison-1/telemetry":
            raise RuntimeError("a bug in the callback")
        return real_delivery(topic, *args, **kwargs)

    monkeypatch.setattr(consumer, "Delivery", failing_delivery)
    state = background_services(ingest_app).consumer_state
    publisher = Publisher(mosquitto.port)
    try:
        for _ in range(300):
            publisher.send("poison-1", {"soil_moisture": 40})
        publisher.wait_all_sent(30)
        publisher.send("good-1", {"soil_moisture": 41})
        wait_until(lambda: reading_count(ingest_app, "good-1") == 1, timeout=10, message="the good reading")
    finally:
        publisher.close()
    assert state.rejected["unparseable"] == 300
    wait_until(lambda: state.unacknowledged == 0, message="every message acknowledged")


def test_source_turns_a_parser_exception_into_an_unparseable_rejection():
    def broken(topic, payload, prefix, now):
        raise OverflowError("int too large to convert to float")

    message = consumer.mqtt.MQTTMessage(topic=b"plantops/sensor-1/telemetry")
    message.payload = b"{}"

    result = consumer.Source("native", broken, stores_retained=False).parse_message(message, "plantops", None)

    assert result == ParseResult("sensor-1", [], Counter(unparseable=1))


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clocked_ingest_app(make_app, mosquitto):
    app = make_app(MQTT_ENABLED="true", MQTT_PORT=mosquitto.port, INGEST_STALL_SECONDS="30")
    services = background_services(app)
    services.consumer_state.clock = clock = FakeClock()
    services.start()
    wait_until(lambda: services.consumer_state.connected, message="consumer connected")
    yield app, clock
    services.stop()


def health(app):
    body = app.test_client().get("/api/health").get_json()
    return body["status"], body["checks"]["mqtt"]["status"]


def test_health_is_degraded_while_messages_wait_on_a_stuck_writer(clocked_ingest_app, mosquitto, monkeypatch):
    app, clock = clocked_ingest_app
    claim(app, ["sensor-1"])
    state = background_services(app).consumer_state
    real_store, release = writer.store_batch, threading.Event()

    def stuck_store(session, deliveries, now):
        assert release.wait(30)
        return real_store(session, deliveries, now)

    monkeypatch.setattr(writer, "store_batch", stuck_store)
    clock.now += 3600  # idle for an hour: with nothing waiting, that is no stall
    assert health(app) == ("ok", "connected")

    publisher = Publisher(mosquitto.port)
    try:
        publisher.send("sensor-1", {"soil_moisture": 40})
        wait_until(lambda: state.unacknowledged == 1, message="the message taken")
        clock.now += 30
        assert health(app) == ("ok", "connected")  # at the bound, not past it
        clock.now += 1
        assert health(app) == ("degraded", "stalled")

        release.set()
        wait_until(lambda: reading_count(app, "sensor-1") == 1, message="the reading stored")
        wait_until(lambda: state.unacknowledged == 0, message="the message acknowledged")
    finally:
        release.set()
        publisher.close()
    assert health(app) == ("ok", "connected")
