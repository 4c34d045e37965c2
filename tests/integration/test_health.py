from datetime import datetime

import pytest

from app import __version__
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
