"""Logging with a request id on every line; JSON lines when LOG_FORMAT=json.

With LOG_FORMAT=json the app also writes one `app.access` line per request
(method, path without its query string, status, duration, request id) and
gunicorn's own access log is off (gunicorn.conf.py), so a log shipper reads one
format. Configured secrets never reach a line: they are replaced by
`[redacted]` wherever they appear.
"""

import json
import logging
import re
import secrets
import time

from flask import g, has_request_context, request

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
REDACTED = "[redacted]"
SECRET_SETTINGS = ("SECRET_KEY", "MQTT_PASSWORD", "DISCORD_WEBHOOK_URL")

access_log = logging.getLogger("app.access")


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


class RedactFilter(logging.Filter):
    """Replace known secret values in the message and its arguments."""

    def __init__(self, values):
        super().__init__()
        self.values = sorted({v for v in values if v and len(v) >= 6}, key=len, reverse=True)

    def filter(self, record):
        if self.values:
            message = record.getMessage()
            for value in self.values:
                message = message.replace(value, REDACTED)
            record.msg, record.args = message, None
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            for value in self.values:
                record.exc_text = record.exc_text and record.exc_text.replace(value, REDACTED)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info or record.exc_text:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level, log_format):
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"))
    root = logging.getLogger("app")
    root.handlers[:] = [handler]
    root.setLevel(level)


def init_app(app):
    """Redact this app's secrets from every line; log each request when the format is JSON."""
    secret_values = [app.config.get(name) for name in SECRET_SETTINGS]
    secret_values += [_url_password(app.config["SQLALCHEMY_DATABASE_URI"])]
    for handler in logging.getLogger("app").handlers:
        handler.addFilter(RedactFilter(secret_values))
    if app.config["LOG_FORMAT"] == "json":
        app.before_request(_start_timer)
        app.after_request(_log_request)


def assign_request_id():
    """Keep a sane incoming X-Request-ID (from a load balancer), else make one."""
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if REQUEST_ID_PATTERN.match(incoming) else secrets.token_hex(8)


def _start_timer():
    g.request_started = time.perf_counter()


def _log_request(response):
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 2) if started else None
    fields = {
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "duration_ms": duration_ms,
        "remote_addr": request.remote_addr,
    }
    access_log.info("%s %s %s", request.method, request.path, response.status_code, extra={"fields": fields})
    return response


def _url_password(url):
    from sqlalchemy import make_url

    try:
        return make_url(url).password
    except ValueError:
        return None
