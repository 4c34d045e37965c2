"""The MQTT consumer: one per process, on shared subscriptions, acknowledging after each commit.

It subscribes (`$share/plantops/...`, QoS 1) to every enabled source's filters, on the shared
base topics and under the per-user prefix `<prefix>/u/+/...`, one subscription identifier per
source and namespace kind. Each message is routed once (app/domain/sources/routing.py) to one
adapter; a copy that an overlapping filter of another source brought (its subscription
identifiers do not include the routed one) is acknowledged and dropped, and a topic of a
source that carries no readings (zigbee2mqtt's bridge, an advert of a phone) is acknowledged
at once without a count.

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
for it meanwhile. The broker goes on queueing an offline session's turn of the
shared stream until it expires; `retire_host` (`flask ingest --retire-host`)
takes what the sessions of a host that is gone for good hold and ends them.
"""

import contextlib
import fcntl
import logging
import os
import queue
import re
import socket
import struct
import threading
import time
from collections import Counter
from datetime import datetime

import paho.mqtt.client as mqtt
from paho.mqtt.client import PUBACK, sockpair_data
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from ..clock import utcnow
from ..domain.payload import MAX_PAYLOAD_BYTES
from ..domain.sources import SourceResult
from ..domain.sources.routing import ActiveSource, Route, Router, active_sources
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

# What a Delivery keeps of the payload, for the device's last payload (the writer shows 2,000
# characters): up to 5,000 queued messages must not hold 5,000 payloads of 384 KB.
LAST_PAYLOAD_BYTES = 8192

may_log = OncePerMinute()


class Client(mqtt.Client):
    """paho's client, with `ack_many`: a committed batch's PUBACKs queued with one wake-up of the
    network thread. paho's `ack` wakes it (a byte on its socket pair) for every packet, so each
    of a batch's 500 acknowledgements made the network thread wake, take the GIL and write one
    4-byte packet: a third of the writer thread's time and most of the network loop's.
    The packets are the ones `ack` queues (_send_command_with_mid, paho 2.2; checked by
    tests/unit/test_consumer_acks.py)."""

    def ack_many(self, mids: list[int]) -> None:
        """PUBACK each of these QoS 1 message ids (manual_ack)."""
        if not mids:
            return
        for mid in mids:
            packet = struct.pack("!BBH", PUBACK, 2, mid)
            self._out_packet.append(
                {"command": PUBACK, "mid": mid, "qos": 1, "pos": 0, "to_process": 4, "packet": packet, "info": None}
            )
        if self._sockpairW is not None:
            with contextlib.suppress(BlockingIOError):  # its buffer is full: the loop wakes anyway
                self._sockpairW.send(sockpair_data)
        self._call_socket_register_write()


def shared(filter_: str) -> str:
    return f"$share/{SHARE_GROUP}/{filter_}"


def parse_routed(route: Route, message: mqtt.MQTTMessage, now: datetime) -> SourceResult:
    """What one routed message holds; never raises: an adapter failure is an `unparseable` rejection.

    `stores_retained` (per adapter): whether a broker's retained copy, replayed at every new
    subscription (Mosquitto does so for shared subscriptions too; live messages arrive without
    the flag), is a reading. Sources whose messages carry their own time (Tasmota, Shelly)
    store it (the same (device, ts) again is stored once); the others skip it as `retained`.
    """
    adapter = route.source.adapter
    if message.retain and not adapter.stores_retained:
        return SourceResult(None, [], Counter(retained=1))
    try:
        payload = message.payload if isinstance(message.payload, bytes) else bytes(message.payload)
        return adapter.parse(route.topic, payload, now, route.source.options)
    except Exception:
        if may_log(("unparseable", route.source.name)):
            name = route.source.name
            log.exception("ingest: the %s adapter failed on a message on %.100r; rejected", name, message.topic)
        return SourceResult(None, [], Counter(unparseable=1))


def subscription_ids(message: mqtt.MQTTMessage) -> list[int]:
    properties = getattr(message, "properties", None)
    ids = getattr(properties, "SubscriptionIdentifier", None) if properties is not None else None
    if ids is None:
        return []
    return list(ids) if isinstance(ids, list | tuple) else [ids]


