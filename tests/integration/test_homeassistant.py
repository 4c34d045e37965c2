"""The Home Assistant publisher against the real broker on 127.0.0.1:1883: what a Home Assistant
subscribed to the discovery prefix and to the status topics sees, as plants are added, change,
go silent and are deleted. Each test has its own discovery and topic prefixes, and clears
every retained message it leaves."""

import json
import threading
import time
import uuid
from datetime import timedelta

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import delete, update

from app.clock import utcnow
from app.extensions import db
from app.integrations import homeassistant as publisher_module
from app.integrations.homeassistant import HomeAssistantPublisher
from app.models import Plant
from app.ownership import personal_garden_id
from app.workers import background_services
from tests.conftest import AuthActions, make_user
from tests.fixtures.services import free_port

BROKER = ("127.0.0.1", 1883)


class Watcher:
    """A Home Assistant stand-in: the retained state of every topic under the prefixes."""

    def __init__(self, *filters, port=BROKER[1]):
        self.filters = filters
        self.retained: dict[str, dict | str] = {}
        self.seen: list[tuple[str, bool]] = []  # (topic, cleared) in the order they came
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"ha-watch-{uuid.uuid4().hex[:8]}")
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.connect(BROKER[0], port)
        self.client.loop_start()
        self.client.subscribe([(f, 1) for f in filters])
        assert subscribed.wait(5)

    def _on_message(self, client, userdata, message):
        with self.lock:
            self.seen.append((message.topic, not message.payload))
            if not message.payload:
                self.retained.pop(message.topic, None)
                return
            text = message.payload.decode()
            try:
                self.retained[message.topic] = json.loads(text)
            except ValueError:
                self.retained[message.topic] = text

    def get(self, topic):
        with self.lock:
            return self.retained.get(topic)

    def topics(self):
        with self.lock:
            return set(self.retained)

    def wait_for(self, check, timeout=15.0, what="the messages"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if check(self.retained):
                    return
            time.sleep(0.05)
        with self.lock:
            raise AssertionError(f"timed out waiting for {what}; retained: {sorted(self.retained)}")

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def clear_retained(*filters):
    """Remove whatever a test left retained under its prefixes from the shared broker."""
    watcher = Watcher(*filters)
    time.sleep(0.3)
    for topic in watcher.topics():
        watcher.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
    watcher.close()


@pytest.fixture
def prefixes(monkeypatch):
    tag = uuid.uuid4().hex[:10]
    monkeypatch.setattr(publisher_module, "SYNC_TIMEOUT_SECONDS", 0.5)
    names = {"discovery": f"ha-test-{tag}", "topic": f"pt{tag}"}
    yield names
    clear_retained(f"{names['discovery']}/#", f"{names['topic']}/#")


@pytest.fixture
def ha_app(make_app, prefixes, tmp_path):
    def factory(instance="one", **env):
        settings = {
            "HOMEASSISTANT_DISCOVERY": "true",
            "HOMEASSISTANT_DISCOVERY_PREFIX": prefixes["discovery"],
            "MQTT_TOPIC_PREFIX": prefixes["topic"],
            "HOMEASSISTANT_POLL_SECONDS": "1",
            "MQTT_HOST": BROKER[0],
            "MQTT_PORT": str(BROKER[1]),
            "PUBLIC_URL": "https://plants.example.com",
        }
        settings.update(env)
        return make_app(config={"INSTANCE_PATH": str(tmp_path / instance)}, **settings)

    return factory


@pytest.fixture
def watcher(prefixes):
    w = Watcher(f"{prefixes['discovery']}/#", f"{prefixes['topic']}/status/#")
    yield w
    w.close()


@pytest.fixture
def publishers():
    started = []

    def start(app):
        publisher = HomeAssistantPublisher(app)
        publisher.start()
        started.append(publisher)
        return publisher

    yield start
    for publisher in started:
        publisher.stop(5)


def add_plant(app, name="Fern", email="gardener@example.com", **fields):
    user_id = make_user(app, email=email)
    values = {
        "last_reading_at": utcnow() - timedelta(minutes=2),
        "latest_soil_moisture": 41.2,
        "latest_temperature": 21.5,
        "soil_moisture_min": 30.0,
    }
    values.update(fields)
    with app.app_context():
        plant = Plant(garden_id=personal_garden_id(user_id), name=name, **values)
        db.session.add(plant)
        db.session.commit()
        return plant.id


def set_plant(app, plant_id, **values):
    """What the ingest writer does to a plant's latest state (it leaves updated_at alone)."""
    with app.app_context():
        db.session.execute(update(Plant).where(Plant.id == plant_id).values(**values))
        db.session.commit()


def delete_plant(app, plant_id):
    with app.app_context():
        db.session.execute(delete(Plant).where(Plant.id == plant_id))
        db.session.commit()


def topics_of(prefixes, plant_id):
    d, t = prefixes["discovery"], prefixes["topic"]
    return {
        "moisture": f"{d}/sensor/{t}_{plant_id}_soil_moisture/config",
        "temperature": f"{d}/sensor/{t}_{plant_id}_temperature/config",
        "status_entity": f"{d}/sensor/{t}_{plant_id}_status/config",
        "problem": f"{d}/binary_sensor/{t}_{plant_id}_problem/config",
        "status": f"{t}/status/{plant_id}",
    }


def test_a_plant_appears_changes_and_disappears_in_home_assistant(ha_app, watcher, publishers, prefixes):
    app = ha_app()
    plant_id = add_plant(app, name='Fern "Big" / Üñî 🌿')
    topics = topics_of(prefixes, plant_id)
    publishers(app)

    watcher.wait_for(lambda r: set(topics.values()) <= set(r), what="the plant's configs and status")
    moisture = watcher.get(topics["moisture"])
    assert moisture["device_class"] == "moisture"
    assert moisture["unit_of_measurement"] == "%"
    assert moisture["state_topic"] == topics["status"]
    assert moisture["device"]["name"] == 'Fern "Big" / Üñî 🌿'
    assert watcher.get(topics["problem"])["device_class"] == "problem"
    status = watcher.get(topics["status"])
    assert status["status"] == "ok"
    assert status["metrics"]["soil_moisture"] == {"value": 41.2, "unit": "%", "label": "Soil moisture"}
    assert watcher.get(f"{prefixes['topic']}/status") == "online"
    # No light was ever reported: no light sensor.
    assert not any("_light/" in t for t in watcher.topics())

    set_plant(app, plant_id, latest_soil_moisture=12.0, latest_light=900.0, last_reading_at=utcnow())
    watcher.wait_for(lambda r: r.get(topics["status"], {}).get("status") == "alert", what="the alert")
    status = watcher.get(topics["status"])
    assert status["problems"] == ["soil_moisture_low"]
    assert status["metrics"]["soil_moisture"]["value"] == 12.0
    watcher.wait_for(lambda r: f"{prefixes['discovery']}/sensor/{prefixes['topic']}_{plant_id}_light/config" in r)

    delete_plant(app, plant_id)
    watcher.wait_for(lambda r: not any(f"_{plant_id}_" in t or t == topics["status"] for t in r), what="the clear")
    # Home Assistant reads a config before its state and loses the entity before its state empties.
    mine = set(topics.values())
    first_sent = [t for t, cleared in watcher.seen if t in mine and not cleared]
    assert first_sent.index(topics["status"]) == len(mine) - 1
    order_cleared = [t for t, cleared in watcher.seen if t in mine and cleared]
    assert order_cleared[-1] == topics["status"]
    # A Home Assistant that starts now finds nothing left of the plant.
    late = Watcher(f"{prefixes['discovery']}/#", f"{prefixes['topic']}/status/+")
    time.sleep(0.5)
    assert late.topics() == set()
    late.close()


def test_a_plant_that_goes_silent_turns_stale(ha_app, watcher, publishers, prefixes, clock):
    app = ha_app()
    plant_id = add_plant(app, stale_after_minutes=30)
    status_topic = topics_of(prefixes, plant_id)["status"]
    publishers(app)
    watcher.wait_for(lambda r: r.get(status_topic, {}).get("status") == "ok")

    clock.shift(timedelta(minutes=31))

    watcher.wait_for(lambda r: r.get(status_topic, {}).get("status") == "stale", what="stale")
    assert watcher.get(status_topic)["problems"] == ["stale"]


def test_a_restart_sends_nothing_unchanged_and_clears_what_was_deleted_meanwhile(ha_app, watcher, publishers, prefixes):
    app = ha_app()
    kept, deleted = add_plant(app, name="Kept"), add_plant(app, name="Gone", email="other@example.com")
    first = publishers(app)
    watcher.wait_for(lambda r: topics_of(prefixes, deleted)["status"] in r and topics_of(prefixes, kept)["status"] in r)
    first.stop(5)
    watcher.wait_for(lambda r: r.get(f"{prefixes['topic']}/status") == "offline", what="offline")

    delete_plant(app, deleted)
    second = publishers(app)

    watcher.wait_for(lambda r: not any(f"_{deleted}_" in t for t in r), what="the deleted plant's configs to clear")
    watcher.wait_for(lambda r: topics_of(prefixes, deleted)["status"] not in r)
    watcher.wait_for(lambda r: r.get(f"{prefixes['topic']}/status") == "online")
    assert set(topics_of(prefixes, kept).values()) <= watcher.topics()
    assert second.published == 0  # the kept plant's messages were already there
    assert second.cleared == 5  # moisture, temperature, status and problem configs, and the status


def test_two_publishers_agree_and_one_leaving_keeps_the_entities_available(ha_app, watcher, publishers, prefixes):
    one, two = ha_app("one"), ha_app("two")  # two hosts (instance folders) on one database
    plant_id = add_plant(one)
    first, second = publishers(one), publishers(two)
    watcher.wait_for(lambda r: topics_of(prefixes, plant_id)["status"] in r)
    deadline = time.monotonic() + 10
    while not (first.snapshot()["synced"] and second.snapshot()["synced"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)  # a round each, at least
    sent = first.published + second.published
    assert 5 <= sent <= 10  # each message by whichever came first, or by both in the same moment
    time.sleep(1.5)
    assert first.published + second.published == sent  # then neither sends it again

    first.stop(5)  # publishes "offline", which the other answers
    watcher.wait_for(lambda r: r.get(f"{prefixes['topic']}/status") == "online", what="online again")
    set_plant(one, plant_id, latest_soil_moisture=5.0)
    watcher.wait_for(lambda r: r.get(topics_of(prefixes, plant_id)["status"], {}).get("status") == "alert")


def test_processes_on_one_host_publish_once(ha_app, publishers):
    app = ha_app("shared")
    first, second = publishers(app), publishers(ha_app("shared"))
    time.sleep(0.5)
    assert [first.snapshot()["publishing"], second.snapshot()["publishing"]] == [True, False]
    first.stop(5)
    deadline = time.monotonic() + 5
    while not second.snapshot()["publishing"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert second.snapshot()["publishing"]


def test_only_the_listed_users_plants_are_published(ha_app, watcher, publishers, prefixes):
    app = ha_app(HOMEASSISTANT_USERS="Home@Example.com")
    mine = add_plant(app, email="home@example.com")
    theirs = add_plant(app, email="lodger@example.com")
    publishers(app)

    watcher.wait_for(lambda r: topics_of(prefixes, mine)["status"] in r)
    time.sleep(1.5)
    assert not any(f"_{theirs}_" in t or t.endswith(f"/status/{theirs}") for t in watcher.topics())


def test_the_background_services_run_it_only_when_enabled(ha_app, make_app):
    enabled = ha_app()
    services = background_services(enabled)
    services.start()
    try:
        assert services.homeassistant is not None
        assert services.status()["Home Assistant"] is services.homeassistant
    finally:
        services.stop(5)
    assert services.homeassistant is None

    disabled_app = make_app()
    disabled = background_services(disabled_app)
    disabled.start()
    try:
        assert disabled.homeassistant is None
        assert "Home Assistant" not in disabled.status()
    finally:
        disabled.stop(5)


@pytest.mark.parametrize("broker", ["absent", "silent"])
def test_a_slow_or_absent_broker_blocks_nothing(ha_app, publishers, silent_server, broker):
    port = free_port() if broker == "absent" else silent_server.port
    app = ha_app(MQTT_PORT=str(port))
    add_plant(app)
    publisher = publishers(app)
    client = app.test_client()

    rounds = []
    for _ in range(5):
        assert client.get("/api/health").status_code in (200, 503)
        started = time.monotonic()
        publisher.run_once()
        rounds.append(time.monotonic() - started)
    assert max(rounds) < 0.5, rounds
    assert not publisher.snapshot()["connected"]
    started = time.monotonic()
    publisher.stop(5)
    assert time.monotonic() - started < 3.0


def test_home_assistant_coming_online_gets_everything_again(ha_app, watcher, publishers, prefixes):
    app = ha_app()
    plant_id = add_plant(app)
    publisher = publishers(app)
    watcher.wait_for(lambda r: topics_of(prefixes, plant_id)["status"] in r)
    deadline = time.monotonic() + 5
    while publisher.published < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    sent = publisher.published
    time.sleep(1.5)
    assert publisher.published == sent  # nothing changed: nothing sent

    birth = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    birth.connect(*BROKER)
    birth.loop_start()
    birth.publish(f"{prefixes['discovery']}/status", "online", qos=1).wait_for_publish(5)
    birth.disconnect()
    birth.loop_stop()

    deadline = time.monotonic() + 5
    while publisher.published < sent + 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert publisher.published == sent + 5


def test_the_operator_sees_what_the_publisher_did(ha_app, watcher, prefixes):
    app = ha_app()
    plant_id = add_plant(app)  # the first account: the administrator
    client = app.test_client()
    assert AuthActions(app, client).login().status_code == 303
    services = background_services(app)
    services.start()
    try:
        watcher.wait_for(lambda r: topics_of(prefixes, plant_id)["status"] in r)
        deadline = time.monotonic() + 5
        while services.homeassistant.published < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        page = client.get("/admin").get_data(as_text=True)
    finally:
        services.stop(5)

    section = page[page.index("Home Assistant") :]
    assert "<dt>published</dt><dd>5</dd>" in section
    assert "<dt>connected</dt><dd>yes</dd>" in section


def test_a_broker_that_lost_its_retained_messages_gets_them_back(ha_app, publishers, mosquitto, prefixes):
    app = ha_app(MQTT_PORT=str(mosquitto.port))  # a broker without persistence, restarted below
    plant_id = add_plant(app)
    status_topic = topics_of(prefixes, plant_id)["status"]
    publisher = publishers(app)
    before = Watcher(f"{prefixes['discovery']}/#", f"{prefixes['topic']}/status/#", port=mosquitto.port)
    before.wait_for(lambda r: status_topic in r)
    before.close()

    mosquitto.stop()
    mosquitto.start()

    after = Watcher(f"{prefixes['discovery']}/#", f"{prefixes['topic']}/status/#", port=mosquitto.port)
    try:
        after.wait_for(lambda r: set(topics_of(prefixes, plant_id).values()) <= set(r), timeout=30, what="republish")
        assert after.get(status_topic)["status"] == "ok"
        assert after.get(f"{prefixes['topic']}/status") == "online"
    finally:
        after.close()
    assert publisher.snapshot()["connected"]
