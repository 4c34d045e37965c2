"""A plant's readings for the care features, read only through plant_readings (each metric
from the device bound for it: app/domain/readings.py, docs/contracts.md "Devices")."""

from datetime import datetime

from sqlalchemy import select

from ..domain.readings import plant_readings
from ..domain.types import DbSession


def metric_series(
    session: DbSession, plant_id: int, metric: str, start: datetime, end: datetime
) -> list[tuple[datetime, float | None]]:
    """[(ts, value)] of one metric in [start, end), oldest first; rows without the metric skipped."""
    sq = plant_readings(session, plant_id)
    column = sq.c[metric]
    query = select(sq.c.ts, column).where(sq.c.ts >= start, sq.c.ts < end, column.is_not(None)).order_by(sq.c.ts)
    return [(ts, value) for ts, value in session.execute(query)]
