"""What the operator view reads. Plain functions of a session; no Flask."""

import dataclasses
from datetime import UTC, datetime

from sqlalchemy import func, select

from ..models import IngestRejection, Notification, Plant, UnclaimedDevice, User

UNCLAIMED_SHOWN = 50


def users_with_plant_counts(session):
    plants = select(Plant.user_id, func.count(Plant.id).label("plants")).group_by(Plant.user_id).subquery()
    query = (
        select(User, func.coalesce(plants.c.plants, 0))
        .outerjoin(plants, plants.c.user_id == User.id)
        .order_by(User.created_at, User.id)
    )
    return session.execute(query).all()


def user_with_plant_count(session, user):
    return user, session.scalar(select(func.count(Plant.id)).where(Plant.user_id == user.id))


def rejections(session):
    return session.scalars(select(IngestRejection).order_by(IngestRejection.count.desc())).all()


def unclaimed_devices(session, limit=UNCLAIMED_SHOWN):
    total = session.scalar(select(func.count()).select_from(UnclaimedDevice))
    devices = session.scalars(select(UnclaimedDevice).order_by(UnclaimedDevice.last_seen_at.desc()).limit(limit)).all()
    return devices, total


def outbox(session, now=None):
    """Notification outbox by status, and the age of the oldest undelivered message."""
    now = now or datetime.now(UTC)
    by_status = dict(session.execute(select(Notification.status, func.count()).group_by(Notification.status)).all())
    oldest = session.scalar(select(func.min(Notification.created_at)).where(Notification.status == "pending"))
    return {"by_status": by_status, "oldest_pending_age_s": round((now - oldest).total_seconds()) if oldest else None}


def describe_state(state):
    """A flat {name: value} of a worker's state object, for display; None when absent."""
    if state is None:
        return None
    if hasattr(state, "snapshot"):
        values = state.snapshot()
    elif dataclasses.is_dataclass(state):
        values = {f.name: getattr(state, f.name) for f in dataclasses.fields(state)}
    else:
        values = dict(vars(state))
    shown = {}
    for name, value in values.items():
        if name.startswith("_") or name == "lock" or name.endswith("monotonic") or callable(value):
            continue
        if isinstance(value, bool):
            value = "yes" if value else "no"
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in sorted(value.items())) or "none"
        shown[name.replace("_", " ")] = value
    if hasattr(state, "health"):
        shown.update({f"health {k.replace('_', ' ')}": v for k, v in state.health().items()})
    return shown
