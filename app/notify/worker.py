"""The delivery worker: a claim thread fills an in-memory queue from the outbox table, a send
thread empties it. Nothing here runs inside the ingest writer, so a slow or dead webhook only
ever slows these two threads."""

import logging
import queue
import threading

from sqlalchemy.exc import SQLAlchemyError

from .. import outbound
from ..clock import utcnow
from ..database import read_only
from ..extensions import db
from ..models import Notification, User
from .delivery import TIMEOUT_SECONDS, Outcome, delivery_policy, post, webhook_url
from .outbox import RetryPolicy, claim_due, has_due, record_outcome, release

log = logging.getLogger(__name__)

QUEUE_SIZE = 50
LEASE_SECONDS = 60


class Notifier:
    def __init__(self, app):
        self.app = app
        self.policy = RetryPolicy.from_config(app.config)
        self.poll_seconds = app.config.get("NOTIFY_POLL_SECONDS", 1.0)
        self.delivery = delivery_policy(app.config, app.config.get("NOTIFY_TIMEOUT_SECONDS", TIMEOUT_SECONDS))
        self.gate = outbound.Gate(total=1, per_key=1)  # one send thread: one request in flight
        self.queue = queue.Queue(maxsize=QUEUE_SIZE)
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._claim_loop, name="notify-claim", daemon=True),
            threading.Thread(target=self._send_loop, name="notify-send", daemon=True),
        ]

    def start(self):
        # urllib3 logs each request line at DEBUG, and a webhook's path is its secret token.
        logging.getLogger("urllib3.connectionpool").setLevel(max(logging.INFO, logging.root.level))
        for thread in self.threads:
            thread.start()

    def stop(self, timeout=10.0):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout)
        self._release_queued()

    def _claim_loop(self):
        while not self.stopping.is_set():
            claimed = self._claim()
            for notification_id in claimed:
                self.queue.put(notification_id)
            if not claimed:
                self.stopping.wait(self.poll_seconds)

    def _claim(self):
        free = QUEUE_SIZE - self.queue.qsize()
        if free <= 0:
            return []
        now = utcnow()
        with self.app.app_context():
            try:
                with read_only():
                    due = has_due(db.session, now)
                    db.session.rollback()
                if not due:
                    return []
                ids = claim_due(db.session, now, free, LEASE_SECONDS)
                db.session.commit()
                return ids
            except SQLAlchemyError:
                log.exception("claiming notifications failed")
                db.session.rollback()
                return []

    def _send_loop(self):
        while not self.stopping.is_set():
            try:
                notification_id = self.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self._deliver(notification_id)
            except Exception:  # the thread must outlive any one message; the lease retries it
                log.exception("delivering notification %s failed", notification_id)

    def _deliver(self, notification_id):
        with self.app.app_context():
            with read_only():
                notification = db.session.get(Notification, notification_id)
                if notification is None or notification.status != "pending":
                    db.session.rollback()
                    return
                url = webhook_url(db.session.get(User, notification.user_id), self.app.config["DISCORD_WEBHOOK_URL"])
                payload = notification.payload
                db.session.rollback()
            if url:
                outcome = post(url, payload, self.delivery, self.gate)
            else:
                outcome = Outcome(False, error="no Discord webhook is set")
            notification = db.session.get(Notification, notification_id)
            record_outcome(db.session, notification, outcome, utcnow(), self.policy)
            db.session.commit()
            log.info("notification %s %s: %s", notification_id, notification.status, outcome.error or "sent")

    def _release_queued(self):
        ids = []
        while True:
            try:
                ids.append(self.queue.get_nowait())
            except queue.Empty:
                break
        if not ids:
            return
        with self.app.app_context():
            release(db.session, ids, utcnow())
            db.session.commit()
