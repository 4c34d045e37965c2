"""Where consumers start: once in the dev server's serving child, never in other commands."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.cli import FlaskGroup

from app.workers import BackgroundServices, background_services, start_if_dev_server
from tests import conftest
from tests.fixtures.services import free_port, wait_for_port

from .ingest_helpers import Publisher, claim, reading_count, wait_until

ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).parent / "flask")


def broker_connections(port):
    """Established TCP connections to 127.0.0.1:`port` (seen from the client side)."""
    target = f"0100007F:{port:04X}"
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[2] == target and fields[3] == "01":
                count += 1
    return count


@pytest.fixture
def process_env(migrated, tmp_path, mosquitto):
    env = {**os.environ, **conftest.test_env(migrated, MQTT_ENABLED="true", MQTT_PORT=mosquitto.port)}
    env["PLANTOPS_INSTANCE_PATH"] = str(tmp_path / "instance")
    env.pop("WERKZEUG_RUN_MAIN", None)
    return env


def spawn(env, *args):
    return subprocess.Popen(
        [FLASK, "--app", "wsgi", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def end(process):
    process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=15)[0].decode()
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()[0].decode()


@pytest.mark.slow
def test_dev_server_with_reloader_opens_one_broker_connection(process_env, mosquitto, make_app):
    app = make_app()
    claim(app, ["sensor-1"])
    port = free_port()
    server = spawn(process_env, "run", "--debug", "--port", str(port))
    try:
        wait_for_port(port, timeout=30)
        wait_until(lambda: broker_connections(mosquitto.port) >= 1, message="a broker connection")
        time.sleep(2)  # time for a second, wrong connection to show up
        assert broker_connections(mosquitto.port) == 1
        publisher = Publisher(mosquitto.port)
        publisher.send("sensor-1", {"temperature": 20})
        wait_until(lambda: reading_count(app) == 1, message="the reading stored by the dev server")
        publisher.close()
    finally:
        output = end(server)
    assert output.count("background workers started") == 1, output


@pytest.mark.slow
def test_flask_ingest_runs_the_consumer_in_the_foreground_until_sigterm(process_env, mosquitto, make_app):
    app = make_app()
    claim(app, ["sensor-1"])
    process = spawn(process_env, "ingest")
    publisher = Publisher(mosquitto.port)
    try:
        wait_until(lambda: broker_connections(mosquitto.port) >= 2, timeout=30, message="the consumer")
        publisher.send("sensor-1", {"temperature": 20})
        wait_until(lambda: reading_count(app) == 1, message="the reading")
    finally:
        publisher.close()
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=20)[0].decode()
    assert process.returncode == 0, output
    assert "1 readings stored" in output


@pytest.mark.slow
def test_other_commands_open_no_broker_connection(process_env, mosquitto):
    result = subprocess.run(
        [FLASK, "--app", "wsgi", "routes"], cwd=ROOT, env=process_env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "background workers started" not in result.stderr


def test_flask_ingest_refuses_when_mqtt_is_disabled(runner):
    result = runner.invoke(args=["ingest"])
    assert result.exit_code != 0
    assert "MQTT_ENABLED is false" in result.output


@pytest.mark.parametrize(
    ("args", "environ", "starts"),
    [
        (["run"], {}, True),
        (["run", "--no-reload"], {"FLASK_DEBUG": "1"}, True),
        (["run"], {"FLASK_DEBUG": "1"}, False),
        (["run", "--reload"], {}, False),
        (["run", "--reload"], {"WERKZEUG_RUN_MAIN": "true"}, True),
        (["run"], {"FLASK_DEBUG": "1", "WERKZEUG_RUN_MAIN": "true"}, True),
        (["routes"], {}, False),
        (["db", "upgrade"], {}, False),
    ],
)
def test_only_the_process_serving_flask_run_starts_workers(make_app, monkeypatch, args, environ, starts):
    """The reloader's watching parent and every other command start nothing."""
    for name in ("FLASK_DEBUG", "WERKZEUG_RUN_MAIN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    app = make_app()
    calls = []
    monkeypatch.setattr(BackgroundServices, "start", lambda services: calls.append(services.app))
    seen = []

    def create_app():
        seen.append(start_if_dev_server(app))
        return app

    group = FlaskGroup(create_app=create_app)
    monkeypatch.setattr("flask.cli.run_simple", lambda *a, **k: None)
    CliRunner().invoke(group, args, catch_exceptions=False)

    assert seen[:1] == [starts]
    assert calls == ([app] if starts else [])


def test_background_services_start_once_stop_once_and_report_what_runs(make_app, mosquitto):
    app = make_app(MQTT_ENABLED="true", MQTT_PORT=mosquitto.port)
    services = background_services(app)
    assert list(services.status().values()) == [services.consumer_state, None, None, None, None]

    services.start()
    try:
        running = services.status()
        services.start()  # a second start (e.g. post_worker_init after the dev-server hook) is a no-op
        assert services.status() == running
        assert all(running.values())
        wait_until(lambda: services.consumer_state.connected, message="consumer connected")
        assert broker_connections(mosquitto.port) == 1
    finally:
        services.stop()
    services.stop()
    assert not services.running
    assert services.status()["Ingest queue"] is None
    assert not running["Notifier"].threads[0].is_alive()
    assert not running["Stale check"].thread.is_alive()