def load_sources(app) -> list[ActiveSource]:
    """The enabled sources: IngestSource rows over the defaults in code (app/domain/sources)."""
    prefix = app.config["MQTT_TOPIC_PREFIX"]
    try:
        from ..extensions import db
        from ..models import IngestSource

        with app.app_context():
            rows = {
                row.name: {"kind": row.kind, "enabled": row.enabled, "base_topic": row.base_topic,
                           "options": row.options or {}}
                for row in db.session.scalars(db.select(IngestSource))
            }  # fmt: skip
            db.session.remove()
    except Exception:
        log.exception("ingest: could not read the ingest sources; using the defaults")
        rows = {}
    return active_sources(prefix, rows)


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


def client_id(slot_number, hostname=None):
    host = re.sub(r"[^A-Za-z0-9_.-]", "-", hostname or socket.gethostname())[:40]
    return f"plantops-{host}-{slot_number}"


class Consumer:
    def __init__(
        self,
        config: dict,
        state: ConsumerState,
        inbox: queue.Queue,
        client_id: str,
        sources: list[ActiveSource] | None = None,
        retiring: bool = False,
    ) -> None:
        self.prefix = config["MQTT_TOPIC_PREFIX"]
        self.router = Router(self.prefix, sources if sources is not None else active_sources(self.prefix))
        self.host, self.port = config["MQTT_HOST"], config["MQTT_PORT"]
        self.state = state
        self.inbox = inbox
        self.client_id = client_id
        # Retiring: resume the session of a host that is gone, unsubscribe it from the group and
        # take what it holds; `stop` then ends the session (docs/architecture.md, "Several hosts").
        self.retiring = retiring
        self.session_found: bool | None = None  # retiring: whether the broker had the session
        self.resumed = threading.Event()  # retiring: the broker answered the connect
        self.generation = 0
        self.closing = threading.Event()
        self.client = Client(
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
        self.client.on_subscribe = self.on_subscribe
        self.pending_subscriptions: dict[int, str] = {}
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
        if self.retiring:
            if self.session_found is None:
                self.session_found = bool(flags.session_present)
            if flags.session_present:
                # The broker routes nothing new to the session; what it holds still comes.
                client.unsubscribe([shared(filter_) for _, filter_ in self.router.subscriptions()])
            with self.state.lock:
                self.state.connected = True
            self.resumed.set()
            log.info("ingest: resumed %s to retire it (session present: %s)", self.client_id, flags.session_present)
            return
        for identifier, filter_ in self.router.subscriptions():
            properties = Properties(PacketTypes.SUBSCRIBE)
            properties.SubscriptionIdentifier = identifier
            _, mid = client.subscribe([(shared(filter_), SubscribeOptions(qos=1))], properties=properties)
            self.pending_subscriptions[mid] = filter_
        with self.state.lock:
            self.state.connected = True
        log.info("ingest: connected to %s:%s (session resumed: %s)", self.host, self.port, flags.session_present)

    def on_subscribe(self, client, userdata, mid, reason_codes, properties):
        """A refused subscription (the broker's ACL, a filter it rejects) is logged: its source reads nothing."""
        filter_ = self.pending_subscriptions.pop(mid, "?")
        for reason_code in reason_codes:
            if reason_code.is_failure:
                log.warning("ingest: the broker refused the subscription to %s: %s", filter_, reason_code)

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
            route = self.router.route(message.topic)
            if route is None:
                self.reject_now(message, taken, "bad_topic")
                return
            ids = subscription_ids(message)
            if ids and route.subscription not in ids:
                # The copy an overlapping filter of another source brought: the routed one comes too.
                self.ack_now(message)
                return
            result = parse_routed(route, message, utcnow())
            if result.ignored:
                self.ack_now(message)
                return
            now = self.state.took()
            taken = True
            delivery = Delivery(
                message.topic, message.mid, message.qos, self.generation, result, now,
                namespace=route.namespace, source=route.source.adapter.kind,
                payload=message.payload[:LAST_PAYLOAD_BYTES],
            )  # fmt: skip
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

    def reject_now(self, message, taken, reason="unparseable"):
        """Acknowledge and count a message the callback could not pass on to the writer."""
        self.ack_now(message)
        with self.state.lock:
            self.state.rejected[reason] += 1
        if taken:
            self.state.settled(1)

    def ack_now(self, message):
        """Acknowledge a message that needs no commit (a source's topic without readings)."""
        if message.qos:
            self.client.ack(message.mid, message.qos)

    def acknowledge(self, deliveries):
        """Acknowledge the messages of a committed batch (called by the writer thread)."""
        generation = self.generation
        mids = []
        for delivery in deliveries:
            if delivery.qos and delivery.generation == generation:
                if delivery.qos == 1:
                    mids.append(delivery.mid)
                else:
                    self.client.ack(delivery.mid, delivery.qos)
        self.client.ack_many(mids)
        self.state.settled(len(deliveries))

    def stop(self):
        self.closing.set()
        if self.retiring:
            ending = Properties(PacketTypes.DISCONNECT)
            ending.SessionExpiryInterval = 0  # the broker deletes the session and its place in the group
            self.client.disconnect(properties=ending)
        else:
            self.client.disconnect()
        self.client.loop_stop()
        with self.state.lock:
            self.state.connected = False


class Ingest:
    """A process's consumer and writer, started and stopped together."""

    def __init__(self, app, state: ConsumerState, retire: str | None = None) -> None:
        """`retire`: the client id of a gone host's consumer, whose session this one takes and ends."""
        self.slot = None if retire else Slot(os.path.join(app.instance_path, "mqtt-slots"))
        self.state = state
        self.inbox: queue.Queue[Delivery] = queue.Queue(maxsize=QUEUE_MESSAGES)
        self.sources = load_sources(app)
        identifier = retire or client_id(self.slot.number if self.slot else 0)
        self.consumer = Consumer(app.config, self.state, self.inbox, identifier, self.sources, retiring=bool(retire))
        self.writer = BatchWriter(app, self.inbox, self.consumer.acknowledge, self.state)

    def start(self) -> None:
        self.writer.start()
        self.consumer.start()
        log.info(
            "ingest: consumer %s started (sources: %s)",
            self.consumer.client_id,
            ", ".join(source.name for source in self.sources),
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking messages, store and acknowledge what was taken, then disconnect.

        Messages that arrive meanwhile stay unacknowledged in this session;
        the broker hands them to whichever process resumes it.
        """
        self.consumer.closing.set()
        self.writer.stop(timeout)
        self.consumer.stop()
        if self.slot is not None:
            self.slot.release()
        log.info("ingest: consumer %s stopped", self.consumer.client_id)


def retire_host(app, hostname, idle_seconds=2.0, connect_timeout=10.0) -> list[tuple[str, ConsumerState]]:
    """End the broker sessions a host that is gone for good left in the shared group.

    Mosquitto keeps an offline member's persistent session in the group and goes on queueing
    its turn of new messages there, for the session expiry (24 hours). For each of the host's
    client ids in slot order, until one without a session: resume it, unsubscribe it, store and
    acknowledge what it holds until nothing has come for `idle_seconds`, then end it. Returns
    (client id, its consumer's state) for each session ended. Raises TimeoutError when the
    broker does not answer.
    """
    ended = []
    for slot in range(MAX_SLOTS):
        identifier = client_id(slot, hostname)
        state = ConsumerState(enabled=True)
        ingest = Ingest(app, state, retire=identifier)
        ingest.start()
        try:
            if not ingest.consumer.resumed.wait(connect_timeout):
                raise TimeoutError(f"the broker {app.config['MQTT_HOST']}:{app.config['MQTT_PORT']} did not answer")
            if not ingest.consumer.session_found:
                break
            quiet_since = state.clock()
            while True:
                with state.lock:
                    last, waiting = state.last_message_monotonic, state.unacknowledged
                quiet = state.clock() - max(quiet_since, last or 0.0)
                if quiet >= idle_seconds and waiting == 0:
                    break
                time.sleep(0.1)
        finally:
            ingest.stop()  # stores and acknowledges what was taken, then ends the session
        ended.append((identifier, state))
    return ended
