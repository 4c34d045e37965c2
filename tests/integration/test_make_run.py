"""`make run`, as a gardener types it: migrations, a broker from deploy/mosquitto.conf when none
listens, and gunicorn with gunicorn.conf.py on the embedded defaults (SQLite in the instance
folder), answering /api/health with the broker connected."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from ..fixtures.services import free_port

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
    except OSError:
        return False
    return True


def health(base: str) -> tuple[int, dict, dict]:
    with urllib.request.urlopen(base + "/api/health", timeout=5) as response:
        return response.status, dict(response.headers), json.loads(response.read())


def wait_for(condition, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout} s; make run said:\n{log.read_text()[-3000:]}")


@pytest.fixture
def make_run(tmp_path):
    """`make run` on free ports with a fresh instance folder; yields (base url, mqtt port, log,
    instance folder, make's process)."""
    port, mqtt_port = free_port(), free_port()
    instance = tmp_path / "instance"
    log_path = tmp_path / "make-run.log"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PLANTOPS_INSTANCE_PATH": str(instance),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
    }
    with open(log_path, "w") as log:
        # -o: the shared virtualenv is installed already; make must not reinstall it.
        process = subprocess.Popen(
            ["make", "--no-print-directory", "-o", ".venv/.installed", "run", f"PORT={port}", f"MQTT_PORT={mqtt_port}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield f"http://127.0.0.1:{port}", mqtt_port, log_path, instance, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def test_make_run_serves_gunicorn_with_its_own_broker_on_the_embedded_defaults(make_run):
    base, mqtt_port, log, instance, _ = make_run

    status, headers, body = wait_for(
        lambda: (result := health(base)) and result[2]["checks"]["mqtt"]["status"] == "connected" and result,
        90,
        "/api/health answering with the broker connected",
        log,
    )

    assert status == 200
    assert body["status"] == "ok"
    assert headers["Server"].startswith("gunicorn")  # not Werkzeug's debug server
    assert (instance / "plantops.db").is_file()  # migrated SQLite in the instance folder
    output = log.read_text()
    assert f"make: started Mosquitto (deploy/mosquitto.conf) on 127.0.0.1:{mqtt_port}" in output
    assert f"PlantOps: {base}" in output
    assert "users create you@example.com --admin" in output
    with urllib.request.urlopen(base + "/auth/register", timeout=5) as page:
        assert page.status == 200


def test_stopping_make_run_stops_the_broker_it_started(make_run):
    base, mqtt_port, log, _, process = make_run
    wait_for(lambda: port_open(mqtt_port) and health(base)[0] == 200, 90, "make run serving", log)

    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in the terminal

    process.wait(timeout=60)
    wait_for(lambda: not port_open(mqtt_port), 30, "the broker gone after make run stopped", log)
    assert not port_open(int(base.rsplit(":", 1)[1]))
