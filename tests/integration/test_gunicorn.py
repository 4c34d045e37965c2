"""gunicorn.conf.py serves the app from the repository with several workers."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .. import conftest
from ..fixtures.services import free_port

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"

pytestmark = pytest.mark.slow


def get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, dict(response.headers), response.read()


def wait_until_up(url, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return get(url)
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not come up")


def worker_pids(master_pid):
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return sorted(int(pid) for pid in children)


@pytest.fixture
def serve(migrated, instance_path, tmp_path):
    """Start gunicorn with gunicorn.conf.py; yields (base url, process, log path)."""
    processes = []

    def start(**env):
        port = free_port()
        log_path = tmp_path / f"gunicorn-{port}.log"
        environ = {
            "PATH": os.environ["PATH"],
            **conftest.test_env(migrated, LOG_LEVEL="INFO"),
            "PLANTOPS_INSTANCE_PATH": str(instance_path),
            "BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": "2",
            "GUNICORN_GRACEFUL_TIMEOUT": "10",
            **{k: str(v) for k, v in env.items()},
        }
        log = open(log_path, "w")  # noqa: SIM115  (closed by the fixture)
        process = subprocess.Popen(
            [str(GUNICORN), "--config", "gunicorn.conf.py"], cwd=ROOT, env=environ, stdout=log, stderr=log
        )
        processes.append((process, log))
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base + "/api/health/live")
        return base, process, log_path

    yield start
    for process, log in processes:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        log.close()


def test_gunicorn_serves_health_and_logs_request_ids_with_duration(serve):
    base, process, log_path = serve()

    status, headers, body = get(base + "/api/health", headers={"X-Request-ID": "lb-check-0001"})
    other_status, other_headers, _ = get(base + "/api/health/live")
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)

    assert status == 200
    assert b'"database"' in body
    assert headers["X-Request-ID"] == "lb-check-0001"
    assert other_status == 200
    log = log_path.read_text()
    line = next(line for line in log.splitlines() if "rid=lb-check-0001" in line)
    assert '"GET /api/health HTTP/1.1" 200' in line
    assert line.split("rid=")[0].rstrip().endswith("ms")
    assert f"rid={other_headers['X-Request-ID']}" in log
    assert log.count("background workers started") == 2
    assert log.count("background workers stopped") == 2
    assert process.returncode == 0


def test_gunicorn_replaces_a_killed_worker_and_keeps_serving(serve):
    base, process, _ = serve()
    first, second = worker_pids(process.pid)

    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (first in worker_pids(process.pid) or len(worker_pids(process.pid)) < 2):
        assert get(base + "/api/health")[0] == 200
        time.sleep(0.05)

    pids = worker_pids(process.pid)
    assert first not in pids
    assert second in pids
    assert len(pids) == 2


def test_json_log_format_writes_one_json_line_per_request_instead_of_gunicorns(serve):
    base, process, log_path = serve(LOG_FORMAT="json")

    get(base + "/api/health/live", headers={"X-Request-ID": "json-log-0001"})
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)

    entries = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    access = [e for e in entries if e["logger"] == "app.access" and e["request_id"] == "json-log-0001"]
    assert [(e["method"], e["path"], e["status"]) for e in access] == [("GET", "/api/health/live", 200)]
    assert access[0]["duration_ms"] >= 0
    assert "rid=" not in log_path.read_text()
