"""The Home Assistant publisher: a background thread that keeps the broker's retained discovery
configs and plant statuses equal to the database (HOMEASSISTANT_DISCOVERY=true).

Every HOMEASSISTANT_POLL_SECONDS it reads the plants in one query, builds each plant's
messages (app/domain/homeassistant.py) and publishes, retained at QoS 1, only those that
differ from what the broker holds; topics of plants that are gone get an empty retained
payload, which removes the entity from Home Assistant. What the broker holds is learnt by
subscribing to those very topics: the retained copies arrive after each (re)connect, and every
later publish, ours or another process's, comes back live. So a restart or a second publisher
never re-sends an unchanged message, and a plant deleted while PlantOps was down is cleared at
the next start. Time alone changes a status (a plant turning stale), which is why it polls
instead of waiting for the writer.

Nothing else waits on it: requests and ingest never touch this client, and a slow or absent
broker only delays the next round. On one host one process publishes (an flock in the
instance folder, taken over by another process when its holder exits); publishers on several
hosts send the same retained messages, which is harmless.
"""

import contextlib
import fcntl
import logging
import os
import re
import socket
import threading
import time
import uuid
from typing import TextIO

import paho.mqtt.client as mqtt
from flask import Flask
from sqlalchemy import func, select

from ..clock import utcnow
from ..database import read_only
from ..domain.homeassistant import OFFLINE, ONLINE, PLANT_FIELDS, Settings, plant_messages
from ..domain.status import is_stale
from ..extensions import db
from ..models import GardenMember, Plant, User

log = logging.getLogger(__name__)

# After the SUBACK, the retained copies come first; the first live message (our own "online")
# marks their end. Without it (the broker refused a subscription), this long is taken as the end.
SYNC_TIMEOUT_SECONDS = 3.0
KEEPALIVE_SECONDS = 30
RECONNECT_MIN_DELAY, RECONNECT_MAX_DELAY = 1, 30
LOCK_FILE = "homeassistant.lock"


def settings_of(app: Flask) -> Settings:
    return Settings(
        discovery_prefix=app.config["HOMEASSISTANT_DISCOVERY_PREFIX"],
        topic_prefix=app.config["MQTT_TOPIC_PREFIX"],
        version=app.config.get("VERSION", ""),
        public_url=app.config["PUBLIC_URL"],
    )


