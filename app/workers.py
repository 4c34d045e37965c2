"""Background threads of a serving process (MQTT consumer, batch writer, notifier, stale check,
hourly rollups).

Started exactly once per process and only after any fork: by gunicorn's
`post_fork`, by the dev server's serving child, or by `flask ingest`. Never at
import time and never by `create_app`, so CLI commands and tests start nothing
unless they ask.
"""

import atexit
import functools
import logging
import threading

from .alerts.stale import start_stale_check, stop_stale_check
from .notify.worker import start_notifier, stop_notifier
from .retention import start_rollup_schedule, stop_rollup_schedule

log = logging.getLogger(__name__)

_lock = threading.Lock()


def start_background_workers(app):
    """Start this process's workers once; a second call does nothing."""
    with _lock:
        if app.extensions.get("plantops.workers_started"):
            return
        app.extensions["plantops.workers_started"] = True
    start_ingest(app)
    start_notifier(app)
    start_stale_check(app)
    start_rollup_schedule(app)
    # The dev server's child and gunicorn workers exit through sys.exit: stop cleanly then too.
    app.extensions["plantops.workers_atexit"] = hook = functools.partial(stop_background_workers, app)
    atexit.register(hook)
    log.info("background workers started")


def stop_background_workers(app, timeout=10.0):
    """Stop the workers, letting them finish what they hold (flush, acknowledge)."""
    with _lock:
        if not app.extensions.pop("plantops.workers_started", False):
            return
    atexit.unregister(app.extensions.pop("plantops.workers_atexit"))
    stop_ingest(app, timeout)  # first: flush and acknowledge what it holds
    stop_stale_check(app, timeout)
    stop_rollup_schedule(app, timeout)
    stop_notifier(app, timeout)
    log.info("background workers stopped")


def start_if_dev_server(app):
    """Start the workers if this process is the one serving `flask run` requests.

    With the reloader (`flask run --debug`) that is the child the reloader
    spawns (WERKZEUG_RUN_MAIN), never the watching parent; without it, the only
    process. Every other command (`db upgrade`, `users create`, ...) and
    gunicorn (whose workers start theirs in `post_fork`) start nothing here.
    """
    import click
    from flask.helpers import get_debug_flag
    from werkzeug.serving import is_running_from_reloader

    context = click.get_current_context(silent=True)
    if context is None or context.info_name != "run":
        return False
    reloader = context.params.get("reload")
    if reloader is None:
        reloader = get_debug_flag()
    if reloader and not is_running_from_reloader():
        return False
    start_background_workers(app)
    return True


def start_ingest(app):
    if not app.config["MQTT_ENABLED"]:
        return
    from .ingest.consumer import Ingest

    ingest = Ingest(app)
    app.extensions["plantops.ingest"] = ingest
    ingest.start()


def stop_ingest(app, timeout):
    ingest = app.extensions.pop("plantops.ingest", None)
    if ingest is not None:
        ingest.stop(timeout)
