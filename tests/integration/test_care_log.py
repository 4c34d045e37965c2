"""The care log: the plant page's form and timeline, the API, the CSV, "Last watered" on the card."""

import csv
import io
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import CareEvent, Task

from .care_helpers import add_plant, utc

NOW = utc(2026, 12, 1, 12, 0)


@pytest.fixture
def at_noon(clock):
    clock.move_to(NOW)
    return NOW


def test_logging_care_without_javascript_shows_it_on_the_timeline(app, client, user_id, at_noon):
    plant_id = add_plant(app, user_id)
    response = client.post(f"/plants/{plant_id}/care", data={"kind": "fertilized", "amount": "5", "note": "Half strength"})
    assert response.status_code == 303
    assert response.location.endswith(f"/plants/{plant_id}#care-log")
    html = client.get(f"/plants/{plant_id}").get_data(as_text=True)
    assert "Fertilized" in html and "5 g" in html and "Half strength" in html


def test_bad_care_input_is_refused_where_it_was_typed_and_keeps_it(app, client, user_id, at_noon, htmx):
    plant_id = add_plant(app, user_id)
    response = htmx.post(
        f"/plants/{plant_id}/care", data={"kind": "watered", "amount": "lots", "note": "kept text", "at": "2027-01-01T10:00"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Enter an amount" in html and "That time is in the future." in html
    assert 'value="kept text"' in html
    assert client.post(f"/plants/{plant_id}/care", data={"kind": "danced"}).status_code == 422
    assert client.post(f"/plants/{plant_id}/care", data={"kind": "note", "note": " "}).status_code == 422
    with app.app_context():
        assert db.session.query(CareEvent).count() == 0


def test_someone_elses_plant_is_404(app, client, user_id, other_client, at_noon):
    plant_id = add_plant(app, user_id)
    assert other_client.post(f"/plants/{plant_id}/care", data={"kind": "watered"}).status_code == 404
    assert other_client.get(f"/plants/{plant_id}/care.csv").status_code == 404


def test_a_time_typed_is_the_gardeners_local_time(app, client, auth, user_id, at_noon):
    with app.app_context():
        auth.user().timezone = "Europe/Berlin"
        db.session.commit()
    plant_id = add_plant(app, user_id)
    client.post(f"/plants/{plant_id}/care", data={"kind": "watered", "at": "2026-12-01T09:30"})
    with app.app_context():
        assert db.session.query(CareEvent).one().at == utc(2026, 12, 1, 8, 30)


def test_watering_logged_completes_the_due_watering_task_and_shows_on_the_card(app, client, user_id, at_noon):
    plant_id = add_plant(app, user_id)
    client.post("/tasks", data={"title": "Water the fern", "plant_id": plant_id, "due_date": "2026-12-01"})
    client.post("/tasks", data={"title": "Water the fern later", "plant_id": plant_id, "due_date": "2026-12-09"})
    client.post(f"/plants/{plant_id}/care", data={"kind": "watered", "at": "2026-11-29T12:00"})
    with app.app_context():
        done = {t.title: t.completed for t in db.session.query(Task)}
    assert done == {"Water the fern": True, "Water the fern later": False}
    assert "Last watered 2 days ago" in client.get("/plants").get_data(as_text=True)


def test_api_lists_and_creates_events(app, api, other_api, clock):
    clock.move_to(NOW)
    plant_id = add_plant(app, api.user_id)
    created = api.post(f"/api/v1/plants/{plant_id}/events", json={"kind": "watered", "amount": 250})
    assert created.status_code == 201, created.json
    body = created.json
    assert body["kind"] == "watered" and body["amount"] == 250 and body["detected"] is False
    assert body["at"] == "2026-12-01T12:00:00Z"
    api.post(f"/api/v1/plants/{plant_id}/events", json={"kind": "note", "note": "Repot soon", "at": "2026-11-30T08:00:00Z"})
    items = api.get(f"/api/v1/plants/{plant_id}/events").json["items"]
    assert [i["kind"] for i in items] == ["watered", "note"]
    assert set(items[0]) == {"id", "kind", "at", "note", "amount", "detected", "by"}
    assert other_api.get(f"/api/v1/plants/{plant_id}/events").status_code == 404
    assert other_api.post(f"/api/v1/plants/{plant_id}/events", json={"kind": "watered"}).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "danced"}, "kind"),
        ({"kind": "watered", "amount": -1}, "amount"),
        ({"kind": "watered", "amount": "250"}, "amount"),
        ({"kind": "watered", "note": "x" * 501}, "note"),
        ({"kind": "watered", "at": "yesterday"}, "at"),
        ({"kind": "watered", "at": "2030-01-01T00:00:00Z"}, "at"),
        ({"kind": "watered", "extra": 1}, "extra"),
        ({"kind": "note"}, "note"),
    ],
)
def test_api_refuses_bad_events(app, api, clock, body, field):
    clock.move_to(NOW)
    plant_id = add_plant(app, api.user_id)
    response = api.post(f"/api/v1/plants/{plant_id}/events", json=body)
    assert response.status_code == 422, response.json
    assert field in {d["field"].split(".")[0] for d in response.json["detail"]}


def test_api_refuses_malformed_json(app, api):
    plant_id = add_plant(app, api.user_id)
    response = api.post(f"/api/v1/plants/{plant_id}/events", data="{nope", content_type="application/json")
    assert response.status_code == 400


def test_care_log_csv(app, client, user_id, at_noon):
    plant_id = add_plant(app, user_id)
    client.post(f"/plants/{plant_id}/care", data={"kind": "watered", "amount": "300", "at": "2026-11-30T10:00"})
    client.post(f"/plants/{plant_id}/care", data={"kind": "note", "note": "=HYPERLINK(1)"})
    response = client.get(f"/plants/{plant_id}/care.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["kind"], r["amount"]) for r in rows] == [("watered", "300"), ("note", "")]
    assert rows[0]["at"] == "2026-11-30T10:00:00Z"
    assert rows[1]["note"] == "'=HYPERLINK(1)"  # no formula in a spreadsheet
    assert rows[0]["by"] == "gardener@example.com"


def test_chart_markers_show_care_in_the_window(app, client, user_id, at_noon, readings):
    plant_id = add_plant(app, user_id)
    readings(plant_id, [{"ts": NOW - timedelta(hours=h), "soil_moisture": 40.0 + h} for h in range(1, 20)])
    client.post(f"/plants/{plant_id}/care", data={"kind": "watered", "at": "2026-12-01T06:00"})
    client.post(f"/plants/{plant_id}/care", data={"kind": "pruned", "at": "2026-11-20T06:00"})  # outside 24 h
    html = client.get(f"/plants/{plant_id}").get_data(as_text=True)
    assert html.count('class="chart-marker care-watered"') >= 1
    assert 'class="chart-marker care-pruned"' not in html
