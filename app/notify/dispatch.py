"""Which channel hears of what, and when: every current member of a garden who may see it
hears of its alerts on their channels (narrowed by their per-garden choice,
GardenMember.notify), events per channel, quiet hours in the user's
timezone (held until they end, or folded into the next digest), muted plants, the daily
digest, reminders of unacknowledged alerts and tasks due today.

Everything here writes outbox rows in the caller's transaction and never commits.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..domain import gardens
from ..domain.describe import format_value, problem_label
from ..domain.types import DbSession
from ..models import Alert, GardenMember, Notification, NotificationChannel, Plant, PlantMute, Task, User
from .channels import alert_event_message, plain_message

MUTE_LINK_SALT = "plantops.notify.mute-plant"
MUTE_LINK_MAX_AGE = 7 * 24 * 3600
MUTE_LINK_HOURS = 24
WATER_PROBLEM = "soil_moisture_low"


def zone_of(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def channel_event(problem: str, event: str) -> str:
    """The channel event an alert event is: a silent sensor and a low battery are their own."""
    if event == "resolved":
        return "alert_resolved"
    return {"stale": "sensor_silent", "battery_low": "battery_low"}.get(problem, "alert_opened")


def quiet_until(channel: NotificationChannel, now: datetime, timezone: str | None) -> datetime | None:
    """When the channel's quiet hours end (UTC) if `now` is inside them, else None."""
    start, end = channel.quiet_start, channel.quiet_end
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(zone_of(timezone))
    minute = local.hour * 60 + local.minute
    inside = start <= minute < end if start < end else (minute >= start or minute < end)
    if not inside:
        return None
    day = local.date() if minute < end else local.date() + timedelta(days=1)
    ends = datetime.combine(day, time(end // 60, end % 60), tzinfo=zone_of(timezone))
    return ends.astimezone(UTC)


def muted_until(session: DbSession, plant_id: int, now: datetime) -> datetime | None:
    mute = session.get(PlantMute, plant_id)
    return mute.until if mute is not None and mute.until > now else None


def mute_plant(session: DbSession, plant_id: int, until: datetime | None) -> None:
    """Mute a plant's notifications until `until` (None: unmute)."""
    mute = session.get(PlantMute, plant_id)
    if until is None:
        if mute is not None:
            session.delete(mute)
        return
    if mute is None:
        session.add(PlantMute(plant_id=plant_id, until=until))
    else:
        mute.until = until


def mute_token(secret_key: str, user_id: int, plant_id: int) -> str:
    """A signed link token that can do one thing: mute this plant of this user for a day."""
    return URLSafeTimedSerializer(secret_key, salt=MUTE_LINK_SALT).dumps({"u": user_id, "p": plant_id})


def read_mute_token(secret_key: str, token: str, max_age: int = MUTE_LINK_MAX_AGE) -> tuple[int, int] | None:
    """(user_id, plant_id) of a valid, unexpired mute token, else None."""
    try:
        data = URLSafeTimedSerializer(secret_key, salt=MUTE_LINK_SALT).loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("p"), int):
        return None
    return data["u"], data["p"]


def channels_of(session: DbSession, user_id: int) -> Sequence[NotificationChannel]:
    return session.scalars(
        select(NotificationChannel).where(NotificationChannel.user_id == user_id).order_by(NotificationChannel.id)
    ).all()


def channel_events(channel: NotificationChannel, member: GardenMember) -> set[str]:
    """The events `channel` takes for the member's garden: its own events when the member chose
    nothing (notify None), else only what they chose for this channel in this garden."""
    if member.notify is None:
        return set(channel.events or [])
    return set(member.notify.get(str(channel.id)) or [])


def memberships(session: DbSession, user_id: int, now: datetime) -> dict[int, GardenMember]:
    """{garden id: membership} of the gardens `user_id` may see now (a sitter's ended ones not)."""
    members = session.scalars(select(GardenMember).where(gardens.current_member(user_id, now))).all()
    return {m.garden_id: m for m in members if gardens.allows(m.role, "view")}


def queue(
    session: DbSession,
    channel: NotificationChannel,
    timezone: str | None,
    message: dict,
    now: datetime,
    *,
    alert_id: int | None = None,
    key: str | None = None,
    foldable: bool = True,
) -> Notification | None:
    """One outbox row for `channel`: due now, at the end of its quiet hours, or folded into
    its next digest. With a `key`, at most one row per channel and key (None if one exists)."""
    ends = quiet_until(channel, now, timezone)
    folded = ends is not None and foldable and channel.quiet_mode == "digest"
    notification = Notification(
        user_id=channel.user_id,
        channel_id=channel.id,
        alert_id=alert_id,
        event=message["event"],
        payload=message,
        status="folded" if folded else "pending",
        attempts=0,
        next_attempt_at=ends if ends is not None and not folded else now,
        created_at=now,
        key=key,
    )
    if key is None:
        session.add(notification)
        return notification
    if session.scalar(select(Notification.id).where(Notification.channel_id == channel.id, Notification.key == key)):
        return None
    try:
        with session.begin_nested():
            session.add(notification)
    except IntegrityError:  # another process queued it a moment ago
        return None
    return notification


def alert_message_for(
    alert: Alert, event: str, value: float | None, now: datetime, urls: "Links", user: User, reminder_hours=None
) -> dict:
    """The message of an alert event for `user` (their timezone, their mute link)."""
    plant = alert.plant
    return alert_event_message(
        event,
        plant_name=plant.name,
        label=problem_label(alert.problem),
        value=None if value is None else format_value(alert.metric, value),
        threshold=format_value(alert.metric, alert.threshold),
        when=now if event == "resolved" or reminder_hours is None else alert.opened_at,
        timezone=user.timezone,
        plant_url=urls.plant(plant.id),
        mute_url=urls.mute(user.id, plant.id),
        reminder_hours=reminder_hours,
    )


class Links:
    """The absolute links messages carry (the app binds them to PUBLIC_URL)."""

    def __init__(self, plant_url: Any, mute_url: Any, home: str | None = None) -> None:
        self.plant = plant_url
        self.mute = mute_url
        self.home = home


def queue_alert_event(
    session: DbSession, alert: Alert, event: str, value: float | None, now: datetime, urls: Links
) -> list[Notification]:
    """The alert event for each channel that takes it of each current member of the alert's
    garden who may see it: one row per recipient channel."""
    wanted = channel_event(alert.problem, event)
    queued = []
    for member in gardens.members_allowed(session, alert.garden_id, "view", now):
        user = session.get(User, member.user_id)
        if user is None or user.disabled:
            continue
        for channel in channels_of(session, member.user_id):
            if wanted in channel_events(channel, member):
                message = alert_message_for(alert, event, value, now, urls, user)
                row = queue(session, channel, user.timezone, message, now, alert_id=alert.id)
                if row is not None:
                    queued.append(row)
    return queued


# The scheduler's round: digests, reminders, tasks due, folded messages --------------------


def run_schedule(session: DbSession, now: datetime, urls: Links) -> int:
    """Queue what is due on every channel now; the number of rows queued."""
    rows = session.execute(
        select(NotificationChannel, User)
        .join(User, User.id == NotificationChannel.user_id)
        .order_by(NotificationChannel.id)
    ).all()
    count = 0
    for channel, user in rows:
        count += _schedule_channel(session, channel, user, now, urls)
    return count


def _schedule_channel(session: DbSession, channel: NotificationChannel, user: User, now: datetime, urls: Links) -> int:
    local = now.astimezone(zone_of(user.timezone))
    events = set(channel.events or [])
    count = 0
    if channel.remind_after_hours:
        count += _reminders(session, channel, user, now, urls)
    if "task_due" in events and local.hour >= channel.digest_hour:
        count += _tasks_due(session, channel, user, now, local.date())
    if "daily_digest" in events:
        if local.hour == channel.digest_hour:  # inside quiet hours: held until they end
            count += _digest(session, channel, user, now, urls, f"digest:{local.date().isoformat()}")
    elif _folded(session, channel) and quiet_until(channel, now, user.timezone) is None:
        count += _digest(session, channel, user, now, urls, None)
    return count


def _folded(session: DbSession, channel: NotificationChannel) -> Sequence[Notification]:
    return session.scalars(
        select(Notification)
        .where(Notification.channel_id == channel.id, Notification.status == "folded")
        .order_by(Notification.id)
    ).all()


def _reminders(session: DbSession, channel: NotificationChannel, user: User, now: datetime, urls: Links) -> int:
    hours = channel.remind_after_hours or 0
    members = memberships(session, user.id, now)
    alerts = session.scalars(
        select(Alert).where(
            Alert.garden_id.in_(members),
            Alert.state == "open",
            Alert.resolved_at.is_(None),
            Alert.opened_at <= now - timedelta(hours=hours),
        )
    ).all()
    count = 0
    for alert in alerts:
        if channel_event(alert.problem, "opened") not in channel_events(channel, members[alert.garden_id]) or (
            muted_until(session, alert.plant_id, now)
        ):
            continue
        message = alert_message_for(alert, "opened", alert.value, now, urls, user, reminder_hours=hours)
        message["event"] = "reminder"
        if queue(session, channel, user.timezone, message, now, alert_id=alert.id, key=f"reminder:{alert.id}"):
            count += 1
    return count


def _tasks_due(session: DbSession, channel: NotificationChannel, user: User, now: datetime, today) -> int:
    members = memberships(session, user.id, now)
    tasks = session.scalars(
        select(Task).where(Task.garden_id.in_(members), Task.completed.is_(False), Task.due_date == today)
    ).all()
    count = 0
    for task in tasks:
        if "task_due" not in channel_events(channel, members[task.garden_id]):
            continue
        message = plain_message("task_due", ["📋 Due today: ", task.title, ""], [["A care task is due today."]])
        if queue(session, channel, user.timezone, message, now, key=f"task:{task.id}:{today.isoformat()}"):
            count += 1
    return count


def digest_message(session: DbSession, user: User, now: datetime, folded: Sequence[Notification], urls: Links) -> dict:
    """ "3 plants need water, 2 tasks due today", then one line per plant and task, then what
    quiet hours held back."""
    today = now.astimezone(zone_of(user.timezone)).date()
    visible = gardens.garden_ids_of(user.id, now)
    open_alerts = session.execute(
        select(Alert, Plant)
        .join(Plant, Plant.id == Alert.plant_id)
        .where(Alert.garden_id.in_(visible), Alert.resolved_at.is_(None))
        .order_by(Plant.name, Alert.id)
    ).all()
    tasks = session.scalars(
        select(Task)
        .where(Task.garden_id.in_(visible), Task.completed.is_(False))
        .where(Task.due_date.is_not(None), Task.due_date <= today)
        .order_by(Task.due_date, Task.id)
    ).all()
    thirsty = sorted({plant.id for alert, plant in open_alerts if alert.problem == WATER_PROBLEM})
    others = sorted({plant.id for alert, plant in open_alerts if alert.problem != WATER_PROBLEM} - set(thirsty))
    summary = []
    if thirsty:
        summary.append(
            f"{len(thirsty)} plant{'s' if len(thirsty) != 1 else ''} need{'s' if len(thirsty) == 1 else ''} water"
        )
    if others:
        summary.append(f"{len(others)} other plant{'s' if len(others) != 1 else ''} with alerts")
    due_today = sum(1 for task in tasks if task.due_date == today)
    overdue = len(tasks) - due_today
    summary.append(f"{due_today} task{'s' if due_today != 1 else ''} due today")
    if overdue:
        summary.append(f"{overdue} overdue")
    lines: list[list] = []
    for alert, plant in open_alerts:
        lines.append(
            ["• ", plant.name, f": {problem_label(alert.problem).lower()} ({format_value(alert.metric, alert.value)})"]
        )
    for task in tasks:
        late = "" if task.due_date is None or task.due_date == today else f" (due {task.due_date.isoformat()})"
        lines.append(["• Task: ", task.title, late])
    if folded:
        lines.append([f"During quiet hours ({len(folded)}):"])
        lines += [
            ["• ", *row.payload["title"][1:]] if len(row.payload["title"]) > 1 else list(row.payload["title"])
            for row in folded
        ]
    return plain_message("digest", ["🌱 " + ", ".join(summary)], lines, urls.home)


def _digest(
    session: DbSession, channel: NotificationChannel, user: User, now: datetime, urls: Links, key: str | None
) -> int:
    folded = _folded(session, channel)
    if key is None:
        if not folded:
            return 0
        key = f"folded:{folded[0].id}"
    message = digest_message(session, user, now, folded, urls)
    row = queue(session, channel, user.timezone, message, now, key=key, foldable=False)
    if row is None:
        return 0
    for notification in folded:
        notification.status = "digested"
    return 1