class HostLock:
    """One publisher per host: a non-blocking flock, tried again every round until held."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.handle: TextIO | None = None

    def acquire(self) -> bool:
        if self.handle is not None:
            return True
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        handle = open(self.path, "a")  # noqa: SIM115  (held open while publishing)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self.handle = handle
        return True

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


class HomeAssistantPublisher:
    def __init__(self, app: Flask) -> None:
        self.app = app
        config = app.config
        self.settings = settings_of(app)
        self.interval = float(config["HOMEASSISTANT_POLL_SECONDS"])
        self.users = list(config["HOMEASSISTANT_USERS"])
        self.lock = HostLock(os.path.join(app.instance_path, LOCK_FILE))
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="homeassistant", daemon=True)
        self.state = threading.Lock()  # guards the fields below, shared with paho's thread
        self.connected = False
        self.synced = False
        self.subscribed_at: float | None = None
        self.held: dict[str, bytes] = {}  # topic -> payload the broker retains, for our topics
        self.force = False  # Home Assistant came online: send everything once
        self._built: dict[int, tuple[tuple, dict[str, bytes]]] = {}  # plant id -> (its row, its messages)
        # Figures for /admin.
        self.rounds = 0
        self.published = 0
        self.cleared = 0
        self.last_error: str | None = None

        host = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname())[:40]
        self.client_id = f"plantops-ha-{host}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5)
        if config.get("MQTT_USERNAME"):
            self.client.username_pw_set(config["MQTT_USERNAME"], config.get("MQTT_PASSWORD"))
        if config.get("MQTT_TLS"):
            self.client.tls_set()
        self.client.reconnect_delay_set(RECONNECT_MIN_DELAY, RECONNECT_MAX_DELAY)
        self.client.will_set(self.settings.availability_topic, OFFLINE, qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish
        self.host, self.port = config["MQTT_HOST"], config["MQTT_PORT"]
        self._client_started = False

    # The service interface of app/workers.py.

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        self.wake.set()
        self.thread.join(timeout)
        if self._client_started:
            with self.state:
                connected = self.connected
            if connected:
                # Other publishers answer this with their own "online" (see _on_message).
                info = self.client.publish(self.settings.availability_topic, OFFLINE, qos=1, retain=True)
                with contextlib.suppress(RuntimeError, ValueError):  # the connection went: the will says it
                    info.wait_for_publish(min(timeout, 2.0))
            self.client.disconnect()
            self.client.loop_stop()
            # A broker that accepted the connection and never answered it leaves paho's socket open.
            sock = self.client.socket()
            if sock is not None:
                sock.close()
        self.lock.release()

    def snapshot(self) -> dict[str, object]:
        """For /admin (app/admin/queries.py describe_state)."""
        with self.state:
            return {
                "publishing": self._client_started,  # no: another process on this host publishes
                "connected": self.connected,
                "synced": self.synced,
                "retained messages": len(self.held),
                "rounds": self.rounds,
                "published": self.published,
                "cleared": self.cleared,
                "last error": self.last_error,
            }

    # The loop.

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self.run_once()
            except Exception as error:  # the next round tries again; the thread must not die
                self.last_error = str(error)[:200]
                log.exception("home assistant publisher: a round failed")
            self.wake.wait(self.interval)
            self.wake.clear()

    def run_once(self) -> int:
        """One round; returns how many messages it sent (published or cleared)."""
        if not self._client_started:
            if not self.lock.acquire():
                return 0
            self.client.connect_async(self.host, self.port, keepalive=KEEPALIVE_SECONDS)
            self.client.loop_start()
            self._client_started = True
            log.info("home assistant publisher %s: connecting to %s:%s", self.client_id, self.host, self.port)
        if not self._ready():
            return 0
        desired = self._desired()
        with self.state:
            held = dict(self.held)
            force, self.force = self.force, False
        sent = 0
        # Configs before statuses: Home Assistant subscribes to a state topic when it reads the config.
        for topic in sorted(desired, key=lambda t: not t.endswith("/config")):
            payload = desired[topic]
            if force or held.get(topic) != payload:
                self._publish(topic, payload)
                self.published += 1
                sent += 1
        # Configs before statuses: the entities are gone before their state topic empties, so
        # Home Assistant never renders a template over an empty payload.
        for topic in sorted(set(held) - set(desired), key=lambda t: not t.endswith("/config")):
            self._publish(topic, b"")
            self.cleared += 1
            sent += 1
        self.rounds += 1
        if sent:
            log.info("home assistant publisher: %d messages sent", sent)
        return sent

    def _ready(self) -> bool:
        with self.state:
            if not self.connected:
                return False
            if not self.synced and self.subscribed_at is not None:
                self.synced = time.monotonic() - self.subscribed_at > SYNC_TIMEOUT_SECONDS
            return self.synced

    def _desired(self) -> dict[str, bytes]:
        now = utcnow()
        query = select(*(getattr(Plant, name) for name in PLANT_FIELDS))
        if self.users:
            members = select(GardenMember.garden_id).join(User, User.id == GardenMember.user_id)
            query = query.where(Plant.garden_id.in_(members.where(func.lower(User.email).in_(self.users))))
        with self.app.app_context(), read_only():
            rows = db.session.execute(query.order_by(Plant.id)).all()
            db.session.rollback()
        # A plant's messages change only with its row and with its staleness (the one way the
        # clock enters its status), so each is built again only when one of those changed.
        cache: dict[int, tuple[tuple, dict[str, bytes]]] = {}
        desired: dict[str, bytes] = {}
        for row in rows:
            key = (tuple(row), is_stale(row.last_reading_at, row.stale_after_minutes, now))
            cached = self._built.get(row.id)
            messages = cached[1] if cached is not None and cached[0] == key else plant_messages(row, now, self.settings)
            cache[row.id] = (key, messages)
            desired.update(messages)
        self._built = cache
        return desired

    def _publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1, retain=True)
        with self.state:
            if payload:
                self.held[topic] = payload
            else:
                self.held.pop(topic, None)

    # paho's callbacks (its network thread): bookkeeping only, never I/O on the database.

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            self.last_error = f"the broker refused the connection: {reason_code}"
            log.warning("home assistant publisher: %s", self.last_error)
            return
        with self.state:
            self.connected = True
            self.synced = False
            self.subscribed_at = None
            self.held.clear()  # learnt again from the retained copies
        client.subscribe([(topic, 1) for topic in self.settings.subscriptions()])
        log.info("home assistant publisher: connected to %s:%s", self.host, self.port)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        refused = [code for code in reason_codes if code.is_failure]
        if refused:
            self.last_error = f"the broker refused {len(refused)} subscriptions (ACL?): {refused[0]}"
            log.warning("home assistant publisher: %s", self.last_error)
        else:
            self.last_error = None  # connected and reading back: an earlier refusal is over
        with self.state:
            self.subscribed_at = time.monotonic()
        # Routed to us after the retained copies: its echo ends the sync.
        client.publish(self.settings.availability_topic, ONLINE, qos=1, retain=True)

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        if reason_code.is_failure:  # MQTT v5: the broker took the message but dropped it (ACL)
            self.last_error = f"the broker refused a message: {reason_code}"
            log.warning("home assistant publisher: %s", self.last_error)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        with self.state:
            self.connected = False
            self.synced = False
        if not self.stopping.is_set():
            log.warning("home assistant publisher: lost the broker (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message):
        """Never raises: an exception here would stop paho's loop."""
        try:
            topic, payload = message.topic, bytes(message.payload)
            settings = self.settings
            if topic == settings.birth_topic:
                if payload == ONLINE.encode():
                    with self.state:
                        self.force = True
                    self.wake.set()
                return
            if topic == settings.availability_topic:
                with self.state:
                    if not message.retain and self.subscribed_at is not None:
                        self.synced = True
                if payload == OFFLINE.encode() and not message.retain and not self.stopping.is_set():
                    # Another publisher left with its will: this one is still here.
                    client.publish(topic, ONLINE, qos=1, retain=True)
                if not message.retain:
                    self.wake.set()
                return
            if settings.owned_plant(topic) is None:
                return
            with self.state:
                if payload:
                    self.held[topic] = payload
                else:
                    self.held.pop(topic, None)
        except Exception:
            log.exception("home assistant publisher: a message could not be handled")
