"""Daily light: each plant's light integral per local day, judged once a day in the daytime.

Run by the periodic check (app.alerts.stale.StaleCheck) every round; it costs one
query over plants when there is nothing to do. For each plant with a light
threshold (or a light sensor) whose yesterday, in its owner's timezone, has no
row in plant_light_days yet, yesterday's DLI is computed from the plant's light
readings and stored. Between 09:00 and 18:00 local time only, a complete day
below the minimum opens "light_low" (above the maximum: "light_high"), and a
complete day inside the range resolves it. So no light alert opens at night.
"""

from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from ..domain import daylight
from ..domain.alerts import Notify, open_alert, open_alerts_by_plant, resolve_alert
from ..domain.gardens import owner_id_of_garden
from ..domain.types import DbSession
from ..models import Garden, Plant, PlantLightDay, PlantSensor, User
from .series import metric_series


def zone_of(name: str | None):
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def plant_day_light(session: DbSession, plant_id: int, day: date, zone) -> daylight.DayLight:
    start, end = daylight.local_day_bounds(day, zone)
    series = metric_series(session, plant_id, "light", start - daylight.MAX_GAP, end + daylight.MAX_GAP)
    return daylight.day_light(series, day, zone)


def due_plants(session: DbSession, now: datetime) -> list[tuple[Plant, date, tzinfo]]:
    """(plant, its yesterday, zone) for plants with a light sensor whose yesterday is not stored."""
    rows = session.execute(
        select(Plant, User.timezone)
        .join(Garden, Garden.id == Plant.garden_id)
        .outerjoin(User, User.id == owner_id_of_garden())
        .where(Plant.id.in_(select(PlantSensor.plant_id).where(PlantSensor.metric == "light")))
        .order_by(Plant.id)
    ).all()
    if not rows:
        return []
    stored = set(
        session.execute(
            select(PlantLightDay.plant_id, PlantLightDay.day).where(
                PlantLightDay.day >= (now - timedelta(days=2)).date()
            )
        ).tuples()
    )
    due = []
    for plant, timezone in rows:
        zone = zone_of(timezone)
        yesterday = now.astimezone(zone).date() - timedelta(days=1)
        if (plant.id, yesterday) not in stored:
            due.append((plant, yesterday, zone))
    return due


def due_now(session: DbSession, now: datetime) -> list[tuple[Plant, date, tzinfo]]:
    return [(p, d, z) for p, d, z in due_plants(session, now) if daylight.judging_hours(now.astimezone(z))]


def light_pending(session: DbSession, now: datetime) -> bool:
    return bool(due_now(session, now))


def judge_daily_light(session: DbSession, now: datetime, notify: Notify) -> int:
    """Store yesterday's light of the plants due and judge it: only in the plant's daytime
    (daylight.judging_hours), so each day is stored and judged together, once. Returns how
    many days were stored."""
    count = 0
    due = due_now(session, now)
    if not due:
        return 0
    open_by_plant = open_alerts_by_plant(session, [plant.id for plant, _, _ in due])
    for plant, yesterday, zone in due:
        light = plant_day_light(session, plant.id, yesterday, zone)
        session.add(PlantLightDay(plant_id=plant.id, day=yesterday, dli=light.dli, complete=light.complete))
        count += 1
        if light.complete:
            judge_plant(session, plant, light, open_by_plant.get(plant.id, {}), now, notify)
    session.flush()
    return count


def judge_plant(session: DbSession, plant: Plant, light: daylight.DayLight, open_alerts, now, notify) -> None:
    problem = daylight.daily_problem(light.dli, plant.light_min, plant.light_max)
    for side in ("light_low", "light_high"):
        alert = open_alerts.get(side)
        if alert is not None and problem != side:
            resolve_alert(session, alert, light.dli, now, notify)
    if problem is not None and problem not in open_alerts:
        threshold = plant.light_min if problem == "light_low" else plant.light_max
        open_alert(session, plant, problem, "light", light.dli, threshold, now, notify)
