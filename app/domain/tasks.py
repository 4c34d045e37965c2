"""Care tasks without HTTP: validation shared by the HTML forms and the JSON API,
create, update, complete (with recurrence) and delete.

Input is a mapping of raw values: strings from a form, or JSON values (str, int,
None) from the API. Every function takes the session it works in and flushes but
never commits: the request or the worker owns the transaction. Invalid input raises `ValidationError` whose detail is a
list of {"field", "message"}, so nothing is half-written.
"""

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from ..database import MAX_ID
from ..models import CareEvent, Plant, Task, User, utcnow
from . import gardens
from .alerts import on_task_completed
from .care import care_kind_of_title, task_event
from .errors import ValidationError
from .types import DbSession

TITLE_MAX = 200
DESCRIPTION_MAX = 1000
RECURRENCE_MIN, RECURRENCE_MAX = 1, 365
FIELDS = ("title", "description", "due_date", "plant_id", "recurrence_days", "repeat_from")
REPEAT_FROM = {"due": "From the due date", "done": "From when it was done"}

MESSAGES = {
    "title_missing": "Enter a title.",
    "title_long": f"Keep the title to {TITLE_MAX} characters or fewer.",
    "text_type": "Enter text.",
    "description_long": f"Keep the description to {DESCRIPTION_MAX:,} characters or fewer.",
    "due_date": "Enter a date as YYYY-MM-DD.",
    "plant_id": "Choose one of your plants.",
    "recurrence_type": "Enter a whole number of days.",
    "recurrence_range": f"Repeat every {RECURRENCE_MIN} to {RECURRENCE_MAX} days.",
    "repeat_from": "Choose “due” (from the due date) or “done” (from when it was done).",
}


class Invalid(Exception):
    """One field's problem, raised by a cleaner."""


