"""What the operator view reads. Plain functions of a session; no Flask."""

import queue
import threading

from sqlalchemy import func, select

from ..clock import utcnow
from ..models import Device, Garden, IngestRejection, IngestSource, Notification, Plant, User

DISCOVERED_SHOWN = 50


# Administrators manage accounts: they see how many plants a user's personal garden holds,
# never the plants (or any other garden's contents).
def users_with_plant_counts(session):
    plants = (
        select(Garden.personal_of_id.label("user_id"), func.count(Plant.id).label("plants"))
        .join(Plant, Plant.garden_id == Garden.id)
        .group_by(Garden.personal_of_id)
        .subquery()
    )
    query = (
        select(User, func.coalesce(plants.c.plants, 0))
        .outerjoin(plants, plants.c.user_id == User.id)
        .order_by(User.created_at, User.id)
    )
    return session.execute(query).all()


def user_with_plant_count(session, user):
    count = session.scalar(
        select(func.count(Plant.id)).join(Garden, Garden.id == Plant.garden_id).where(Garden.personal_of_id == user.id)
    )
    return user, count


def rejections(session):
    return session.scalars(select(IngestRejection).order_by(IngestRejection.count.desc())).all()


def discovered_devices(session, limit=DISCOVERED_SHOWN):
    """Devices seen on the sources' shared topics that no garden has yet, most recently heard first."""
    discovered = (Device.namespace == "", Device.garden_id.is_(None))
    total = session.scalar(select(func.count()).select_from(Device).where(*discovered))
    query = select(Device).where(*discovered).order_by(Device.last_seen_at.desc().nulls_last(), Device.id.desc())
    return session.scalars(query.limit(limit)).all(), total


def outbox(session, now=None):
    """Notification outbox by status, and the age of the oldest undelivered message."""
    now = now or utcnow()
    by_status = dict(session.execute(select(Notification.status, func.count()).group_by(Notification.status)).all())
    oldest = session.scalar(select(func.min(Notification.created_at)).where(Notification.status == "pending"))
    return {"by_status": by_status, "oldest_pending_age_s": round((now - oldest).total_seconds()) if oldest else None}


def describe_state(state):
    """A flat {name: value} of a background worker's state object, for display; None when absent.

    Shows plain values, counters, queue lengths, whether threads are alive and
    whether events are set; objects it cannot summarise are left out.
    """
    if state is None:
        return None
    values = state.snapshot() if hasattr(state, "snapshot") else vars(state)
    shown = {}
    for name, value in values.items():
        if name.startswith("_") or name.endswith("monotonic"):
            continue
        summary = _summarise(value)
        if summary is not None:
            shown[name.replace("_", " ")] = summary
    if hasattr(state, "health"):
        shown.update({f"health {k.replace('_', ' ')}": v for k, v in state.health().items()})
    return shown


def _summarise(value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or isinstance(value, int | float | str):
        return value
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in sorted(value.items())) or "none"
    if isinstance(value, queue.Queue):
        return f"{value.qsize()} queued"
    if isinstance(value, threading.Event):
        return "yes" if value.is_set() else "no"
    if isinstance(value, threading.Thread):
        return "alive" if value.is_alive() else "stopped"
    if isinstance(value, list | tuple) and value and all(isinstance(v, threading.Thread) for v in value):
        return f"{sum(t.is_alive() for t in value)} of {len(value)} threads alive"
    return None


def source_rows(session):
    """The administrator's IngestSource rows: name -> {"kind", "enabled", "base_topic", "options"}."""
    return {
        row.name: {"kind": row.kind, "enabled": row.enabled, "base_topic": row.base_topic, "options": row.options or {}}
        for row in session.scalars(select(IngestSource))
    }
