"""Helpers for alert tests: plants with thresholds, readings stored by the ingest writer
(tests/fixtures/readings.py), and the alerts, notifications and tasks they led to."""

from datetime import datetime, timedelta
from typing import Any

from flask import Flask

from app.clock import utcnow
from app.extensions import db
from app.models import Alert, Notification, Task
from tests.fixtures.readings import new_plant

from ..fixtures.readings import device_of, ingest

THRESHOLDS = {
    "soil_moisture_min": 30.0,
    "soil_moisture_max": 70.0,
    "temperature_min": 10.0,
    "temperature_max": 30.0,
}


def add_plant(app: Flask, user_id: int, name: str = "Basil", device_id: str | None = None, **fields: Any) -> int:
    with app.app_context():
        device_id = device_id or f"dev-{name.lower().replace(' ', '-')}-{user_id}"
        plant = new_plant(db.session, user_id, device_id=device_id, name=name, **{**THRESHOLDS, **fields})
        db.session.commit()
        return plant.id


def store(
    app: Flask,
    plant_id: int,
    *readings: float | dict[str, float],
    step: timedelta = timedelta(seconds=10),
    now: datetime | None = None,
) -> None:
    """Store each reading as its own batch through the ingest writer, `step` apart and ending at
    `now`; a reading is a soil moisture number or a dict of metrics."""
    now = now or utcnow()
    start = now - step * len(readings)
    device_id = device_of(app, plant_id)
    for index, reading in enumerate(readings):
        values = reading if isinstance(reading, dict) else {"soil_moisture": reading}
        ingest(app, {device_id: [{"ts": start + step * (index + 1), **values}]}, now)


def alerts(app: Flask, **where: Any) -> list["Row"]:
    with app.app_context():
        query = db.select(Alert).filter_by(**where).order_by(Alert.id)
        return [
            detached(a, "id", "problem", "state", "value", "threshold", "notify_error", "resolved_at")
            for a in db.session.scalars(query)
        ]


def notifications(app: Flask) -> list["Row"]:
    with app.app_context():
        query = db.select(Notification).order_by(Notification.id)
        fields = ("id", "alert_id", "event", "status", "attempts", "last_error", "payload", "next_attempt_at")
        return [detached(n, *fields) for n in db.session.scalars(query)]


def tasks(app: Flask) -> list["Row"]:
    with app.app_context():
        fields = ("id", "title", "source", "alert_id", "plant_id", "completed", "completion_note")
        return [detached(t, *fields) for t in db.session.scalars(db.select(Task).order_by(Task.id))]


class Row:
    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)

    def __repr__(self) -> str:
        return f"Row({self.__dict__})"


def detached(obj: object, *fields: str) -> Row:
    return Row(**{name: getattr(obj, name) for name in fields})