def user_today(user: User, now: datetime) -> date:
    """The date it is at `now` where the user lives (their timezone setting)."""
    try:
        zone: tzinfo = ZoneInfo(user.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    return now.astimezone(zone).date()


def garden_today(session: DbSession, garden_id: int, now: datetime) -> date:
    """The date it is at `now` in the garden: where its owner lives (app.domain.gardens.owner_of)."""
    owner = gardens.owner_of(session, garden_id)
    return user_today(owner, now) if owner is not None else now.astimezone(UTC).date()


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean_title(value: Any, user: User, session: DbSession) -> str:
    if value is not None and not isinstance(value, str):
        raise Invalid(MESSAGES["text_type"])
    title = (value or "").strip()
    if not title:
        raise Invalid(MESSAGES["title_missing"])
    if len(title) > TITLE_MAX:
        raise Invalid(MESSAGES["title_long"])
    return title


def clean_description(value: Any, user: User, session: DbSession) -> str:
    if value is not None and not isinstance(value, str):
        raise Invalid(MESSAGES["text_type"])
    description = (value or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise Invalid(MESSAGES["description_long"])
    return description


def clean_due_date(value: Any, user: User, session: DbSession) -> date | None:
    if is_blank(value):
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise Invalid(MESSAGES["due_date"])
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(MESSAGES["due_date"]) from None


def whole_number(value: Any) -> int | None:
    """An int from an int or a string of digits; None for anything else (bools included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def clean_plant_id(value: Any, user: User, session: DbSession) -> int | None:
    if is_blank(value):
        return None
    plant_id = whole_number(value)
    if (
        plant_id is None
        or not 0 < plant_id <= MAX_ID
        or session.scalar(
            select(Plant.id).where(
                Plant.id == plant_id, Plant.garden_id.in_(gardens.garden_ids_of(user.id, utcnow(), "edit"))
            )
        )
        is None
    ):
        raise Invalid(MESSAGES["plant_id"])
    return plant_id


def clean_recurrence_days(value: Any, user: User, session: DbSession) -> int | None:
    if is_blank(value):
        return None
    days = whole_number(value)
    if days is None:
        raise Invalid(MESSAGES["recurrence_type"])
    if not RECURRENCE_MIN <= days <= RECURRENCE_MAX:
        raise Invalid(MESSAGES["recurrence_range"])
    return days


def clean_repeat_from(value: Any, user: User, session: DbSession) -> str | None:
    """None: the default for the task's kind (watering: "done", anything else: "due")."""
    if is_blank(value):
        return None
    if value not in REPEAT_FROM:
        raise Invalid(MESSAGES["repeat_from"])
    return str(value)


CLEANERS = {
    "title": clean_title,
    "description": clean_description,
    "due_date": clean_due_date,
    "plant_id": clean_plant_id,
    "recurrence_days": clean_recurrence_days,
    "repeat_from": clean_repeat_from,
}


def validate_fields(session: DbSession, data: Mapping[str, Any], user: User, partial: bool = False) -> dict[str, Any]:
    """Clean `data` for `user`; with `partial`, only the fields present are checked.

    Returns the cleaned fields; raises ValidationError listing every bad field.
    Unknown keys are ignored.
    """
    cleaned, errors = {}, []
    for name in FIELDS:
        if partial and name not in data:
            continue
        try:
            cleaned[name] = CLEANERS[name](data.get(name), user, session)
        except Invalid as problem:
            errors.append({"field": name, "message": str(problem)})
    if errors:
        raise ValidationError(errors)
    return cleaned


def create_task(
    session: DbSession,
    user: User,
    data: Mapping[str, Any],
    now: datetime | None = None,
    source: str = "user",
    alert_id: int | None = None,
    garden_id: int | None = None,
) -> Task:
    """A new task of `user`'s in `garden_id` (the caller checked they may edit there; default:
    their personal garden); a task of a plant is in the plant's garden."""
    fields = validate_fields(session, data, user)
    now = now or utcnow()
    care_kind = care_kind_of_title(fields["title"])
    fields["repeat_from"] = fields.get("repeat_from") or default_repeat_from(care_kind)
    if fields.get("plant_id") is not None:
        garden_id = session.scalar(select(Plant.garden_id).where(Plant.id == fields["plant_id"]))
    task = Task(
        garden_id=garden_id or gardens.personal_garden_id(session, user.id),
        source=source,
        alert_id=alert_id,
        care_kind=care_kind,
        created_at=now,
        updated_at=now,
        **fields,
    )
    session.add(task)
    session.flush()
    return task


def update_task(
    session: DbSession, task: Task, data: Mapping[str, Any], now: datetime | None = None, user: User | None = None
) -> Task:
    """Apply the fields present in `data` (a partial update; send all fields to replace), as
    `user` (default: the garden's owner). A task keeps its garden: its plant is one of it."""
    if task.plant_id is not None and str(data.get("plant_id", "")).strip() == str(task.plant_id):
        data = {name: value for name, value in data.items() if name != "plant_id"}  # unchanged: no re-check
    fields = validate_fields(session, data, user or owner(session, task), partial=True)
    if fields.get("plant_id") is not None and (
        session.scalar(select(Plant.garden_id).where(Plant.id == fields["plant_id"])) != task.garden_id
    ):
        raise ValidationError([{"field": "plant_id", "message": MESSAGES["plant_id"]}])
    if "title" in fields:
        task.care_kind = care_kind_of_title(fields["title"]) if task.source != "alert" else task.care_kind
    if "repeat_from" in fields:
        fields["repeat_from"] = fields["repeat_from"] or default_repeat_from(task.care_kind)
    for name, value in fields.items():
        setattr(task, name, value)
    task.updated_at = now or utcnow()
    session.flush()
    return task


def default_repeat_from(care_kind: str | None) -> str:
    return "done" if care_kind == "watered" else "due"


def next_due(due: date | None, done_on: date, every: int, repeat_from: str) -> date:
    """The next occurrence's due date.

    "done": `every` days after the day it was done, early or late. "due": `every` days
    after its own due date, so ticking early never brings the next one before the
    date this one was due; ticked late by more than a period, the next is the first
    date of the schedule after the day it was done. Without a due date: from when done.
    """
    if repeat_from == "done" or due is None:
        return done_on + timedelta(days=every)
    following = due + timedelta(days=every)
    if following <= done_on:
        periods = (done_on - following).days // every + 1
        following += timedelta(days=every * periods)
    return following


def set_completed(
    session: DbSession, task: Task, completed: bool, now: datetime, log_care: bool = True, by: User | None = None
) -> Task | None:
    """Tick or untick `task` (`by`: the member who did it, recorded); returns the next
    occurrence when this call created one.

    Completing a repeating task creates its next occurrence (`next_due`), once: the
    link in `next_task_id` stays while that occurrence exists, so ticking again
    creates nothing new. Unticking takes back what the tick did when nobody has
    touched it since: the next occurrence (still pending and never edited) is deleted,
    so two copies are never pending, and the care the tick logged is removed. The row is
    locked first (FOR UPDATE on PostgreSQL; SQLite write transactions are already
    exclusive), so two simultaneous ticks cannot both create one.
    """
    session.refresh(task, with_for_update=True)
    created = None
    if completed and not task.completed:
        task.completed, task.completed_at = True, now
        task.completed_by_id = by.id if by is not None else None
        on_task_completed(session, task, now, by)
        if log_care:
            task_event(session, task, now, by)
        if task.recurrence_days and task.next_task_id is None:
            created = next_occurrence(session, task, now)
    elif not completed and task.completed:
        task.completed, task.completed_at, task.completed_by_id = False, None, None
        take_back(session, task)
    task.updated_at = now
    session.flush()
    return created


def take_back(session: DbSession, task: Task) -> None:
    """Undo an untouched tick: its next occurrence and the care event it logged."""
    if task.next_task_id is not None:
        following = session.get(Task, task.next_task_id)
        if following is None:
            task.next_task_id = None
        elif not following.completed and following.updated_at == following.created_at:
            task.next_task_id = None
            session.delete(following)
    for event in session.scalars(select(CareEvent).where(CareEvent.task_id == task.id, CareEvent.detected.is_(False))):
        session.delete(event)


def next_occurrence(session: DbSession, task: Task, now: datetime) -> Task:
    if task.recurrence_days is None:
        raise TypeError("a task that does not repeat has no next occurrence")
    done_on = garden_today(session, task.garden_id, now)
    due = next_due(task.due_date, done_on, task.recurrence_days, task.repeat_from)
    following = Task(
        garden_id=task.garden_id,
        assignee_id=task.assignee_id,
        plant_id=task.plant_id,
        alert_id=task.alert_id,
        source=task.source,
        title=task.title,
        description=task.description,
        due_date=due,
        recurrence_days=task.recurrence_days,
        repeat_from=task.repeat_from,
        care_kind=task.care_kind,
        created_at=now,
        updated_at=now,
    )
    session.add(following)
    session.flush()
    task.next_task_id = following.id
    return following


def complete_care_tasks(session: DbSession, plant: Plant, kind: str, event: CareEvent, now: datetime) -> list[Task]:
    """Care just given (a logged or detected watering) completes the plant's open tasks of that
    kind that are due by today (or undated); later ones stay."""
    today = garden_today(session, plant.garden_id, now)
    tasks = session.scalars(
        select(Task)
        .where(Task.plant_id == plant.id, Task.care_kind == kind, Task.completed.is_(False))
        .where((Task.due_date.is_(None)) | (Task.due_date <= today))
        .order_by(Task.id)
    ).all()
    for task in tasks:
        set_completed(session, task, True, now, log_care=False, by=event.by_user)
        task.completion_note = ("Detected from the soil: " if event.detected else "Logged: ") + (
            f"watered {event.at:%Y-%m-%d %H:%M} UTC" if kind == "watered" else kind
        )
    return list(tasks)


def snooze_task(session: DbSession, task: Task, now: datetime, days: int = 1) -> Task:
    """Not today: the task is due `days` after today (the user's today)."""
    task.due_date = garden_today(session, task.garden_id, now) + timedelta(days=days)
    task.updated_at = now
    session.flush()
    return task


def delete_task(session: DbSession, task: Task) -> None:
    session.delete(task)
    session.flush()


def owner(session: DbSession, task: Task) -> User:
    """The person the task's garden answers to (app.domain.gardens.owner_of)."""
    user = gardens.owner_of(session, task.garden_id)
    if user is None:
        raise LookupError(f"garden {task.garden_id} has no owner")
    return user
