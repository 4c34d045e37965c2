"""The messages of an alert event, queued in the outbox in the caller's transaction: the
Discord webhook of the garden owner's settings (or the instance's), and each notification
channel of each current member of the garden that takes the event (app.notify.dispatch)."""

from datetime import datetime

from flask import current_app

from .. import throttle
from ..domain.describe import format_value, problem_label
from ..domain.gardens import members_allowed, owner_of
from ..domain.types import DbSession
from ..models import Alert, Notification
from ..notify.discord import alert_message
from ..notify.dispatch import channels_of, muted_until, queue_alert_event
from ..notify.links import links
from ..web import public_url

# Per plant: at most this many messages in this window, so a storm stays a drizzle.
COOLDOWN_MESSAGES = 6
COOLDOWN_SECONDS = 15 * 60


def enqueue(session: DbSession, alert: Alert, event: str, value: float | None, now: datetime) -> Notification | None:
    """Queue the messages for `event` ("opened"/"resolved") of `alert`; the Discord settings
    webhook's row, or None when it is not sent.

    Nothing is queued when nobody in the garden has a channel and there is no webhook, or
    the plant is muted; the per-plant cooldown drops the messages and says so on the alert.
    """
    plant = alert.plant
    user = owner_of(session, alert.garden_id)
    legacy = user is not None and bool(user.discord_webhook_url or current_app.config["DISCORD_WEBHOOK_URL"])
    members = members_allowed(session, alert.garden_id, "view", now)
    if not legacy and not any(channels_of(session, m.user_id) for m in members):
        return None
    if muted_until(session, plant.id, now) is not None:
        return None
    if not throttle.hit(f"notify:plant:{plant.id}", COOLDOWN_MESSAGES, COOLDOWN_SECONDS, now).allowed:
        alert.notify_error = (
            f"Not sent: {plant.name} already sent {COOLDOWN_MESSAGES} messages "
            f"in {COOLDOWN_SECONDS // 60} minutes (cooldown)."
        )
        return None
    queue_alert_event(session, alert, event, value, now, links())
    if not legacy or user is None:
        return None
    payload = alert_message(
        event,
        plant_name=plant.name,
        label=problem_label(alert.problem),
        value=None if value is None else format_value(alert.metric, value, user.temperature_unit),
        threshold=format_value(alert.metric, alert.threshold, user.temperature_unit),
        when=now,
        timezone=user.timezone,
        plant_url=public_url("plants.show_plant", plant_id=plant.id),
    )
    notification = Notification(
        user_id=user.id,
        alert_id=alert.id,
        event=event,
        payload=payload,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(notification)
    return notification
