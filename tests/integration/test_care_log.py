"""The care log: the plant page's form and timeline, the API, the CSV, "Last watered" on the card."""

import csv
import io
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import CareEvent, Task, User

from .care_helpers import add_plant, utc

NOW = utc(2026, 12, 10, 12, 0)


@pytest.fixture
def at_noon(clock):
    clock.move_to(NOW)
    return NOW


def test_logging_care_without_javascript_shows_it_on_the_timeline(app, at_noon, client, user_id):
    plant_id = add_plant(app, user_id)
    response = client.post(
        f"/plants/{plant_id}/care", data={"kind": "fertilized", "amount": "5", "note": "Half strength"}
    )
    assert response.status_code == 303
    assert response.location.endswith(f"/plants/{plant_id}#care-log")
    html = client.get(f"/plants/{plant_id}").get_data(as_text=True)
    assert "Fertilized" in html
    assert "5 g" in html
    assert "Half strength" in html


def test_bad_care_input_is_refused_where_it_was_typed_and_keeps_it(app, at_noon, client, user_id, htmx):
    plant_id = add_plant(app, user_id)
    response = htmx.post(
        f"/plants/{plant_id}/care",
        data={"kind": "watered", "amount": "lots", "note": "kept text", "at": "2027-01-10T10:00"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Enter an amount" in html
    assert "That time is in the future." in html
    assert 'value="kept text"' in html
    assert client.post(f"/plants/{plant_id}/care", data={"kind": "danced"}).status_code == 422
    assert client.post(f"/plants/{plant_id}/care", data={"kind": "note", "note": " "}).status_code == 422
    with app.app_context():
        assert db.session.query(CareEvent).count() == 0


def test_someone_elses_plant_is_404(app, at_noon, client, user_id, other_client):
    plant_id = add_plant(app, user_id)
    assert other_client.post(f"/plants/{plant_id}/care", data={"kind": "watered"}).status_code == 404
    assert other_client.get(f"/plants/{plant_id}/care.csv").status_code == 404


def test_a_time_typed_is_the_gardeners_local_time(app, at_noon, client, auth, user_id):
    with app.app_context():
        db.session.get(User, user_id).timezone = "Europe/Berlin"
        db.session.commit()
    plant_id = add_plant(app, user_id)
    client.post(f"/plants/{plant_id}/care", data={"kind": "watered", "at": "2026-12-10T09:30"})
    with app.app_context():
        assert db.session.query(CareEvent).one().at == utc(2026, 12, 10, 8, 30)


def test_watering_logged_completes_the_due_watering_task_and_shows_on_the_card(app, at_noon, client, user_id):
    plant_id = add_plant(app, user_id)
    client.post("/tasks", data={"title": "Water the fern", "plant_id": plant_id, "due_date": "2026-12-10"})
    client.post("/tasks", data={"title": "Water the fern later", "plant_id": plant_id, "due_date": "2026-12-18"})
    client.post(f"/plants/{plant_id}/care", data={"kind": "watered", "at": "2026-12-08T12:00"})
    with app.app_context():
        done = {t.title: t.completed for t in db.session.query(Task)}
    assert done == {"Water the fern": True, "Water the fern later": False}
    assert "Last watered 2 days ago" in client.get("/plants").get_data(as_text=True)


def test_care_log_csv(app, at_noon, client, user_id):
    plant_id = add_plant(app, user_id)
    client.post(f"/plants/{plant_id}/care", data={"kind": "watered", "amount": "300", "at": "2026-12-09T10:00"})
    client.post(f"/plants/{plant_id}/care", data={"kind": "note", "note": "=HYPERLINK(1)"})
    response = client.get(f"/plants/{plant_id}/care.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["kind"], r["amount"]) for r in rows] == [("watered", "300"), ("note", "")]
    assert rows[0]["at"] == "2026-12-09T10:00:00Z"
    assert rows[1]["note"] == "'=HYPERLINK(1)"  # no formula in a spreadsheet
    assert rows[0]["by"] == "gardener@example.com"


def test_chart_markers_show_care_in_the_window(app, at_noon, client, user_id, readings):
    plant_id = add_plant(app, user_id)
    readings(plant_id, [{"ts": NOW - timedelta(hours=h), "soil_moisture": 40.0 + h} for h in range(1, 20)])
    client.post(f"/plants/{plant_id}/care", data={"kind": "watered", "at": "2026-12-10T06:00"})
    client.post(f"/plants/{plant_id}/care", data={"kind": "pruned", "at": "2026-11-29T06:00"})  # outside 24 h
    html = client.get(f"/plants/{plant_id}").get_data(as_text=True)
    assert html.count('class="chart-marker care-watered"') >= 1
    assert 'class="chart-marker care-pruned"' not in html


def test_watering_detection_is_settable_per_plant(app, at_noon, client, user_id):
    plant_id = add_plant(app, user_id)
    bad = client.post(f"/plants/{plant_id}/watering-detection", data={"watering_rise_points": "500"})
    assert bad.status_code == 422
    assert "Enter 2 to 60" in bad.get_data(as_text=True)
    ok = client.post(
        f"/plants/{plant_id}/watering-detection", data={"watering_rise_points": "12", "watering_rise_minutes": ""}
    )
    assert ok.status_code == 303
    with app.app_context():
        from app.models import Plant

        plant = db.session.get(Plant, plant_id)
        assert (plant.watering_rise_points, plant.watering_rise_minutes) == (12.0, None)
