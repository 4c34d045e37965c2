"""The periodic stale check: a sensor that stops sending raises no event of its own, so a
thread looks for silent plants every STALE_CHECK_SECONDS, with one query over plants."""

import logging
import threading

from flask import Flask

from ..clock import utcnow
from ..database import read_only
from ..domain.evaluate import stale_changes
from ..extensions import db
from .evaluation import check_stale, periodic, periodic_pending

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 20.0


class StaleCheck:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.interval = app.config.get("STALE_CHECK_SECONDS", INTERVAL_SECONDS)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="stale-check", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        self.thread.join(timeout)

    def _loop(self):
        while not self.stopping.wait(self.interval):
            try:
                self.run_once()
            except Exception:  # the next round tries again; the thread must not die
                log.exception("stale check failed")

    def run_once(self) -> None:
        """Read first; take the write lock only when something changes."""
        now = utcnow()
        with self.app.app_context():
            with read_only():
                changes = stale_changes(db.session, now)
                pending = periodic_pending(db.session, now)  # daily light (app.care.light)
                db.session.rollback()
            if pending:
                periodic(db.session, now)
                db.session.commit()
            if not changes:
                return
            opened, resolved = check_stale(db.session, now)
            db.session.commit()
            log.info("stale check: %d opened, %d resolved", opened, resolved)
