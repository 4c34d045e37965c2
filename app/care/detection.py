"""Watering detected from the soil, in the ingest writer's transaction (after alert evaluation).

For each plant that just got readings and has a soil moisture sensor, the newest
readings within the plant's rise window are checked (app.domain.watering); a rise
logs `watered` with `detected` (once: none is logged when a watering was logged
since the rise began, by hand or detected) and completes the plant's open
watering tasks.

Most of a batch's plants have nothing to find, and they are told apart without reading their
series: a plant watered (logged) since `minutes` before its window's end cannot log another
rise, and one whose soil moved less than `points` in its window cannot have risen by `points`.
Only the others' series are read and looked at.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Integer, func, select

from .. import database
from ..domain import care
from ..domain.readings import metric_series_of_plants, metric_spread_of_plants
from ..domain.types import DbSession
from ..domain.watering import DEFAULT_RISE_MINUTES, DEFAULT_RISE_POINTS, detect_rise
from ..models import CareEvent, Plant, PlantSensor

# Readings read back: the window plus the readings just before it that the rise starts from.
LOOKBACK_EXTRA = timedelta(minutes=30)


def detect_waterings(session: DbSession, plant_ids: Iterable[int], now: datetime) -> list[CareEvent]:
    ids = sorted(set(plant_ids))
    if not ids:
        return []
    # What the rise windows need, as plain rows: most batches' plants have no rise to look at,
    # and loading them as Plants would cost a batch of 500 plants more than storing it.
    last_watered = (
        select(func.max(CareEvent.at))
        .where(CareEvent.plant_id == Plant.id, CareEvent.kind == "watered")
        .scalar_subquery()
    )
    rows = session.execute(
        select(Plant.id, Plant.last_reading_at, Plant.watering_rise_points, Plant.watering_rise_minutes,
               PlantSensor.device_id, last_watered)
        .join(PlantSensor, PlantSensor.plant_id == Plant.id)
        .where(database.equals_any(Plant.id, "plant_ids", ids, Integer, session),
               PlantSensor.metric == "soil_moisture")
    ).tuples().all()  # fmt: skip
    windows, rises, bound = {}, {}, []
    for plant_id, last_reading_at, rise_points, rise_minutes, device_id, watered_at in rows:
        start, end = rise_window(last_reading_at, rise_minutes, now)
        minutes = rise_minutes or DEFAULT_RISE_MINUTES
        # A rise starts before `end`, and one whose start is `minutes` or less after a logged
        # watering logs nothing (detect_for_plant): a plant watered since then has nothing to find.
        if watered_at is not None and watered_at >= end - timedelta(minutes=minutes):
            continue
        windows[plant_id] = (start, end)
        rises[plant_id] = (rise_points or DEFAULT_RISE_POINTS, minutes)
        bound.append((plant_id, device_id))
    if not windows:
        return []
    # A rise of `points` needs readings at least `points` apart within the window (a median of
    # three lies between its readings): only those plants' series are read and looked at.
    spread = metric_spread_of_plants(session, "soil_moisture", windows, bound)
    candidates = sorted(plant_id for plant_id, width in spread.items() if width >= rises[plant_id][0])
    if not candidates:
        return []
    windows = {plant_id: windows[plant_id] for plant_id in candidates}
    bound = [(plant_id, device_id) for plant_id, device_id in bound if plant_id in windows]
    series = metric_series_of_plants(session, "soil_moisture", windows, bound)
    of_ids = database.equals_any(Plant.id, "plant_ids", candidates, Integer, session)
    plants = select(Plant).where(of_ids).order_by(Plant.id).execution_options(populate_existing=True)
    logged = []
    for plant in session.scalars(plants):
        points, minutes = rises[plant.id]
        event = detect_for_plant(session, plant, series[plant.id], points, minutes, now)
        if event is not None:
            logged.append(event)
    return logged


def rise_window(last_reading_at: datetime | None, rise_minutes: int | None, now: datetime) -> tuple[datetime, datetime]:
    """The [start, end) of the readings a plant's rise is looked for in."""
    minutes = rise_minutes or DEFAULT_RISE_MINUTES
    newest = last_reading_at or now
    start = newest - timedelta(minutes=minutes) - LOOKBACK_EXTRA
    return start, newest + timedelta(seconds=1)


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
