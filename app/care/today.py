"""Today: what a gardener does now, in their timezone, from four queries.

- plants that need care now: a problem in their latest state (app.domain.status), or an
  open alert;
- tasks that are overdue or due today, worst first; a watering task whose plant's soil
  is still well above its minimum is "not needed yet" (app.domain.watering) and listed
  apart, still doable;
- open alerts (not yet seen).

Tasks assigned to the user come first, in their own list ("Assigned to me").
"""

from dataclasses import dataclass, field
from datetime import datetime

from ..domain import care
from ..domain.describe import problem_label
from ..domain.status import plant_status
from ..domain.tasks import user_today
from ..domain.watering import not_needed_yet
from ..extensions import db
from ..models import Alert, Plant, Task, User
from ..ownership import garden_roles, visible

MAX_TASKS = 100


@dataclass
class TodayTask:
    task: Task
    plant: Plant | None
    overdue: bool
    waits: bool  # a watering not needed yet


@dataclass
class PlantNeed:
    plant: Plant
    problems: list[str]
    last_watered: datetime | None


@dataclass
class Today:
    day: object
    plants: list[PlantNeed] = field(default_factory=list)
    assigned: list[TodayTask] = field(default_factory=list)  # to me: shown first
    tasks: list[TodayTask] = field(default_factory=list)
    waiting: list[TodayTask] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.plants or self.assigned or self.tasks or self.alerts)


def today_for(user: User, now: datetime) -> Today:
    day = user_today(user, now)
    result = Today(day)
    plants = {p.id: p for p in db.session.scalars(visible(Plant, user))}
    alerts = list(
        db.session.scalars(
            visible(Alert, user).where(Alert.resolved_at.is_(None)).order_by(Alert.opened_at.desc(), Alert.id.desc())
        )
    )
    alert_problems: dict[int, list[str]] = {}
    for alert in alerts:
        alert_problems.setdefault(alert.plant_id, []).append(alert.problem)
    result.alerts = [a for a in alerts if a.state == "open"]
    tasks = db.session.scalars(
        visible(Task, user)
        .where(Task.completed.is_(False), Task.due_date <= day)
        # what is assigned to me first, then by due date
        .order_by((Task.assignee_id == user.id).desc(), Task.due_date, Task.created_at, Task.id)
        .limit(MAX_TASKS)
    ).all()
    for task in tasks:
        plant = plants.get(task.plant_id) if task.plant_id else None
        waits = (
            task.care_kind == "watered"
            and task.alert_id is None
            and plant is not None
            and not_needed_yet(plant.latest_soil_moisture, plant.soil_moisture_min, plant.soil_moisture_max)
        )
        item = TodayTask(task, plant, task.due_date is not None and task.due_date < day, waits)
        if task.assignee_id == user.id:
            result.assigned.append(item)
        else:
            (result.waiting if waits else result.tasks).append(item)
    watered = care.last_watered(db.session, list(plants))
    for plant in sorted(plants.values(), key=lambda p: (p.name.lower(), p.id)):
        problems = list(plant_status(plant, now).problems)
        problems += [p for p in alert_problems.get(plant.id, []) if p not in problems]
        if problems:
            result.plants.append(PlantNeed(plant, [problem_label(p) for p in problems], watered.get(plant.id)))
    return result


def today_context(user: User, now: datetime) -> dict:
    return {"today": today_for(user, now), "now": now, "can_in": garden_roles(user)}
