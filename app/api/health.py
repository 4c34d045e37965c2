"""Health endpoints for load balancers: no login, no secrets, cheap."""

import time
from datetime import UTC, datetime

from flask import current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .. import __version__, workers
from ..extensions import db
from ..ingest.state import DEGRADED_STATUSES
from . import bp


@bp.get("/health/live")
def health_live():
    return jsonify(status="ok")


@bp.get("/health")
def health():
    started = time.perf_counter()
    try:
        db.session.execute(text("SELECT 1"))
        database = {"status": "ok", "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.warning("health: database unreachable")
        database = {"status": "error", "latency_ms": None}
    finally:
        db.session.close()

    mqtt = workers.background_services().consumer_state.health()
    if database["status"] != "ok":
        status, code = "error", 503
    elif mqtt["status"] in DEGRADED_STATUSES:
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    body = {
        "status": status,
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "version": __version__,
        "checks": {"database": database, "mqtt": mqtt},
    }
    response = jsonify(body)
    response.status_code = code
    response.headers["Cache-Control"] = "no-store"
    return response
