import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from app import __version__
from app.api.health import READINESS_BUDGET_SECONDS
from app.workers import background_services


def test_health_reports_database_and_disabled_mqtt(client):
    response = client.get("/api/health")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["version"] == __version__
    assert datetime.strptime(body["timestamp"], "%Y-%m-%dT%H:%M:%SZ")
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["database"]["latency_ms"] >= 0
    assert body["checks"]["mqtt"] == {"status": "disabled", "last_message_age_s": None}
    assert response.headers["Cache-Control"] == "no-store"


def test_health_head_answers_without_body(client):
    response = client.head("/api/health")
    assert response.status_code == 200
    assert response.data == b""


def test_health_is_degraded_when_mqtt_enabled_but_disconnected(app, client):
    state = background_services(app).consumer_state
    state.enabled, state.connected = True, False

    body = client.get("/api/health").get_json()

    assert body["status"] == "degraded"
    assert body["checks"]["mqtt"]["status"] == "disconnected"


def test_health_is_ok_when_mqtt_connected(app, client):
    state = background_services(app).consumer_state
    state.enabled, state.connected = True, True
    assert client.get("/api/health").get_json()["checks"]["mqtt"]["status"] == "connected"


@pytest.mark.parametrize(
    "database_url",
    [
        "postgresql://nobody:hunter2secret@127.0.0.1:1/nowhere",
        "sqlite:////nonexistent-dir/hunter2secret/plantops.db",
    ],
)
def test_health_is_503_when_database_unreachable_and_leaks_nothing(make_app, database_url):
    app = make_app(DATABASE_URL=database_url)
    response = app.test_client().get("/api/health")

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "error"
    assert body["checks"]["database"]["status"] == "error"
    assert "hunter2secret" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_liveness_needs_no_database(make_app):
    app = make_app(DATABASE_URL="postgresql://nobody@127.0.0.1:1/nowhere")
    response = app.test_client().get("/api/health/live")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_health_needs_no_login_and_sets_request_id(client):
    response = client.get("/api/health", headers={"X-Request-ID": "lb-check-42"})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "lb-check-42"


def silent_database_url(server):
    return f"postgresql://plantops@127.0.0.1:{server.port}/plantops"


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_health_is_503_within_the_budget_when_the_database_accepts_and_never_answers(make_app, silent_server):
    client = make_app(DATABASE_URL=silent_database_url(silent_server)).test_client()

    response, seconds = timed(lambda: client.get("/api/health"))

    assert response.status_code == 503
    assert response.get_json()["checks"]["database"]["status"] == "error"
    assert READINESS_BUDGET_SECONDS <= seconds < READINESS_BUDGET_SECONDS + 0.5


def test_concurrent_probes_of_a_silent_database_share_one_check_and_liveness_stays_fast(make_app, silent_server):
    app = make_app(DATABASE_URL=silent_database_url(silent_server))
    with ThreadPoolExecutor(max_workers=10) as pool:
        probes = [pool.submit(timed, lambda: app.test_client().get("/api/health")) for _ in range(8)]
        time.sleep(0.3)
        live = [timed(lambda: app.test_client().get("/api/health/live")) for _ in range(5)]
        answers = [probe.result(timeout=10) for probe in probes]

    assert [response.status_code for response, _ in answers] == [503] * 8
    assert max(seconds for _, seconds in answers) < READINESS_BUDGET_SECONDS + 0.5
    assert len(silent_server.accepted) == 1
    assert [response.status_code for response, _ in live] == [200] * 5
    assert max(seconds for _, seconds in live) < 0.2


def test_a_probe_after_the_budget_answers_at_once_while_the_check_still_hangs(make_app, silent_server):
    client = make_app(DATABASE_URL=silent_database_url(silent_server), DATABASE_CONNECT_TIMEOUT=10).test_client()
    client.get("/api/health")

    response, seconds = timed(lambda: client.get("/api/health"))

    assert response.status_code == 503
    assert seconds < 0.2
    assert len(silent_server.accepted) == 1


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_every_probe_method_checks_the_database(make_app, method):
    client = make_app(DATABASE_URL="postgresql://nobody@127.0.0.1:1/nowhere").test_client()
    assert client.open("/api/health", method=method).status_code == 503


def test_options_probe_answers_like_get_when_healthy(client):
    response = client.options("/api/health")
    assert response.status_code == 200
    assert response.get_json()["checks"]["database"]["status"] == "ok"
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
