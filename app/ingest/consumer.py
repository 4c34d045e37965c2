"""The MQTT consumer: one per process, on a shared subscription, acknowledging after each commit.

The paho callback parses and enqueues, nothing else: no I/O, and it never
raises. Every message it takes ends acknowledged: by the writer after the
commit of its batch (`manual_ack=True`), whether its readings were stored or
rejected and counted; a message the callback itself cannot handle is
acknowledged and counted at once. One unparseable message must never hold a
slot of the receive window, or 5,000 of them stop the broker sending anything.
The session is persistent (clean_start False with a session expiry), so the
broker keeps unacknowledged and newly routed messages across a reconnect or a
restart of this process.

The client id names a slot: a process takes the lowest slot whose lock file
in the instance folder is free, so two processes on one host never share an
id, and a restarted process (a new gunicorn worker, a reloaded dev server)
resumes the session its predecessor left, with whatever the broker queued
for it meanwhile.
"""

import fcntl
import logging
import os
import queue
import re
import socket
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ..clock import utcnow
from ..domain.payload import MAX_PAYLOAD_BYTES, device_from_topic, parse_message
from ..domain.sources.base import SourceResult
from .state import ConsumerState
from .writer import BatchWriter, Delivery, OncePerMinute

log = logging.getLogger(__name__)

SHARE_GROUP = "plantops"
# Messages the broker may send before we acknowledge (MQTT v5 Receive Maximum),
# equal to the queue's bound, so the callback never waits on a full queue.
QUEUE_MESSAGES = 5000
SESSION_EXPIRY_SECONDS = 24 * 3600
KEEPALIVE_SECONDS = 30
RECONNECT_MIN_DELAY, RECONNECT_MAX_DELAY = 1, 30
MAX_SLOTS = 256
# The largest MQTT packet a payload at the cap makes, with room for the topic, a packet id and
# properties. The brokers PlantOps ships refuse larger ones (max_packet_size in
# deploy/mosquitto*.conf, checked by tests/unit/test_deploy.py), and the consumer asks any broker
# not to send it larger ones (Maximum Packet Size), so no single message can bloat this process.
MAX_PACKET_BYTES = MAX_PAYLOAD_BYTES + 4096

may_log = OncePerMinute()


def subscription_topic(prefix):
    return f"$share/{SHARE_GROUP}/{prefix}/+/telemetry"


@dataclass(frozen=True)
class Source:
    """A kind of sensor message the consumer takes: how it is parsed and what it keeps.

    `stores_retained`: whether a broker's retained copy is a reading. A native sensor
    publishes each reading once; its retained copy, replayed to every new subscription
    (Mosquitto 2.0 does so for shared subscriptions too), is a reading already stored
    live, or one without `ts` that would be stored again, with a new time, at every
    consumer start. So the native source ignores them (counted as `retained`).
    """

    name: str
    parse: Callable[[str, bytes | bytearray, str, datetime], SourceResult]
    stores_retained: bool

    def parse_message(self, message: mqtt.MQTTMessage, prefix: str, now: datetime) -> SourceResult:
        """What one message holds; never raises: a parser failure is an `unparseable` rejection."""
        topic = message.topic
        if message.retain and not self.stores_retained:
            return SourceResult(device_from_topic(topic, prefix), [], Counter(retained=1))
        try:
            return self.parse(topic, message.payload, prefix, now)
        except Exception:
            if may_log(("unparseable", self.name)):
                log.exception("ingest: the %s parser failed on a message on %.100r; rejected", self.name, topic)
            return SourceResult(device_from_topic(topic, prefix), [], Counter(unparseable=1))


NATIVE = Source("native", parse_message, stores_retained=False)


class Slot:
    """An exclusive lock on `<instance>/mqtt-slots/<n>.lock`, held while the process runs."""

    def __init__(self, directory):
        os.makedirs(directory, exist_ok=True)
        for number in range(MAX_SLOTS):
            handle = open(os.path.join(directory, f"{number}.lock"), "a")  # noqa: SIM115  (held open)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            self.number, self.handle = number, handle
            return
        raise RuntimeError(f"all {MAX_SLOTS} MQTT client slots in {directory} are taken")

    def release(self):
        self.handle.close()


def client_id(slot_number):
    host = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname())[:40]
    return f"plantops-{host}-{slot_number}"


