"""Helpers for alert tests: plants with thresholds, and readings stored the way the ingest
writer stores them (readings + latest state + evaluate_plants, one transaction per batch)."""

from datetime import UTC, datetime, timedelta

from app.alerts.evaluation import evaluate_plants
from app.database import set_read_only
from app.domain.metrics import KEYS as METRICS
from app.extensions import db
from app.models import Alert, Notification, Plant, Reading, Task

THRESHOLDS = {
    "soil_moisture_min": 30.0,
    "soil_moisture_max": 70.0,
    "temperature_min": 10.0,
    "temperature_max": 30.0,
}


def add_plant(app, user_id, name="Basil", device_id=None, **fields):
    with app.app_context():
        plant = Plant(user_id=user_id, name=name, device_id=device_id or f"dev-{name.lower()}-{user_id}")
        for key, value in {**THRESHOLDS, **fields}.items():
            setattr(plant, key, value)
        db.session.add(plant)
        db.session.commit()
        return plant.id


def store(app, plant_id, *readings, step=timedelta(seconds=10), now=None):
    """Store each reading as its own batch; a reading is a soil moisture number or a dict of metrics."""
    now = now or datetime.now(UTC)
    start = now - step * len(readings)
    writable()
    with app.app_context():
        for index, reading in enumerate(readings):
            values = reading if isinstance(reading, dict) else {"soil_moisture": reading}
            store_batch(plant_id, start + step * (index + 1), values, now)
            db.session.commit()


def store_batch(plant_id, ts, values, now):
    store_readings({plant_id: values}, ts, now)


def store_readings(values_by_plant, ts, now):
    """One batch as the writer stores it: readings, each plant's latest state, then evaluation."""
    plants = db.session.scalars(db.select(Plant).where(Plant.id.in_(values_by_plant))).all()
    for plant in plants:
        values = values_by_plant[plant.id]
        db.session.add(Reading(plant_id=plant.id, device_id=plant.device_id, ts=ts, **values))
        plant.last_reading_at = ts
        for metric in METRICS:
            if values.get(metric) is not None:
                setattr(plant, f"latest_{metric}", values[metric])
    evaluate_plants(db.session, list(values_by_plant), now)


def writable():
    """Write like the writer thread does (BEGIN IMMEDIATE). A GET through the test client runs in
    this thread and leaves its read-only mark behind, which would make a later write here start
    with a plain BEGIN and fail with "database is locked" when a worker thread writes too."""
    set_read_only(False)


def alerts(app, **where):
    with app.app_context():
        query = db.select(Alert).filter_by(**where).order_by(Alert.id)
        return [
            detached(a, "id", "problem", "state", "value", "threshold", "notify_error", "resolved_at")
            for a in db.session.scalars(query)
        ]


def notifications(app):
    with app.app_context():
        query = db.select(Notification).order_by(Notification.id)
        fields = ("id", "alert_id", "event", "status", "attempts", "last_error", "payload", "next_attempt_at")
        return [detached(n, *fields) for n in db.session.scalars(query)]


def tasks(app):
    with app.app_context():
        fields = ("id", "title", "source", "alert_id", "plant_id", "completed", "completion_note")
        return [detached(t, *fields) for t in db.session.scalars(db.select(Task).order_by(Task.id))]


class Row:
    def __init__(self, **fields):
        self.__dict__.update(fields)

    def __repr__(self):
        return f"Row({self.__dict__})"


def detached(obj, *fields):
    return Row(**{name: getattr(obj, name) for name in fields})
