"""Conductivity (soil fertility, µS/cm) end to end in the web pages: form thresholds and
presets, the dashboard card, the plant page's value and chart, the CSV."""

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Plant, Reading
from tests.fixtures.readings import device_ref, new_plant


def fern_with_readings(app, user_id, values):
    """A plant with readings `values` (oldest first, half an hour apart) and the newest as its latest state."""
    now = datetime.now(UTC)
    with app.app_context():
        plant = new_plant(
            db.session, user_id, name="Fern", device_id="flora-1", conductivity_min=200.0, conductivity_max=1200.0
        )
        for age, value in enumerate(reversed(values)):
            db.session.add(
                Reading(
                    device_id=device_ref(db.session, "flora-1"),
                    ts=now - timedelta(minutes=30 * age),
                    conductivity=value,
                )
            )
        plant.last_reading_at, plant.latest_conductivity = now, values[-1]
        db.session.commit()
        return plant.id


def test_the_plant_form_takes_conductivity_thresholds(app, client, user_id):
    form = client.get("/plants/new").get_data(as_text=True)
    assert "Conductivity min (µS/cm)" in form

    response = client.post("/plants/new", data={"name": "Fern", "stale_after_minutes": "60", "conductivity_min": "350"})

    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Plant.conductivity_min)) == 350.0


def test_a_conductivity_above_its_range_or_below_the_minimum_is_an_inline_error(client, user_id):
    data = {"name": "Fern", "stale_after_minutes": "60", "conductivity_min": "900", "conductivity_max": "20000"}
    response = client.post("/plants/new", data=data)
    assert response.status_code == 422
    assert "Use a value from 0 to 10,000 µS/cm." in response.get_data(as_text=True)

    response = client.post("/plants/new", data={**data, "conductivity_max": "500"})
    assert "The maximum must be at least the minimum (900)." in response.get_data(as_text=True)


def test_a_preset_fills_the_conductivity_range(htmx, user_id):
    html = htmx.get("/plants/thresholds?preset=tropical").get_data(as_text=True)
    assert 'name="conductivity_min" step="any" type="number" value="350"' in html
    assert 'name="conductivity_max" step="any" type="number" value="2000"' in html


def test_card_and_plant_page_show_conductivity_and_its_chart(app, client, user_id):
    plant_id = fern_with_readings(app, user_id, [900.0, 1250.0])

    assert "1,250 µS/cm" in client.get("/plants").get_data(as_text=True)
    page = client.get(f"/plants/{plant_id}").get_data(as_text=True)
    assert "<dt>Conductivity</dt><dd>1,250 µS/cm</dd>" in page
    assert 'aria-label="Conductivity over the last 24 hours, 2 points; the table below lists the values"' in page
    assert "Needs care" in page  # 1,250 is above the plant's maximum of 1,200


def test_the_csv_has_a_conductivity_column(app, client, user_id):
    plant_id = fern_with_readings(app, user_id, [900.0])
    rows = list(csv.reader(io.StringIO(client.get(f"/plants/{plant_id}/readings.csv").get_data(as_text=True))))
    column = rows[0].index("conductivity")
    assert rows[1][column] == "900.0"
