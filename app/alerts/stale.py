"""The periodic stale check: a sensor that stops sending raises no event of its own, so a
thread looks for silent plants every STALE_CHECK_SECONDS, with one query over plants."""

import logging
import threading
from datetime import UTC, datetime

from sqlalchemy import and_, select

from ..database import read_only
from ..domain.alerts import open_alert, resolve_alert
from ..domain.rules import STALE, minutes_silent
from ..domain.status import is_stale
from ..extensions import db
from ..models import Alert, Plant

log = logging.getLogger(__name__)

EXTENSION = "plantops.stale_check"
INTERVAL_SECONDS = 20.0


def stale_changes(session, now):
    """[(plant_id, open stale alert id or None)] of plants whose stale alert must open or resolve."""
    rows = session.execute(
        select(Plant.id, Plant.last_reading_at, Plant.stale_after_minutes, Alert.id)
        .outerjoin(Alert, and_(Alert.plant_id == Plant.id, Alert.problem == STALE, Alert.resolved_at.is_(None)))
        .where(Plant.last_reading_at.is_not(None))
        .order_by(Plant.id)  # the ingest writer locks plants in id order too
    )
    return [
        (plant_id, alert_id)
        for plant_id, last_reading_at, window, alert_id in rows
        if is_stale(last_reading_at, window, now) != (alert_id is not None)
    ]


def check_stale(session, now):
    """Open stale alerts for silent plants, resolve those whose data returned; returns (opened, resolved)."""
    opened = resolved = 0
    for plant_id, alert_id in stale_changes(session, now):
        if alert_id is None:
            plant = session.get(Plant, plant_id)
            silent = minutes_silent(plant.last_reading_at, now)
            opened += open_alert(session, plant, STALE, None, silent, plant.stale_after_minutes, now) is not None
        else:
            resolved += resolve_alert(session, session.get(Alert, alert_id), None, now)
    return opened, resolved


class StaleCheck:
    def __init__(self, app):
        self.app = app
        self.interval = app.config.get("STALE_CHECK_SECONDS", INTERVAL_SECONDS)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="stale-check", daemon=True)

    def _loop(self):
        while not self.stopping.wait(self.interval):
            try:
                self.run_once()
            except Exception:  # the next round tries again; the thread must not die
                log.exception("stale check failed")

    def run_once(self):
        """Read first; take the write lock only when something changes."""
        now = datetime.now(UTC)
        with self.app.app_context():
            with read_only():
                changes = stale_changes(db.session, now)
                db.session.rollback()
            if not changes:
                return
            opened, resolved = check_stale(db.session, now)
            db.session.commit()
            log.info("stale check: %d opened, %d resolved", opened, resolved)


def start_stale_check(app):
    check = StaleCheck(app)
    app.extensions[EXTENSION] = check
    check.thread.start()


def stop_stale_check(app, timeout=10.0):
    check = app.extensions.pop(EXTENSION, None)
    if check is not None:
        check.stopping.set()
        check.thread.join(timeout)
