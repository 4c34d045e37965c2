"""Watering detected from the soil, in the ingest writer's transaction (after alert evaluation).

For each plant that just got readings and has a soil moisture sensor, the newest
readings within the plant's rise window are checked (app.domain.watering); a rise
logs `watered` with `detected` (once: none is logged when a watering was logged
since the rise began, by hand or detected) and completes the plant's open
watering tasks.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ..domain import care
from ..domain.readings import metric_series_of_plants
from ..domain.types import DbSession
from ..domain.watering import DEFAULT_RISE_MINUTES, DEFAULT_RISE_POINTS, detect_rise
from ..models import CareEvent, Plant, PlantSensor

# Readings read back: the window plus the readings just before it that the rise starts from.
LOOKBACK_EXTRA = timedelta(minutes=30)


def detect_waterings(session: DbSession, plant_ids: Iterable[int], now: datetime) -> list[CareEvent]:
    ids = sorted(set(plant_ids))
    if not ids:
        return []
    with_soil = session.scalars(
        select(PlantSensor.plant_id).where(PlantSensor.plant_id.in_(ids), PlantSensor.metric == "soil_moisture")
    ).all()
    if not with_soil:
        return []
    plants = select(Plant).where(Plant.id.in_(with_soil)).order_by(Plant.id).execution_options(populate_existing=True)
    plants_and_windows = [(plant, *rise_window(plant, now)) for plant in session.scalars(plants)]
    windows = {plant.id: (start, end) for plant, start, end, _points, _minutes in plants_and_windows}
    series = metric_series_of_plants(session, "soil_moisture", windows)  # one query for the batch's plants
    logged = []
    for plant, _start, _end, points, minutes in plants_and_windows:
        event = detect_for_plant(session, plant, series[plant.id], points, minutes, now)
        if event is not None:
            logged.append(event)
    return logged


def rise_window(plant: Plant, now: datetime) -> tuple[datetime, datetime, float, int]:
    """The [start, end) of the readings a rise is looked for in, the rise's points and minutes."""
    points = plant.watering_rise_points or DEFAULT_RISE_POINTS
    minutes = plant.watering_rise_minutes or DEFAULT_RISE_MINUTES
    newest = plant.last_reading_at or now
    start = newest - timedelta(minutes=minutes) - LOOKBACK_EXTRA
    return start, newest + timedelta(seconds=1), points, minutes


def detect_for_plant(
    session: DbSession,
    plant: Plant,
    series: Sequence[tuple[datetime, float | None]],
    points: float,
    minutes: int,
    now: datetime,
) -> CareEvent | None:
    rise = detect_rise(series, points, minutes)
    if rise is None:
        return None
    since = rise.started_at - timedelta(minutes=minutes)
    already = session.scalar(
        select(func.count(CareEvent.id)).where(
            CareEvent.plant_id == plant.id, CareEvent.kind == "watered", CareEvent.at >= since
        )
    )
    if already:
        return None
    note = f"Detected: soil moisture rose from {rise.before:.0f} % to {rise.after:.0f} %."
    fields = {"kind": "watered", "at": rise.started_at, "note": note, "amount": None}
    return care.log_event(session, plant, fields, None, now, detected=True)
