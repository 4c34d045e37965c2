"""Watering detected from the soil, in the ingest writer's transaction (after alert evaluation).

For each plant that just got readings and has a soil moisture sensor, the newest
readings within the plant's rise window are checked (app.domain.watering); a rise
logs `watered` with `detected` (once: none is logged when a watering was logged
since the rise began, by hand or detected) and completes the plant's open
watering tasks.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ..domain import care
from ..domain.types import DbSession
from ..domain.watering import DEFAULT_RISE_MINUTES, DEFAULT_RISE_POINTS, detect_rise
from ..models import CareEvent, Plant, PlantSensor
from .series import metric_series

# Readings read back: the window plus the readings just before it that the rise starts from.
LOOKBACK_EXTRA = timedelta(minutes=30)


def detect_waterings(session: DbSession, plant_ids: Iterable[int], now: datetime) -> list[CareEvent]:
    ids = sorted(set(plant_ids))
    if not ids:
        return []
    with_soil = session.scalars(
        select(PlantSensor.plant_id).where(PlantSensor.plant_id.in_(ids), PlantSensor.metric == "soil_moisture")
    ).all()
    logged = []
    plants = select(Plant).where(Plant.id.in_(with_soil)).order_by(Plant.id).execution_options(populate_existing=True)
    for plant in session.scalars(plants):
        event = detect_for_plant(session, plant, now)
        if event is not None:
            logged.append(event)
    return logged


def detect_for_plant(session: DbSession, plant: Plant, now: datetime) -> CareEvent | None:
    points = plant.watering_rise_points or DEFAULT_RISE_POINTS
    minutes = plant.watering_rise_minutes or DEFAULT_RISE_MINUTES
    newest = plant.last_reading_at or now
    start = newest - timedelta(minutes=minutes) - LOOKBACK_EXTRA
    series = metric_series(session, plant.id, "soil_moisture", start, newest + timedelta(seconds=1))
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
