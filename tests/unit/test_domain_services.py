"""The domain's services on a plain SQLAlchemy session: no Flask app, no app or request context."""

from datetime import UTC, datetime, timedelta

import flask
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from app.domain import devices, plants, tasks
from app.domain.errors import ValidationError
from app.domain.evaluate import AlertPolicy, check_stale, evaluate_plants
from app.domain.gardens import create_personal_garden
from app.models import Alert, Device, Plant, Reading, Task, User
from app.orm import db

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    db.metadata.create_all(engine)
    with Session(engine) as session:
        assert not flask.has_app_context()
        yield session
    engine.dispose()


@pytest.fixture
def gardener(session):
    user = User(email="g@example.com", password_hash="x", timezone="UTC")
    session.add(user)
    session.flush()
    create_personal_garden(session, user)
    return user


def device_id(session, key="d1"):
    return session.scalar(select(Device.id).where(Device.key == key))


def problems(call):
    with pytest.raises(ValidationError) as raised:
        call()
    return raised.value.detail


def test_creating_a_plant_binds_its_device_and_leaves_the_commit_to_the_caller(session, gardener):
    plant = plants.create_plant(session, gardener, {"name": "Fern", "device_id": "flora-1"})
    assert plant.id is not None
    assert session.scalar(select(Device.key)) == "flora-1"
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Plant)) == 0


def test_a_device_serves_two_plants_and_a_minimum_above_its_maximum_is_a_field_error(session, gardener):
    plants.create_plant(session, gardener, {"name": "Fern", "device_id": "flora-1"})
    plants.create_plant(session, gardener, {"name": "Ivy", "device_id": "flora-1"})
    assert session.scalar(select(func.count()).select_from(Device)) == 1
    detail = problems(
        lambda: plants.create_plant(
            session, gardener, {"name": "Palm", "device_id": "flora-1", "light_min": 900.0, "light_max": 100.0}
        )
    )
    assert detail == [{"field": "light_max", "message": "The maximum must be at least the minimum (900)."}]


def test_a_bad_device_id_is_refused(session, gardener):
    detail = problems(lambda: plants.create_plant(session, gardener, {"name": "Fern", "device_id": "a/b"}))
    assert detail == [{"field": "device_id", "message": devices.DEVICE_KEY_MESSAGE}]


def test_completing_a_repeating_task_creates_the_next_one_without_an_app(session, gardener):
    task = tasks.create_task(session, gardener, {"title": "Water", "recurrence_days": 3}, now=NOW)
    following = tasks.set_completed(session, task, True, NOW)
    assert following.due_date == NOW.date() + timedelta(days=3)
    assert task.next_task_id == following.id


def test_evaluation_opens_an_alert_and_tells_the_notifier(session, gardener):
    plant = plants.create_plant(session, gardener, {"name": "Fern", "device_id": "d1", "soil_moisture_min": 30.0})
    for minutes in (2, 1):
        session.add(Reading(device_id=device_id(session), ts=NOW - timedelta(minutes=minutes), soil_moisture=12.0))
    plant.latest_soil_moisture, plant.last_reading_at = 12.0, NOW - timedelta(minutes=1)
    session.flush()
    heard = []
    evaluate_plants(session, [plant.id], NOW, AlertPolicy(2, 0.05), lambda *event: heard.append(event[2]))
    assert [a.problem for a in session.scalars(select(Alert))] == ["soil_moisture_low"]
    assert heard == ["opened"]
    assert session.scalar(select(Task.title)) == "Water Fern"  # the care task that goes with a dry plant


def test_the_stale_check_opens_an_alert_for_a_silent_plant(session, gardener):
    plant = plants.create_plant(session, gardener, {"name": "Fern", "stale_after_minutes": 60})
    plant.last_reading_at = NOW - timedelta(hours=2)
    session.flush()
    assert check_stale(session, NOW, lambda *event: None) == (1, 0)


@pytest.mark.parametrize(("value", "problem"), [(90.0, "conductivity_low"), (2500.0, "conductivity_high")])
def test_a_conductivity_past_its_thresholds_opens_its_alert(session, gardener, value, problem):
    fields = {"name": "Fern", "device_id": "d1", "conductivity_min": 200.0, "conductivity_max": 1200.0}
    plant = plants.create_plant(session, gardener, fields)
    for minutes in (2, 1):
        session.add(Reading(device_id=device_id(session), ts=NOW - timedelta(minutes=minutes), conductivity=value))
    plant.latest_conductivity, plant.last_reading_at = value, NOW - timedelta(minutes=1)
    session.flush()
    evaluate_plants(session, [plant.id], NOW, AlertPolicy(2, 0.05), lambda *event: None)
    assert [(a.problem, a.value) for a in session.scalars(select(Alert))] == [(problem, value)]
