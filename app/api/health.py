"""Health endpoints for load balancers: no login, no secrets, bounded in time.

Readiness (`/api/health`, by GET, HEAD or OPTIONS: HAProxy's `option httpchk` sends
OPTIONS) answers within READINESS_BUDGET_SECONDS whatever the database does. The
database check runs on a thread of its own, every probe that arrives while it runs
shares it (single flight), and a probe that comes when the running check has already
outlived the budget answers 503 at once, so probes never pile up on a silent
database. Liveness (`/api/health/live`) touches neither the database nor anything
the check holds.
"""

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import Flask, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .. import __version__, workers
from ..database import read_only
from ..extensions import db
from ..ingest.state import DEGRADED_STATUSES
from . import bp

log = logging.getLogger(__name__)

READINESS_BUDGET_SECONDS = 2.0
UNANSWERED = {"status": "error", "latency_ms": None}


@dataclass
class _Check:
    started: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    result: dict = field(default_factory=lambda: UNANSWERED)


class DatabaseCheck:
    """`SELECT 1` on a thread of its own, one at a time per process, shared by concurrent probes."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._lock = threading.Lock()  # held only to read or replace `_current`, never during I/O
        self._current: _Check | None = None

    def result(self, budget: float) -> dict:
        """The running check's result, or a new check's; UNANSWERED past `budget` seconds from its start."""
        with self._lock:
            check = self._current
            if check is None or check.done.is_set():
                check = self._current = _Check()
                threading.Thread(target=self._run, args=(check,), name="plantops-health-db", daemon=True).start()
        remaining = check.started + budget - time.monotonic()
        if remaining > 0 and check.done.wait(remaining):
            return check.result
        log.warning("health: database check unanswered after %.1f s", budget)
        return UNANSWERED

    def _run(self, check: _Check) -> None:
        started = time.perf_counter()
        try:
            with self.app.app_context(), read_only(), db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            check.result = {"status": "ok", "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
        except SQLAlchemyError:
            log.warning("health: database unreachable")
        finally:
            check.done.set()


@bp.record_once
def set_up_database_check(state):
    state.app.extensions["plantops.database_check"] = DatabaseCheck(state.app)


@bp.get("/health/live")
def health_live():
    return jsonify(status="ok")


@bp.route("/health", methods=["GET", "OPTIONS"], provide_automatic_options=False)
def health():
    database = current_app.extensions["plantops.database_check"].result(READINESS_BUDGET_SECONDS)
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
    response.headers["Allow"] = "GET, HEAD, OPTIONS"
    return response
