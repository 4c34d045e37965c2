"""The alert lifecycle: open, acknowledge, resolve, and the care task that goes with a dry plant.

Every function works in the caller's transaction (the ingest writer's batch,
the stale check, a web request) and never commits. Opening and resolving tell
`notify` (app.alerts.messages.enqueue in the app: the Discord outbox), so this
module knows nothing of configuration or webhooks.
"""

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError

from ..models import Alert, Plant, Task, User
from .describe import format_value
from .types import DbSession

# notify(session, alert, "opened" | "resolved", value, now)
Notify = Callable[[DbSession, Alert, str, float | None, datetime], object]

WATER_PROBLEM = "soil_moisture_low"


def open_alerts_by_plant(session: DbSession, plant_ids: Iterable[int]) -> dict[int, dict[str, Alert]]:
    """{plant_id: {problem: Alert}} of the unresolved alerts of these plants."""
    alerts = session.scalars(select(Alert).where(Alert.plant_id.in_(plant_ids), Alert.resolved_at.is_(None)))
    by_plant: dict[int, dict[str, Alert]] = {}
    for alert in alerts:
        by_plant.setdefault(alert.plant_id, {})[alert.problem] = alert
    return by_plant


def open_alert(
    session: DbSession,
    plant: Plant,
    problem: str,
    metric: str | None,
    value: float | None,
    threshold: float | None,
    now: datetime,
    notify: Notify,
) -> Alert | None:
    """Open an alert, its care task and its message; None when one is open already.

    Another process may have opened the same alert a moment ago: the partial
    unique index refuses the second, and the savepoint keeps the caller's batch.
    """
    alert = Alert(
        garden_id=plant.garden_id,
        plant_id=plant.id,
        problem=problem,
        metric=metric,
        value=value,
        threshold=threshold,
        state="open",
        opened_at=now,
    )
    try:
        with session.begin_nested():
            session.add(alert)
    except IntegrityError:
        return None
    if problem == WATER_PROBLEM:
        add_water_task(session, plant, alert, now)
    notify(session, alert, "opened", value, now)
    return alert


def add_water_task(session: DbSession, plant: Plant, alert: Alert, now: datetime) -> None:
    """The dry plant's "Water" task, due now (today where the gardener lives), so it sorts with
    the overdue ones; a watering task, so a logged or detected watering completes it too."""
    from .tasks import garden_today  # the tasks service imports this module

    already = session.scalar(select(Task.id).where(Task.alert_id == alert.id, Task.completed.is_(False)))
    if already is not None:
        return
    session.add(
        Task(
            garden_id=plant.garden_id,
            plant_id=plant.id,
            alert_id=alert.id,
            source="alert",
            title=f"Water {plant.name}"[:200],
            due_date=garden_today(session, plant.garden_id, now),
            care_kind="watered",
            repeat_from="done",
            description=(
                f"Soil moisture is {format_value(alert.metric, alert.value)}, below the minimum of "
                f"{format_value(alert.metric, alert.threshold)}. "
                "This task completes itself once the soil is moist again."
            ),
        )
    )


def resolve_alert(session: DbSession, alert: Alert, value: float | None, now: datetime, notify: Notify) -> bool:
    """Resolve `alert` (value: the value that ended it); False when someone else resolved it first."""
    # An UPDATE's result is a CursorResult, which has the rowcount; execute() is typed for any statement.
    result = cast(
        CursorResult[Any],
        session.execute(
            update(Alert)
            .where(Alert.id == alert.id, Alert.resolved_at.is_(None))
            .values(state="resolved", resolved_at=now)
            .execution_options(synchronize_session="fetch")
        ),
    )
    if result.rowcount != 1:
        return False
    session.refresh(alert)
    if alert.problem == WATER_PROBLEM:
        complete_water_tasks(session, alert, value, now)
    notify(session, alert, "resolved", value, now)
    return True


def complete_water_tasks(session: DbSession, alert: Alert, value: float | None, now: datetime) -> None:
    if value is not None:
        note = f"Done by itself: the soil is moist again ({format_value(alert.metric, value)})."
    else:
        note = "Closed by itself: the soil moisture alert no longer applies."
    for task in session.scalars(select(Task).where(Task.alert_id == alert.id, Task.completed.is_(False))):
        task.completed = True
        task.completed_at = now
        task.completion_note = note


def acknowledge(alert: Alert, now: datetime, by: User | None = None) -> bool:
    """A member has seen it (`by`, recorded): an open alert becomes acknowledged (stays until resolved)."""
    if alert.state != "open":
        return False
    alert.state = "acknowledged"
    alert.acknowledged_at = now
    alert.acknowledged_by_id = by.id if by is not None else None
    return True


def on_task_completed(session: DbSession, task: Task, now: datetime, by: User | None = None) -> None:
    """Called by the tasks service when a task is ticked: watering a dry plant acknowledges its alert."""
    if not task.completed or task.alert_id is None:
        return
    alert = session.get(Alert, task.alert_id)
    if alert is not None and alert.resolved_at is None:
        acknowledge(alert, now, by)