class Consumer:
    def __init__(self, config: dict, state: ConsumerState, inbox: queue.Queue, client_id: str) -> None:
        self.prefix = config["MQTT_TOPIC_PREFIX"]
        self.host, self.port = config["MQTT_HOST"], config["MQTT_PORT"]
        self.state = state
        self.inbox = inbox
        self.client_id = client_id
        self.generation = 0
        self.closing = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if config.get("MQTT_USERNAME"):
            self.client.username_pw_set(config["MQTT_USERNAME"], config.get("MQTT_PASSWORD"))
        if config.get("MQTT_TLS"):
            self.client.tls_set()
        self.client.reconnect_delay_set(RECONNECT_MIN_DELAY, RECONNECT_MAX_DELAY)
        self.client.on_connect = self.on_connect
        self.client.on_disconnect = self.on_disconnect
        self.client.on_message = self.on_message

    def start(self):
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = SESSION_EXPIRY_SECONDS
        properties.ReceiveMaximum = QUEUE_MESSAGES
        properties.MaximumPacketSize = MAX_PACKET_BYTES
        self.client.connect_async(
            self.host, self.port, keepalive=KEEPALIVE_SECONDS, clean_start=False, properties=properties
        )
        self.client.loop_start()

    def on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.warning("ingest: broker %s:%s refused the connection: %s", self.host, self.port, reason_code)
            return
        if not flags.session_present:
            # A new session: message ids of the old one mean nothing to the broker now.
            self.generation += 1
        client.subscribe(subscription_topic(self.prefix), qos=1)
        with self.state.lock:
            self.state.connected = True
        log.info("ingest: connected to %s:%s (session resumed: %s)", self.host, self.port, flags.session_present)

    def on_disconnect(self, client, userdata, flags, reason_code, properties):
        with self.state.lock:
            self.state.connected = False
        if not self.closing.is_set():
            log.warning("ingest: lost the broker (%s); reconnecting", reason_code)

    def on_message(self, client, userdata, message):
        """Parse and enqueue. Never raises: an exception here would stop paho's loop."""
        if self.closing.is_set():
            return  # not acknowledged: the broker redelivers it to this session later
        taken = False
        try:
            result = NATIVE.parse_message(message, self.prefix, utcnow())
            now = self.state.took()
            taken = True
            delivery = Delivery(
                message.topic,
                message.mid,
                message.qos,
                self.generation,
                result,
                now,
                namespace="",
                source=NATIVE.name,
                payload=message.payload,
            )
            while not self.closing.is_set():
                try:
                    self.inbox.put(delivery, timeout=0.5)
                    return
                except queue.Full:
                    continue
            self.state.settled(1)  # closing: given back unacknowledged, for the next session
        except Exception:
            if may_log(("unhandled", None)):
                log.exception("ingest: a message could not be handled; rejected")
            self.reject_now(message, taken)

    def reject_now(self, message, taken):
        """Acknowledge and count a message the callback could not pass on to the writer."""
        if message.qos:
            self.client.ack(message.mid, message.qos)
        with self.state.lock:
            self.state.rejected["unparseable"] += 1
        if taken:
            self.state.settled(1)

    def acknowledge(self, deliveries):
        """Acknowledge the messages of a committed batch (called by the writer thread)."""
        generation = self.generation
        for delivery in deliveries:
            if delivery.qos and delivery.generation == generation:
                self.client.ack(delivery.mid, delivery.qos)
        self.state.settled(len(deliveries))

    def stop(self):
        self.closing.set()
        self.client.disconnect()
        self.client.loop_stop()
        with self.state.lock:
            self.state.connected = False


class Ingest:
    """A process's consumer and writer, started and stopped together."""

    def __init__(self, app, state: ConsumerState) -> None:
        self.slot = Slot(os.path.join(app.instance_path, "mqtt-slots"))
        self.state = state
        self.inbox: queue.Queue[Delivery] = queue.Queue(maxsize=QUEUE_MESSAGES)
        self.consumer = Consumer(app.config, self.state, self.inbox, client_id(self.slot.number))
        self.writer = BatchWriter(app, self.inbox, self.consumer.acknowledge, self.state)

    def start(self) -> None:
        self.writer.start()
        self.consumer.start()
        log.info("ingest: consumer %s started", self.consumer.client_id)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking messages, store and acknowledge what was taken, then disconnect.

        Messages that arrive meanwhile stay unacknowledged in this session;
        the broker hands them to whichever process resumes it.
        """
        self.consumer.closing.set()
        self.writer.stop(timeout)
        self.consumer.stop()
        self.slot.release()
        log.info("ingest: consumer %s stopped", self.consumer.client_id)
