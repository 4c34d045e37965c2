"""The plant page's change fingerprint: one aggregate query over what its live regions show."""

import hashlib
from datetime import datetime

from sqlalchemy import func, select

from ..domain.types import DbSession
from ..models import Alert, CareEvent, Plant, Task

CLOCK_BUCKET_SECONDS = 30  # "received 2 min ago" moves with the clock alone


def plant_fingerprint(session: DbSession, plant: Plant, now: datetime) -> str:
    alerts = select(Alert.id).where(Alert.plant_id == plant.id, Alert.resolved_at.is_(None))
    tasks = select(Task.id).where(Task.plant_id == plant.id)
    events = select(CareEvent.id).where(CareEvent.plant_id == plant.id)
    row = session.execute(
        select(
            Plant.updated_at,
            Plant.last_reading_at,
            alerts.with_only_columns(func.count(Alert.id)).scalar_subquery(),
            alerts.with_only_columns(func.coalesce(func.max(Alert.id), 0)).scalar_subquery(),
            alerts.with_only_columns(func.count(Alert.acknowledged_at)).scalar_subquery(),
            tasks.with_only_columns(func.count(Task.id)).scalar_subquery(),
            tasks.with_only_columns(func.max(Task.updated_at)).scalar_subquery(),
            events.with_only_columns(func.count(CareEvent.id)).scalar_subquery(),
            events.with_only_columns(func.coalesce(func.max(CareEvent.id), 0)).scalar_subquery(),
        ).where(Plant.id == plant.id)
    ).one()
    bucket = int(now.timestamp()) // CLOCK_BUCKET_SECONDS
    key = "|".join(map(str, (plant.id, *row, bucket)))
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
