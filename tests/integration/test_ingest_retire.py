"""`flask ingest --retire-host`: what a gone host's consumers left at the broker is stored once and
their sessions end, so the broker stops queueing a share of the stream for them."""

import queue
import time
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from app.ingest.consumer import Consumer, client_id, load_sources, retire_host
from app.ingest.state import ConsumerState

from .ingest_helpers import Publisher, claim, reading_count, wait_until


@pytest.fixture
def mqtt_app(make_app, mosquitto):
    return make_app(MQTT_ENABLED="true", MQTT_PORT=mosquitto.port)


def gone_host_consumer(app, hostname):
    """A PlantOps consumer of host `hostname` that takes messages and never commits them."""
    state = ConsumerState(enabled=True)
    consumer = Consumer(app.config, state, queue.Queue(), client_id(0, hostname), load_sources(app))
    consumer.start()
    wait_until(lambda: state.connected and not consumer.pending_subscriptions, message="subscribed")
    return consumer


def die(consumer):
    """The host loses power: the connection drops without a DISCONNECT; the session stays."""
    consumer.client.loop_stop()
    consumer.client.socket().close()


def session_present(port, identifier):
    flags = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=identifier, protocol=mqtt.MQTTv5)
    client.on_connect = lambda _c, _u, connect_flags, _rc, _p: flags.append(connect_flags.session_present)
    ending = Properties(PacketTypes.CONNECT)
    ending.SessionExpiryInterval = 0
    client.connect("127.0.0.1", port, clean_start=False, properties=ending)
    client.loop_start()
    wait_until(lambda: flags, message="connected")
    client.disconnect()
    client.loop_stop()
    return flags[0]


def test_retiring_a_gone_host_stores_what_its_session_held_once_and_ends_the_session(mqtt_app, mosquitto):
    claim(mqtt_app, ["sensor-1"])
    gone = gone_host_consumer(mqtt_app, "gone-host")
    publisher = Publisher(mosquitto.port)
    start = datetime.now(UTC) - timedelta(hours=1)

    def send(first, count):
        for n in range(first, first + count):
            publisher.send("sensor-1", {"ts": (start + timedelta(seconds=n)).timestamp(), "soil_moisture": 40})
        publisher.wait_all_sent()

    send(0, 20)
    wait_until(lambda: gone.inbox.qsize() == 20, message="the gone host's consumer took 20 messages")
    die(gone)  # 20 in flight to it, never acknowledged
    send(20, 30)  # its turn of the shared subscription: queued in its session
    publisher.close()
    time.sleep(0.2)
    assert reading_count(mqtt_app, "sensor-1") == 0

    result = mqtt_app.test_cli_runner().invoke(args=["ingest", "--retire-host", "gone-host"])

    assert result.exit_code == 0, result.output
    assert "plantops-gone-host-0: 50 messages taken, 50 readings stored; session ended" in result.output
    assert reading_count(mqtt_app, "sensor-1") == 50
    assert not session_present(mosquitto.port, "plantops-gone-host-0")


def test_retiring_a_host_the_broker_has_no_session_of_says_so(mqtt_app):
    result = mqtt_app.test_cli_runner().invoke(args=["ingest", "--retire-host", "never-here"])

    assert result.exit_code == 0, result.output
    assert "holds no session of never-here's consumers" in result.output


def test_retiring_needs_a_host_name_and_a_broker(make_app):
    from tests.fixtures.services import free_port

    app = make_app(MQTT_ENABLED="true", MQTT_PORT=free_port())
    empty = app.test_cli_runner().invoke(args=["ingest", "--retire-host", " "])

    assert empty.exit_code == 2
    assert "give the host name" in empty.output
    with pytest.raises(TimeoutError, match="did not answer"):
        retire_host(app, "gone-host", connect_timeout=0.5)


def test_a_retiring_session_leaves_the_group_so_new_messages_go_to_the_live_members(mqtt_app, mosquitto):
    gone = gone_host_consumer(mqtt_app, "gone-host")
    live = []
    member = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="live-member", protocol=mqtt.MQTTv5)
    member.on_message = lambda _c, _u, message: live.append(message.payload)
    member.on_connect = lambda client, *_: client.subscribe("$share/plantops/plantops/+/telemetry", qos=1)
    member.connect("127.0.0.1", mosquitto.port)
    member.loop_start()
    publisher = Publisher(mosquitto.port)
    try:
        time.sleep(0.3)  # the live member has subscribed
        die(gone)

        def send(count):
            for n in range(count):
                publisher.send("sensor-1", {"soil_moisture": n})
            publisher.wait_all_sent()

        send(20)  # the members in turn: 10 wait in the gone host's session
        wait_until(lambda: len(live) == 10, message="the live member's 10")
        state = ConsumerState(enabled=True)
        inbox: queue.Queue = queue.Queue()
        retiring = Consumer(
            mqtt_app.config, state, inbox, client_id(0, "gone-host"), load_sources(mqtt_app), retiring=True
        )
        retiring.start()
        wait_until(lambda: inbox.qsize() == 10, message="what the gone host's session held")
        time.sleep(0.3)  # the unsubscribe has reached the broker
        send(10)
        wait_until(lambda: len(live) == 20, message="every new message at the live member")
        time.sleep(0.3)
        retiring.stop()
    finally:
        publisher.close()
        member.disconnect()
        member.loop_stop()

    assert retiring.session_found is True
    assert inbox.qsize() == 10
    assert len(live) == 20
