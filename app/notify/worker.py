"""The delivery worker: a claim thread fills an in-memory queue from the outbox table, a send
thread empties it. Nothing here runs inside the ingest writer, so a slow or dead webhook only
ever slows these two threads."""

import logging
import queue
import threading

from sqlalchemy.exc import SQLAlchemyError

from .. import outbound
from ..clock import utcnow
from ..crypto import DecryptionError
from ..database import read_only
from ..extensions import db
from ..models import Notification, NotificationChannel, User
from ..settings.secrets import read_channel_url, read_secret
from . import channels
from .delivery import TIMEOUT_SECONDS, Outcome, delivery_policy, post
from .dispatch import run_schedule
from .links import links
from .outbox import RetryPolicy, claim_due, has_due, record_outcome, release

log = logging.getLogger(__name__)

QUEUE_SIZE = 50
LEASE_SECONDS = 60
SCHEDULE_SECONDS = 60.0  # digests, reminders, tasks due, folded messages: checked once a minute


class Notifier:
    def __init__(self, app):
        self.app = app
        self.policy = RetryPolicy.from_config(app.config)
        self.poll_seconds = app.config.get("NOTIFY_POLL_SECONDS", 1.0)
        self.delivery = delivery_policy(app.config, app.config.get("NOTIFY_TIMEOUT_SECONDS", TIMEOUT_SECONDS))
        self.gate = outbound.Gate(total=1, per_key=1)  # one send thread: one request in flight
        self.sender = channels.Sender(
            channels.policy_for(app.config, app.config.get("NOTIFY_TIMEOUT_SECONDS", TIMEOUT_SECONDS)),
            self.gate,
            app.config,
        )
        self.queue = queue.Queue(maxsize=QUEUE_SIZE)
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._claim_loop, name="notify-claim", daemon=True),
            threading.Thread(target=self._send_loop, name="notify-send", daemon=True),
            threading.Thread(target=self._schedule_loop, name="notify-schedule", daemon=True),
        ]
        self.schedule_seconds = app.config.get("NOTIFY_SCHEDULE_SECONDS", SCHEDULE_SECONDS)

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

    def _schedule_loop(self):
        while not self.stopping.wait(self.schedule_seconds):
            try:
                self.run_schedule()
            except Exception:  # the next round tries again; the thread must not die
                log.exception("notification schedule failed")

    def run_schedule(self, now=None):
        """Queue the digests, reminders and task messages due now (one transaction)."""
        with self.app.app_context():
            try:
                queued = run_schedule(db.session, now or utcnow(), links())
                db.session.commit()
            except SQLAlchemyError:
                db.session.rollback()
                raise
        if queued:
            log.info("notification schedule: %d queued", queued)
        return queued

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
                channel_id, payload = notification.channel_id, notification.payload
                if channel_id is None:
                    url = webhook_url(
                        db.session.get(User, notification.user_id), self.app.config["DISCORD_WEBHOOK_URL"]
                    )
                    target = None
                else:
                    target, problem = _channel_target(db.session.get(NotificationChannel, channel_id))
                db.session.rollback()
            if channel_id is not None:
                if target is None:
                    outcome = Outcome(False, error=problem)
                else:
                    outcome = channels.send(target, payload, self.sender, txn=str(notification_id))
            elif url:
                outcome = post(url, payload, self.delivery, self.gate)
            else:
                outcome = Outcome(False, error="no Discord webhook is set")
            notification = db.session.get(Notification, notification_id)
            if notification is None:  # the channel was deleted meanwhile
                db.session.rollback()
                return
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


def _channel_target(channel):
    """The channel's parsed URL, or (None, why it cannot be sent)."""
    if channel is None:
        return None, "the channel was removed"
    try:
        secret = read_channel_url(channel)
    except DecryptionError:
        return None, "the channel's URL can no longer be read: enter it again"
    if secret is None:
        return None, "the channel has no URL"
    try:
        return channels.parse(channel.kind, secret.reveal()), None
    except channels.InvalidChannel as error:
        return None, str(error)


def webhook_url(user: User, default_url: str | None) -> str | None:
    """The user's own webhook (decrypted) if set, else the instance-wide one."""
    try:
        secret = read_secret(user, "discord_webhook_url")
    except DecryptionError:  # a key removed too early must not stop every other delivery
        log.warning("user %s: stored Discord webhook cannot be decrypted; using the default", user.id)
        return default_url
    return secret.reveal() if secret is not None else default_url
