"""Recurrence that fits care, the alert's task due now, care tasks logging care."""

from datetime import UTC, date, datetime

import pytest

from app.domain import tasks as service
from app.domain.alerts import open_alert
from app.extensions import db
from app.models import CareEvent, Plant, Task, User
from app.ownership import personal_garden_id

from ..conftest import make_user

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def gardener(app):
    user_id = make_user(app)
    with app.app_context():
        yield db.session.get(User, user_id)


def plant_of(user):
    plant = Plant(garden_id=personal_garden_id(user.id), name="Fern", soil_moisture_min=30.0, soil_moisture_max=70.0)
    db.session.add(plant)
    db.session.flush()
    return plant


def test_ticked_early_from_the_due_date_keeps_the_schedule(gardener):
    task = service.create_task(
        db.session, gardener, {"title": "Feed", "due_date": "2026-12-24", "recurrence_days": 7}, now=NOW
    )
    assert task.repeat_from == "due"
    following = service.set_completed(db.session, task, True, NOW)
    assert following.due_date == date(2026, 12, 31)


def test_watering_repeats_from_when_done_by_default(gardener):
    plant = plant_of(gardener)
    task = service.create_task(
        db.session,
        gardener,
        {"title": "Water the fern", "due_date": "2026-12-24", "recurrence_days": 7, "plant_id": plant.id},
        now=NOW,
    )
    assert (task.care_kind, task.repeat_from) == ("watered", "done")
    assert service.set_completed(db.session, task, True, NOW).due_date == date(2026, 12, 8)


def test_unticking_takes_back_the_untouched_next_occurrence_and_the_logged_care(gardener):
    plant = plant_of(gardener)
    task = service.create_task(
        db.session, gardener, {"title": "Water", "recurrence_days": 3, "plant_id": plant.id}, now=NOW
    )
    following = service.set_completed(db.session, task, True, NOW)
    assert db.session.query(CareEvent).filter_by(kind="watered").count() == 1
    service.set_completed(db.session, task, False, NOW)
    pending = db.session.query(Task).filter_by(completed=False).all()
    assert [t.id for t in pending] == [task.id]  # one copy pending, not two
    assert db.session.get(Task, following.id) is None
    assert db.session.query(CareEvent).count() == 0
    again = service.set_completed(db.session, task, True, NOW)
    assert again is not None  # ticking again makes the next one anew


def test_unticking_keeps_a_next_occurrence_that_was_edited(gardener):
    task = service.create_task(db.session, gardener, {"title": "Feed", "recurrence_days": 3}, now=NOW)
    following = service.set_completed(db.session, task, True, NOW)
    service.update_task(
        db.session, following, {"description": "with the blue can"}, now=datetime(2026, 12, 2, tzinfo=UTC)
    )
    service.set_completed(db.session, task, False, NOW)
    assert db.session.get(Task, following.id) is not None


def test_the_alerts_water_task_is_due_now(gardener):
    gardener.timezone = "Pacific/Auckland"  # already 2 Dec there
    plant = plant_of(gardener)
    at_noon_utc = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # 01:00 on 2 Dec in Auckland
    open_alert(db.session, plant, "soil_moisture_low", "soil_moisture", 12.0, 30.0, at_noon_utc, lambda *a: None)
    task = db.session.query(Task).one()
    assert task.due_date == date(2026, 12, 2)
    assert (task.care_kind, task.repeat_from) == ("watered", "done")


def test_repeat_from_is_validated(gardener):
    with pytest.raises(service.ValidationError) as caught:
        service.create_task(db.session, gardener, {"title": "Feed", "repeat_from": "sometimes"}, now=NOW)
    assert caught.value.detail[0]["field"] == "repeat_from"


def test_the_api_toggle_takes_back_the_next_occurrence(app, client):
    from .api.conftest import ApiClient, make_token

    user_id = make_user(app, email="api@example.com")
    api = ApiClient(app.test_client(), make_token(app, user_id), user_id)
    task = api.post("/api/v1/tasks", json={"title": "Feed", "recurrence_days": 7, "due_date": "2026-12-24"}).json
    assert task["repeat_from"] == "due"
    api.patch(f"/api/v1/tasks/{task['id']}/complete")
    assert api.get("/api/v1/tasks?status=pending").json["total"] == 1
    api.patch(f"/api/v1/tasks/{task['id']}/complete")
    pending = api.get("/api/v1/tasks?status=pending").json
    assert [t["id"] for t in pending["items"]] == [task["id"]]
