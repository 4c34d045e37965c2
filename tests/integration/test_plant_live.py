"""The plant page refreshes itself: a poll with an ETag, 304 while nothing changed, a constant
number of queries, and out-of-band regions that leave the care form alone."""

from datetime import timedelta

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import CareEvent, Task
from app.ownership import personal_garden_id

from .care_helpers import add_plant, utc

NOW = utc(2026, 12, 10, 12, 0)


class Queries:
    def __init__(self, app):
        self.app, self.count = app, 0

    def __enter__(self):
        with self.app.app_context():
            self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self.seen)
        return self

    def seen(self, *args):
        self.count += 1

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self.seen)


@pytest.fixture
def at_noon(clock):
    clock.move_to(NOW)
    return clock


def poll(htmx, plant_id, etag=None):
    headers = {"If-None-Match": f'"{etag}"'} if etag else {}
    return htmx.get(f"/plants/{plant_id}/live", headers=headers)


def test_the_poll_answers_304_until_something_changes(app, at_noon, client, htmx, user_id, readings):
    plant_id = add_plant(app, user_id, soil_moisture_min=30.0)
    page = client.get(f"/plants/{plant_id}").get_data(as_text=True)
    assert 'id="plant-poller"' in page
    assert 'hx-trigger="every 5s"' in page
    first = poll(htmx, plant_id)
    etag = first.get_etag()[0]
    assert poll(htmx, plant_id, etag).status_code == 304
    readings(plant_id, [{"ts": NOW, "soil_moisture": 21.0}])
    changed = poll(htmx, plant_id, etag)
    assert changed.status_code == 200
    html = changed.get_data(as_text=True)
    assert "21.0 %" in html
    assert 'hx-swap-oob="true"' in html
    assert 'name="kind"' not in html  # the care form is never replaced: nothing typed is lost
    etag = changed.get_etag()[0]
    client.post(f"/plants/{plant_id}/care", data={"kind": "misted"})
    again = poll(htmx, plant_id, etag)
    assert again.status_code == 200
    assert "Misted" in again.get_data(as_text=True)


def test_a_poll_costs_the_same_queries_whatever_the_plant_holds(app, at_noon, client, htmx, user_id):
    plant_id = add_plant(app, user_id)

    def counts():
        with Queries(app) as changed:
            response = poll(htmx, plant_id)
        with Queries(app) as unchanged:
            assert poll(htmx, plant_id, response.get_etag()[0]).status_code == 304
        return changed.count, unchanged.count

    small = counts()
    with app.app_context():
        for i in range(30):
            db.session.add(Task(garden_id=personal_garden_id(user_id), plant_id=plant_id, title=f"Task {i}"))
            db.session.add(
                CareEvent(
                    garden_id=personal_garden_id(user_id),
                    plant_id=plant_id,
                    kind="watered",
                    at=NOW - timedelta(hours=i),
                )
            )
        db.session.commit()
    assert counts() == small
    assert small[1] <= 5  # 304: the signed-in session and user, the plant, the fingerprint


def test_someone_elses_plant_poll_is_404(app, other_client, user_id):
    plant_id = add_plant(app, user_id)
    assert other_client.get(f"/plants/{plant_id}/live").status_code == 404
