"""Today: the signed-in home page, in the gardener's timezone, usable without JavaScript."""

from datetime import UTC, datetime, timedelta

import pytest

from app.extensions import db
from app.models import Alert, CareEvent, Plant, Task
from app.ownership import personal_garden_id

from ..conftest import make_user
from .care_helpers import add_plant

NOW = datetime(2026, 12, 10, 23, 30, tzinfo=UTC)  # already 11 Dec in Berlin


@pytest.fixture
def berliner(app, auth, clock):
    clock.move_to(NOW)
    user_id = make_user(app, timezone="Europe/Berlin")
    assert auth.login().status_code == 303
    return user_id


def test_home_is_today_when_signed_in(client, berliner):
    assert client.get("/").location.endswith("/today")


def test_home_is_sign_in_otherwise(client):
    assert "/plants" in client.get("/").location or "/auth/login" in client.get("/").location


def test_today_lists_due_tasks_plants_that_need_care_and_open_alerts(app, client, berliner):
    dry = add_plant(app, berliner, key="dev-dry", name="Basil", soil_moisture_min=30.0, soil_moisture_max=70.0)
    moist = add_plant(app, berliner, key="dev-moist", name="Monstera", soil_moisture_min=30.0, soil_moisture_max=70.0)
    with app.app_context():
        db.session.get(Plant, dry).latest_soil_moisture = 12.0
        db.session.get(Plant, dry).last_reading_at = NOW
        db.session.get(Plant, moist).latest_soil_moisture = 65.0
        db.session.get(Plant, moist).last_reading_at = NOW
        db.session.add_all(
            [
                Task(
                    garden_id=personal_garden_id(berliner),
                    title="Repot the cactus",
                    due_date=datetime(2026, 12, 7).date(),
                ),
                Task(
                    garden_id=personal_garden_id(berliner),
                    title="Feed the basil",
                    due_date=datetime(2026, 12, 11).date(),
                    plant_id=dry,
                ),
                Task(
                    garden_id=personal_garden_id(berliner),
                    title="Tomorrow's chore",
                    due_date=datetime(2026, 12, 12).date(),
                ),
                Task(
                    garden_id=personal_garden_id(berliner),
                    title="Water Monstera",
                    due_date=datetime(2026, 12, 11).date(),
                    plant_id=moist,
                    care_kind="watered",
                ),
                Alert(
                    garden_id=personal_garden_id(berliner),
                    plant_id=dry,
                    problem="soil_moisture_low",
                    metric="soil_moisture",
                    value=12.0,
                ),
                CareEvent(
                    garden_id=personal_garden_id(berliner), plant_id=dry, kind="watered", at=NOW - timedelta(days=3)
                ),
            ]
        )
        db.session.commit()
    html = client.get("/today").get_data(as_text=True)
    assert "Fri 11 Dec" in html  # the gardener's today, not UTC's
    assert "Repot the cactus" in html
    assert "Overdue" in html
    assert "Feed the basil" in html
    assert "Tomorrow's chore" not in html
    assert "Basil" in html
    assert "Soil moisture low" in html
    assert "Last watered 3 days ago" in html
    assert "Not needed yet" in html
    assert "Water Monstera" in html
    assert "<script" not in html.split("</head>")[1]  # nothing on the page needs a script
    assert 'name="viewport"' in html


def test_done_and_snooze_work_as_plain_forms(app, client, berliner):
    with app.app_context():
        done = Task(
            garden_id=personal_garden_id(berliner), title="Mist the fern", due_date=datetime(2026, 12, 11).date()
        )
        later = Task(
            garden_id=personal_garden_id(berliner), title="Dust the leaves", due_date=datetime(2026, 12, 11).date()
        )
        db.session.add_all([done, later])
        db.session.commit()
        done_id, later_id = done.id, later.id
    response = client.post(f"/today/tasks/{done_id}/done")
    assert response.status_code == 303
    assert response.location.endswith("/today")
    client.post(f"/today/tasks/{later_id}/snooze")
    html = client.get("/today").get_data(as_text=True)
    assert "Mist the fern" not in html.split("flash")[-1] or "Done: Mist the fern" in html
    with app.app_context():
        assert db.session.get(Task, done_id).completed
        assert db.session.get(Task, later_id).due_date == datetime(2026, 12, 12).date()


def test_watered_from_today_logs_it_and_others_tasks_are_404(app, berliner, client, other_client):
    plant_id = add_plant(app, berliner)
    with app.app_context():
        task = Task(garden_id=personal_garden_id(berliner), title="Feed", due_date=datetime(2026, 12, 11).date())
        db.session.add(task)
        db.session.commit()
        task_id = task.id
    assert other_client.post(f"/today/tasks/{task_id}/done").status_code == 404
    assert other_client.post(f"/today/tasks/{task_id}/snooze").status_code == 404
    response = client.post(f"/plants/{plant_id}/care", data={"kind": "watered", "next": "/today"})
    assert response.location.endswith("/today")
    response = client.post(f"/plants/{plant_id}/care", data={"kind": "watered", "next": "//evil.example"})
    assert "evil" not in response.location
