"""The iCal feed, parsed by a third-party parser (`ics`, not the `icalendar` that writes it),
and its done/skip links followed as a phone's calendar would."""

import re
from datetime import date, timedelta

import ics
import pytest

from app.domain import calendar as feeds
from app.extensions import db
from app.models import CareEvent, Task, User
from app.ownership import personal_garden_id

from .care_helpers import add_plant, utc

NOW = utc(2026, 12, 10, 9, 0)


@pytest.fixture
def at_nine(clock):
    clock.move_to(NOW)
    return clock


@pytest.fixture
def tasks(app, at_nine, user_id):
    plant_id = add_plant(app, user_id, name="Basil")
    with app.app_context():
        water = Task(
            garden_id=personal_garden_id(user_id),
            plant_id=plant_id,
            title="Water Basil",
            due_date=date(2026, 12, 10),
            care_kind="watered",
        )
        feed = Task(
            garden_id=personal_garden_id(user_id), title="Feed", due_date=date(2026, 12, 14), recurrence_days=14
        )
        undated = Task(garden_id=personal_garden_id(user_id), title="Someday")
        db.session.add_all([water, feed, undated])
        db.session.commit()
        return {"water": water.id, "feed": feed.id}


def new_feed(client):
    response = client.post("/settings/calendar")
    assert response.status_code == 200
    return re.search(r'<code id="calendar-url"[^>]*>([^<]+)</code>', response.get_data(as_text=True)).group(1)


def path_of(url):
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def parse(client, url):
    response = client.get(path_of(url))
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    return ics.Calendar(response.get_data(as_text=True))


def links_of(event):
    return dict(re.findall(r"(Done|Skip): (\S+)", event.description))


def test_the_feed_parses_and_a_done_link_completes_the_task(app, client, tasks):
    calendar = parse(client, new_feed(client))
    events = {e.name: e for e in calendar.events}
    assert set(events) == {"Water Basil", "Feed"}
    assert events["Feed"].begin.date() == date(2026, 12, 14)
    assert "Plant: Basil" in events["Water Basil"].description
    done = links_of(events["Water Basil"])["Done"]

    anonymous = app.test_client()  # a phone's browser, not signed in
    page = anonymous.get(path_of(done))
    assert page.status_code == 200
    assert "Mark as done" in page.get_data(as_text=True)
    with app.app_context():
        assert not db.session.get(Task, tasks["water"]).completed  # GET changes nothing
    answer = anonymous.post(path_of(done))
    assert answer.status_code == 200
    assert "This task is completed" in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Task, tasks["water"]).completed
        assert db.session.query(CareEvent).filter_by(kind="watered").count() == 1
    assert anonymous.post(path_of(done)).status_code == 200  # a second tap changes nothing more
    with app.app_context():
        assert db.session.query(Task).filter_by(title="Water Basil").count() == 1


def test_links_are_single_purpose_expiring_and_die_with_the_feed(app, client, tasks, at_nine):
    clock = at_nine
    url = new_feed(client)
    events = {e.name: e for e in parse(client, url).events}
    skip = links_of(events["Feed"])["Skip"]
    as_done = path_of(skip).replace("/calendar/skip/", "/calendar/done/")
    assert app.test_client().post(as_done).status_code == 404
    tampered = path_of(skip)[:-3] + "abc"
    assert app.test_client().post(tampered).status_code == 404

    clock.move_to(NOW + feeds.ACTION_MAX_AGE + timedelta(hours=1))
    assert app.test_client().post(path_of(skip)).status_code == 410
    clock.move_to(NOW)

    new_url = new_feed(client)  # a new URL revokes the old one and its links
    assert client.get(path_of(url)).status_code == 404
    assert app.test_client().post(path_of(skip)).status_code == 404
    assert client.get(path_of(new_url)).status_code == 200
    client.post("/settings/calendar/revoke")
    assert client.get(path_of(new_url)).status_code == 404


def test_skip_completes_a_repeating_task_without_logging_care(app, client, tasks):
    events = {e.name: e for e in parse(client, new_feed(client)).events}
    app.test_client().post(path_of(links_of(events["Feed"])["Skip"]))
    with app.app_context():
        task = db.session.get(Task, tasks["feed"])
        assert task.completed
        assert task.completion_note == "Skipped from the calendar."
        assert db.session.query(CareEvent).count() == 0
        assert db.session.get(Task, task.next_task_id).due_date == date(2026, 12, 28)


def test_api_makes_a_new_feed_url(app, at_nine, client, user_id):
    from .api.conftest import ApiClient, make_token

    api = ApiClient(app.test_client(), make_token(app, user_id), user_id)
    first = api.post("/api/v1/calendar-feed")
    assert first.status_code == 201
    second = api.post("/api/v1/calendar-feed").json["url"]
    assert client.get(path_of(first.json["url"])).status_code == 404
    assert client.get(path_of(second)).status_code == 200
    with app.app_context():
        assert db.session.get(User, user_id) is not None


def test_a_feed_secret_is_stored_only_as_a_hash(app, at_nine, client, user_id):
    url = new_feed(client)
    secret = url.rsplit("/", 1)[1].removesuffix(".ics")
    with app.app_context():
        from app.models import CalendarFeed

        assert db.session.query(CalendarFeed).one().token_hash == feeds.hash_secret(secret)
    assert secret not in client.get("/settings").get_data(as_text=True)
