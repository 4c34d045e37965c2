import csv
import io
import re
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from app.extensions import db
from app.models import Alert, Reading, Task
from app.ownership import personal_garden_id
from tests.fixtures.readings import device_ref, new_plant

from ..fixtures.readings import seed_readings


def now():
    return datetime.now(UTC)


def add_plant(app, user_id, **fields):
    with app.app_context():
        plant = new_plant(db.session, user_id, **{"device_id": "dev-fern", **fields})
        db.session.commit()
        return plant.id


def polylines(html):
    return [points.split() for points in re.findall(r'<polyline class="chart-line" points="([^"]*)"', html)]


def test_plant_page_shows_latest_values_alerts_tasks_and_links(app, client, user_id):
    plant_id = add_plant(app, user_id, soil_moisture_min=30.0, soil_moisture_max=70.0)
    seed_readings(app, plant_id, [{"ts": now(), "soil_moisture": 12.0, "temperature": 19.5, "battery": 90.0}])
    with app.app_context():
        db.session.add(
            Alert(
                garden_id=personal_garden_id(user_id),
                plant_id=plant_id,
                problem="soil_moisture_low",
                metric="soil_moisture",
                value=12.0,
            )
        )
        db.session.add(
            Alert(
                garden_id=personal_garden_id(user_id), plant_id=plant_id, problem="temperature_high", resolved_at=now()
            )
        )
        db.session.add(Task(garden_id=personal_garden_id(user_id), plant_id=plant_id, title="Water the fern"))
        db.session.add(
            Task(garden_id=personal_garden_id(user_id), plant_id=plant_id, title="Old chore", completed=True)
        )
        db.session.commit()

    html = client.get(f"/plants/{plant_id}").get_data(as_text=True)

    assert "Needs care" in html
    assert "12.0 %" in html
    assert "19.5 °C" in html
    assert "Soil moisture low" in html
    assert "temperature high" not in html
    assert "Water the fern" in html
    assert "Old chore" not in html
    assert f'href="/tasks?plant_id={plant_id}"' in html
    assert f'action="/plants/{plant_id}/readings.csv"' in html
    assert len(polylines(html)) >= 2  # soil moisture, temperature, battery have one point each
    assert 'class="chart-band"' in html
    assert "style=" not in html


def test_plant_page_without_readings_says_so(app, client, user_id):
    plant_id = add_plant(app, user_id)
    html = client.get(f"/plants/{plant_id}?range=30d").get_data(as_text=True)
    assert "No reading yet" in html
    assert "No soil moisture readings in the last 30 days" in html


@pytest.mark.parametrize(
    ("range_key", "span"), [("24h", timedelta(hours=24)), ("7d", timedelta(days=7)), ("30d", timedelta(days=30))]
)
def test_charts_are_downsampled_to_at_most_300_points(app, htmx, user_id, range_key, span):
    plant_id = add_plant(app, user_id)
    end = now()
    count = 3000
    step = span / count
    rows = [
        {"ts": end - step * i - timedelta(seconds=1), "soil_moisture": 40.0 + (i % 20), "light": 100.0 * (i % 5)}
        for i in range(count)
    ]
    seed_readings(app, plant_id, rows)

    response = htmx.get(f"/plants/{plant_id}?range={range_key}")

    html = response.get_data(as_text=True)
    assert "<html" not in html  # the charts fragment only
    lines = polylines(html)
    assert len(lines) == 2  # soil moisture and light; the other metrics have no readings
    for points in lines:
        assert 250 <= len(points) <= 300


def test_chart_buckets_hold_min_avg_max(app, client, user_id):
    plant_id = add_plant(app, user_id)
    end = now()
    seed_readings(
        app,
        plant_id,
        [{"ts": end - timedelta(seconds=s), "temperature": t} for s, t in ((10, 10.0), (20, 20.0), (30, 30.0))],
    )
    with app.test_request_context():
        from app.plants.queries import bucketed_readings

        series = bucketed_readings(plant_id, end - timedelta(hours=24), end, 300)
    assert len(series) == 1
    index, values = series[0]
    assert index == 299
    assert values["temperature"] == (10.0, 20.0, 30.0)
    assert values["soil_moisture"] == (None, None, None)


def test_unknown_range_falls_back_to_24_hours(app, client, user_id):
    plant_id = add_plant(app, user_id)
    html = client.get(f"/plants/{plant_id}?range=5y").get_data(as_text=True)
    assert 'aria-current="true">24 hours' in html


def bulk_readings(app, plant_id, count, end, step_seconds=1):
    with app.app_context():
        device = device_ref(db.session, "dev-fern")
        for start in range(0, count, 50_000):
            db.session.connection().execute(
                insert(Reading.__table__),
                [
                    {
                        "device_id": device,
                        "ts": end - timedelta(seconds=i * step_seconds),
                        "soil_moisture": 41.5,
                        "temperature": 20.25,
                    }
                    for i in range(start, min(count, start + 50_000))
                ],
            )
        db.session.commit()


def test_csv_download_has_all_readings_in_the_range_oldest_first(app, client, user_id):
    plant_id = add_plant(app, user_id)
    end = now()
    seed_readings(
        app, plant_id, [{"ts": end - timedelta(days=d), "soil_moisture": float(d), "battery": None} for d in (0, 2, 10)]
    )

    response = client.get(f"/plants/{plant_id}/readings.csv?range=7d")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert f"plant-{plant_id}-readings-7d.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["ts", "soil_moisture", "temperature", "humidity", "light", "conductivity", "battery"]
    assert [row[1] for row in rows[1:]] == ["2.0", "0.0"]
    assert rows[1][0].endswith("Z")
    assert rows[1][5] == ""
    everything = client.get(f"/plants/{plant_id}/readings.csv?range=bogus").get_data(as_text=True)
    assert len(everything.splitlines()) == 4


def streamed_peak(client, url):
    """(bytes, chunks, peak traced memory) of downloading `url` chunk by chunk."""
    tracemalloc.start()
    try:
        response = client.get(url, buffered=False)
        assert response.is_streamed
        sizes = [len(chunk) for chunk in response.iter_encoded()]
        response.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return sum(sizes), len(sizes), peak


@pytest.mark.slow
def test_csv_download_streams_with_flat_memory(app, client, user_id):
    plant_id = add_plant(app, user_id)
    bulk_readings(app, plant_id, 60_000, now(), step_seconds=20)  # 24 h hold 4,320 of them
    client.get(f"/plants/{plant_id}/readings.csv?range=24h").close()  # warm up templates and caches

    day_size, _, day_peak = streamed_peak(client, f"/plants/{plant_id}/readings.csv?range=24h")
    all_size, all_chunks, all_peak = streamed_peak(client, f"/plants/{plant_id}/readings.csv?range=all")

    assert all_size > 10 * day_size > 1_500_000
    assert all_chunks > 50  # sent piece by piece, not as one body
    assert all_peak < day_peak * 1.5 + 200_000, f"peak {all_peak / 1e6:.2f} MB vs {day_peak / 1e6:.2f} MB for 24 h"
    assert all_peak < 3_000_000


def test_csv_download_cut_short_releases_the_cursor(app, client, user_id):
    plant_id = add_plant(app, user_id)
    bulk_readings(app, plant_id, 5000, now())
    response = client.get(f"/plants/{plant_id}/readings.csv", buffered=False)
    first = next(iter(response.response))
    response.close()
    assert first.startswith(b"ts,soil_moisture")
    assert client.get(f"/plants/{plant_id}").status_code == 200
