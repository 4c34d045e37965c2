"""Background threads of a serving process (MQTT consumer, batch writer, notifier, stale check).

Started exactly once per process and only after any fork: by gunicorn's
`post_fork`, by the dev server's serving child, or by `flask ingest`. Never at
import time and never by `create_app`, so CLI commands and tests start nothing
unless they ask.
"""

import logging
import threading

from .alerts.stale import start_stale_check, stop_stale_check
from .notify.worker import start_notifier, stop_notifier

log = logging.getLogger(__name__)

_lock = threading.Lock()


def start_background_workers(app):
    """Start this process's workers once; a second call does nothing."""
    with _lock:
        if app.extensions.get("plantops.workers_started"):
            return
        app.extensions["plantops.workers_started"] = True
    start_notifier(app)
    start_stale_check(app)
    log.info("background workers started")


def stop_background_workers(app, timeout=10.0):
    """Stop the workers, letting them finish what they hold (flush, acknowledge)."""
    with _lock:
        if not app.extensions.pop("plantops.workers_started", False):
            return
    stop_stale_check(app, timeout)
    stop_notifier(app, timeout)
    log.info("background workers stopped")
