"""Helpers of the care tests: a plant with a sensor, readings through the writer."""

from datetime import UTC, datetime, timedelta

from app.extensions import db
from app.models import Plant
from app.ownership import personal_garden_id

from ..fixtures.readings import attach_device


def add_plant(app, user_id, key="dev-fern", **fields):
    """A plant bound to device `key` for every metric; returns its id."""
    with app.app_context():
        plant = Plant(garden_id=personal_garden_id(user_id), **{"name": "Fern", **fields})
        db.session.add(plant)
        db.session.flush()
        attach_device(db.session, plant, key)
        db.session.commit()
        return plant.id


def series(start, values, metric="soil_moisture", every=timedelta(minutes=5)):
    return [{"ts": start + i * every, metric: v} for i, v in enumerate(values)]


def utc(*args):
    return datetime(*args, tzinfo=UTC)
