"""Background threads of a serving process (MQTT consumer, batch writer, notifier, stale check,
hourly rollups, and the Home Assistant publisher when HOMEASSISTANT_DISCOVERY is on).

One `BackgroundServices` per app, made by `create_app` (which starts nothing) and
found with `background_services(app)`. It is started exactly once per process
and only after any fork: by gunicorn's `post_worker_init`, by the dev server's
serving child, or by `flask ingest`. Never at import time and never by
`create_app`, so CLI commands and tests start nothing unless they ask.
"""

import atexit
import logging
import threading

from flask import Flask, current_app

from .alerts.stale import StaleCheck
from .ingest.consumer import Ingest
from .ingest.state import ConsumerState
from .integrations.homeassistant import HomeAssistantPublisher
from .notify.worker import Notifier
from .retention import RollupSchedule

log = logging.getLogger(__name__)

_EXTENSION = "plantops.background_services"  # read and written only here


class BackgroundServices:
    """This process's background services: started, stopped and reported together."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        # Exists whether or not the consumer runs: /api/health reports "disabled" from it.
        self.consumer_state = ConsumerState(
            enabled=app.config["MQTT_ENABLED"], stall_seconds=app.config["INGEST_STALL_SECONDS"]
        )
        self.ingest: Ingest | None = None
        self.notifier: Notifier | None = None
        self.stale_check: StaleCheck | None = None
        self.rollups: RollupSchedule | None = None
        self.homeassistant: HomeAssistantPublisher | None = None
        self._lock = threading.Lock()
        self._running = False

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        """Start every service once; a second call does nothing."""
        with self._lock:
            if self._running:
                return
            self._running = True
        if self.app.config["MQTT_ENABLED"]:
            self.ingest = Ingest(self.app, self.consumer_state)
            self.ingest.start()
        self.notifier = Notifier(self.app)
        self.notifier.start()
        self.stale_check = StaleCheck(self.app)
        self.stale_check.start()
        self.rollups = RollupSchedule(self.app)
        self.rollups.start()
        if self.app.config["HOMEASSISTANT_DISCOVERY"]:
            self.homeassistant = HomeAssistantPublisher(self.app)
            self.homeassistant.start()
        # The dev server's child and gunicorn workers exit through sys.exit: stop cleanly then too.
        atexit.register(self.stop)
        log.info("background workers started")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the services, letting them finish what they hold (flush, acknowledge)."""
        with self._lock:
            if not self._running:
                return
            self._running = False
        atexit.unregister(self.stop)
        for service in (
            self.ingest,
            self.stale_check,
            self.rollups,
            self.notifier,
            self.homeassistant,
        ):  # ingest first: flush and acknowledge
            if service is not None:
                service.stop(timeout)
        self.ingest = self.notifier = self.stale_check = self.rollups = self.homeassistant = None
        log.info("background workers stopped")

    def status(self) -> dict[str, object | None]:
        """Each service's state object by its label, None when it does not run (for /admin);
        the Home Assistant publisher only when HOMEASSISTANT_DISCOVERY turns it on."""
        status: dict[str, object | None] = {
            "MQTT consumer": self.consumer_state,
            "Ingest queue": self.ingest,
            "Notifier": self.notifier,
            "Stale check": self.stale_check,
            "Hourly rollups": self.rollups,
        }
        if self.app.config["HOMEASSISTANT_DISCOVERY"]:
            status["Home Assistant"] = self.homeassistant
        return status


def init_app(app: Flask) -> None:
    app.extensions[_EXTENSION] = BackgroundServices(app)


def background_services(app: Flask | None = None) -> BackgroundServices:
    """The app's background services (the current app's when none is given)."""
    return (app if app is not None else current_app).extensions[_EXTENSION]


def start_if_dev_server(app: Flask) -> bool:
    """Start the services if this process is the one serving `flask run` requests.

    With the reloader (`flask run --debug`) that is the child the reloader
    spawns (WERKZEUG_RUN_MAIN), never the watching parent; without it, the only
    process. Every other command (`db upgrade`, `users create`, ...) and
    gunicorn (whose workers start theirs in `post_worker_init`) start nothing here.
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
    background_services(app).start()
    return True
