"""deploy/mosquitto-auth.conf on a real Mosquitto: no anonymous clients, sensors publish only
to their own topic, the app's account reads every sensor through a shared subscription."""

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from ..fixtures.services import free_port, wait_for_port

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
ACCOUNTS = {"plantops": "app-secret-1", "esp32-basil": "basil-secret-1"}


@pytest.fixture
def auth_broker():
    # Not pytest's tmp_path: its parent folders are private to the user running the tests.
    with tempfile.TemporaryDirectory(prefix="plantops-mqtt-") as folder:
        yield from serve_auth_broker(Path(folder))


def serve_auth_broker(tmp_path):
    port = free_port()
    passwd = tmp_path / "passwd"
    passwd.touch()
    for user, password in ACCOUNTS.items():
        subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, password], check=True, capture_output=True)
    passwd.chmod(0o600)
    shutil.copy(DEPLOY / "mosquitto" / "acl", tmp_path / "acl")
    give_to_mosquitto_user(tmp_path)
    config = (DEPLOY / "mosquitto-auth.conf").read_text()
    config = config.replace("/mosquitto/passwd/passwd", str(passwd))
    config = config.replace("/mosquitto/config/acl", str(tmp_path / "acl"))
    config = config.replace("/mosquitto/data/", f"{tmp_path}/")
    config = config.replace("listener 1883", f"listener {port} 127.0.0.1")
    (tmp_path / "mosquitto.conf").write_text(config)
    process = subprocess.Popen(
        [MOSQUITTO, "-c", str(tmp_path / "mosquitto.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def give_to_mosquitto_user(folder):
    """Started as root, mosquitto switches to the `mosquitto` user, who must read its files."""
    if os.geteuid() != 0:
        return
    try:
        account = pwd.getpwnam("mosquitto")
    except KeyError:
        return
    for path in (folder, *folder.iterdir()):
        os.chown(path, account.pw_uid, account.pw_gid)


def connect(port, username=None, password=None):
    """A connected client, or the connect reason code on refusal."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    if username:
        client.username_pw_set(username, password)
    result = {}
    done = threading.Event()

    def on_connect(_client, _userdata, _flags, reason_code, _properties):
        result["rc"] = reason_code
        done.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", port)
    client.loop_start()
    assert done.wait(5)
    if result["rc"].is_failure:
        client.loop_stop()
        return result["rc"]
    return client


def test_anonymous_and_wrong_passwords_are_refused(auth_broker):
    assert connect(auth_broker).is_failure
    assert connect(auth_broker, "esp32-basil", "wrong").is_failure


def test_sensor_publishes_to_its_own_topic_only_and_the_app_reads_it_shared(auth_broker):
    app = connect(auth_broker, "plantops", ACCOUNTS["plantops"])
    received = []
    subscribed = threading.Event()
    app.on_message = lambda _c, _u, message: received.append(message.topic)
    app.on_subscribe = lambda *args: subscribed.set()
    app.subscribe("$share/plantops/plantops/+/telemetry", qos=1)
    assert subscribed.wait(5)

    sensor = connect(auth_broker, "esp32-basil", ACCOUNTS["esp32-basil"])
    sensor.publish("plantops/esp32-basil/telemetry", b'{"soil_moisture": 2}', qos=1).wait_for_publish(5)
    forbidden = sensor.publish("plantops/esp32-other/telemetry", b'{"soil_moisture": 1}', qos=1)
    with contextlib.suppress(RuntimeError):  # refused with a PUBACK, or the broker drops the client
        forbidden.wait_for_publish(5)
    app.publish("plantops/done/telemetry", b"{}", qos=1).wait_for_publish(5)
    deadline = threading.Event()
    for _ in range(50):
        if "plantops/done/telemetry" in received:
            break
        deadline.wait(0.1)

    assert received == ["plantops/esp32-basil/telemetry", "plantops/done/telemetry"]
    for client in (app, sensor):
        client.disconnect()
        client.loop_stop()
