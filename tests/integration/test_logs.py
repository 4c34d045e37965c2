"""LOG_FORMAT=json: one JSON object a line, request ids, a line per request, no secrets."""

import json
import logging

import pytest

from ..conftest import TEST_SECRET_KEY


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_json_request_line_carries_request_id_status_and_duration_but_no_query(make_app, capsys):
    app = make_app(LOG_FORMAT="json")
    client = app.test_client()

    response = client.get("/api/health/live?token=hunter2-in-a-url", headers={"X-Request-ID": "req-from-lb-42"})

    assert response.headers["X-Request-ID"] == "req-from-lb-42"
    lines = [e for e in json_lines(capsys.readouterr().err) if e["logger"] == "app.access"]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == "req-from-lb-42"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/health/live", 200)
    assert line["duration_ms"] >= 0
    assert "hunter2" not in json.dumps(line)


def test_text_format_writes_no_request_lines(make_app, capsys):
    app = make_app(LOG_FORMAT="text")
    app.test_client().get("/api/health/live")
    assert "app.access" not in capsys.readouterr().err


def test_log_lines_inside_a_request_carry_its_id(make_app, capsys):
    app = make_app(LOG_FORMAT="json")

    @app.get("/test-log")
    def log_something():
        logging.getLogger("app.test").warning("watering %s", "basil")
        return "ok"

    app.test_client().get("/test-log", headers={"X-Request-ID": "abc-123"})

    entry = next(e for e in json_lines(capsys.readouterr().err) if e["logger"] == "app.test")
    assert entry == {**entry, "level": "WARNING", "message": "watering basil", "request_id": "abc-123"}


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_configured_secrets_never_reach_a_log_line(make_app, capsys, log_format):
    make_app(LOG_FORMAT=log_format, MQTT_PASSWORD="mqtt-pass-Xy7", DISCORD_WEBHOOK_URL="https://discord.test/hook/abc")
    log = logging.getLogger("app.test")

    log.error("secret %s and mqtt %s", TEST_SECRET_KEY, "mqtt-pass-Xy7")
    try:
        raise RuntimeError("posting to https://discord.test/hook/abc failed")
    except RuntimeError:
        log.exception("delivery failed")

    err = capsys.readouterr().err
    assert TEST_SECRET_KEY not in err
    assert "mqtt-pass-Xy7" not in err
    assert "discord.test/hook/abc" not in err
    assert err.count("[redacted]") >= 3
    if log_format == "json":
        assert [e["level"] for e in json_lines(err) if e["logger"] == "app.test"] == ["ERROR", "ERROR"]
