"""The care log without HTTP: what was done to a plant, when, how much and by whom.

Shared by the plant page's form, the JSON API (`/api/v1/plants/<id>/events`), the
tasks service (ticking a watering task logs a watering) and the watering detector
(app.care.detection). Functions flush and never commit.
"""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from ..models import CareEvent, Plant, PlantLightDay, Task, User
from .errors import ValidationError
from .types import DbSession

# kind -> (label, past-tense phrase for "Last ... 2 days ago")
KINDS: dict[str, tuple[str, str]] = {
    "watered": ("Watered", "watered"),
    "fertilized": ("Fertilized", "fertilized"),
    "repotted": ("Repotted", "repotted"),
    "pruned": ("Pruned", "pruned"),
    "misted": ("Misted", "misted"),
    "note": ("Note", "noted"),
}
NOTE_MAX = 500
AMOUNT_MAX = 100_000.0  # millilitres or grams
FUTURE_SLACK = timedelta(minutes=5)  # a phone clock a little ahead is fine
MESSAGES = {
    "kind": "Choose what was done: " + ", ".join(KINDS) + ".",
    "note_type": "Enter text.",
    "note_long": f"Keep the note to {NOTE_MAX} characters or fewer.",
    "note_missing": "Write the note.",
    "amount": f"Enter an amount from 0 to {AMOUNT_MAX:,.0f}, or leave it empty.",
    "at_type": "Enter a date and time.",
    "at_future": "That time is in the future.",
}


def clean_event(data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """{"kind", "at", "note", "amount"} from raw input; ValidationError lists each bad field.

    `at` may be an aware datetime or absent (now); forms parse their local time first.
    """
    errors = []
    kind = data.get("kind")
    if kind not in KINDS:
        errors.append({"field": "kind", "message": MESSAGES["kind"]})
    note = data.get("note")
    if note is None:
        note = ""
    if not isinstance(note, str):
        errors.append({"field": "note", "message": MESSAGES["note_type"]})
        note = ""
    note = note.strip()
    if len(note) > NOTE_MAX:
        errors.append({"field": "note", "message": MESSAGES["note_long"]})
    elif "\x00" in note:
        errors.append({"field": "note", "message": MESSAGES["note_type"]})
    elif kind == "note" and not note:
        errors.append({"field": "note", "message": MESSAGES["note_missing"]})
    amount = data.get("amount")
    if amount is not None and (
        isinstance(amount, bool) or not isinstance(amount, int | float) or not 0 <= amount <= AMOUNT_MAX
    ):
        errors.append({"field": "amount", "message": MESSAGES["amount"]})
    at = data.get("at") or now
    if not isinstance(at, datetime) or at.tzinfo is None:
        errors.append({"field": "at", "message": MESSAGES["at_type"]})
    elif at > now + FUTURE_SLACK:
        errors.append({"field": "at", "message": MESSAGES["at_future"]})
    if errors:
        raise ValidationError(errors)
    return {"kind": kind, "at": at, "note": note, "amount": None if amount is None else float(amount)}


def log_event(
    session: DbSession,
    plant: Plant,
    fields: Mapping[str, Any],
    by: User | None,
    now: datetime,
    detected: bool = False,
    task_id: int | None = None,
) -> CareEvent:
    """Add a care event (fields from `clean_event`); logging a watering completes the plant's
    open watering tasks that are due (app.domain.tasks), unless it comes from one."""
    event = CareEvent(
        garden_id=plant.garden_id,
        plant_id=plant.id,
        by_user_id=by.id if by else None,
        by_user=by,
        detected=detected,
        task_id=task_id,
        created_at=now,
        **fields,
    )
    session.add(event)
    plant.updated_at = now  # the dashboard's and the plant page's fingerprints see the change
    session.flush()
    if event.kind == "watered" and task_id is None:
        from .tasks import complete_care_tasks  # tasks import this module

        complete_care_tasks(session, plant, "watered", event, now)
    return event


def plant_events(session: DbSession, plant_id: int, limit: int = 50, since: datetime | None = None) -> list[CareEvent]:
    query = select(CareEvent).where(CareEvent.plant_id == plant_id)
    if since is not None:
        query = query.where(CareEvent.at >= since)
    return list(session.scalars(query.order_by(CareEvent.at.desc(), CareEvent.id.desc()).limit(limit)))


def last_watered(session: DbSession, plant_ids: list[int]) -> dict[int, datetime]:
    """{plant id: time of its newest watering} in one grouped query over the (plant_id, at) index
    (run even for no plants, so a dashboard poll costs the same statements whatever it shows)."""
    rows = session.execute(
        select(CareEvent.plant_id, func.max(CareEvent.at))
        .where(CareEvent.plant_id.in_(plant_ids), CareEvent.kind == "watered")
        .group_by(CareEvent.plant_id)
    )
    return dict(rows.tuples().all())


def care_kind_of_title(title: str) -> str | None:
    """A task typed as "Water the fern" is a watering task (the first word decides)."""
    first = title.strip().split(" ", 1)[0].lower() if title.strip() else ""
    return {
        "water": "watered",
        "fertilize": "fertilized",
        "fertilise": "fertilized",
        "feed": "fertilized",
        "repot": "repotted",
        "prune": "pruned",
        "mist": "misted",
    }.get(first)


def task_event(session: DbSession, task: Task, now: datetime, by: User | None = None) -> CareEvent | None:
    """Ticking a care task of a plant logs that care (by the member who ticked it)."""
    if task.care_kind not in KINDS or task.care_kind == "note" or task.plant_id is None:
        return None
    plant = session.get(Plant, task.plant_id)
    if plant is None:
        return None
    fields = {"kind": task.care_kind, "at": now, "note": f"Task: {task.title}"[:NOTE_MAX], "amount": None}
    return log_event(session, plant, fields, by, now, task_id=task.id)


def latest_light_day(session: DbSession, plant_id: int) -> PlantLightDay | None:
    """The newest judged day of the plant's light (app.care.light stores one a day)."""
    query = select(PlantLightDay).where(PlantLightDay.plant_id == plant_id)
    return session.scalars(query.order_by(PlantLightDay.day.desc()).limit(1)).first()
