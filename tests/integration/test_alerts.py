"""Alert evaluation, the stale check, the alert-task loop, and the /alerts pages."""

import random
import time
from datetime import UTC, datetime, timedelta

import pytest

from app.alerts.evaluation import evaluate_plants
from app.alerts.stale import StaleCheck
from app.domain.alerts import on_task_completed
from app.domain.devices import primary_device
from app.extensions import db
from app.models import Alert, Plant, Reading, Task
from app.ownership import personal_garden_id

from ..conftest import PASSWORD, make_user
from .alerting import add_plant, alerts, notifications, store, tasks


@pytest.fixture
def plant_id(app, user_id):
    return add_plant(app, user_id)


def test_crossing_opens_one_alert_and_one_water_task(app, plant_id):
    store(app, plant_id, 45.0, 28.0, 25.0, 24.0, 22.0)

    [alert] = alerts(app)
    assert (alert.problem, alert.state, alert.value, alert.threshold) == ("soil_moisture_low", "open", 25.0, 30.0)
    [task] = tasks(app)
    assert (task.title, task.source, task.alert_id, task.plant_id) == ("Water Basil", "alert", alert.id, plant_id)
    assert task.completed is False


def test_one_reading_past_the_threshold_opens_nothing(app, plant_id):
    store(app, plant_id, 45.0, 25.0, 45.0)
    assert alerts(app) == []


def test_min_readings_setting_is_honoured(make_app, user_id):
    app = make_app(ALERT_MIN_READINGS="3")
    plant_id = add_plant(app, user_id)
    store(app, plant_id, 25.0, 25.0)
    assert alerts(app) == []
    store(app, plant_id, 25.0)
    assert len(alerts(app)) == 1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fifty_readings_flapping_around_the_threshold_open_exactly_one_alert(app, plant_id, seed):
    # Each seed dips below 30 % twice in a row (the alert opens) and never climbs back past
    # 30 % + the 2-point margin (it never resolves, so it cannot open again).
    rng = random.Random(seed)
    store(app, plant_id, *[30.0 + rng.uniform(-1.5, 1.5) for _ in range(50)])

    assert [a.state for a in alerts(app)] == ["open"]
    assert len(tasks(app)) == 1


def test_back_inside_without_the_margin_keeps_the_alert_open(app, plant_id):
    store(app, plant_id, 25.0, 25.0, 31.0, 31.5)
    [alert] = alerts(app)
    assert alert.state == "open"


def test_moist_soil_resolves_the_alert_and_completes_the_task_itself(app, plant_id):
    store(app, plant_id, 25.0, 25.0, 45.0)

    [alert] = alerts(app)
    assert alert.state == "resolved"
    assert alert.resolved_at is not None
    [task] = tasks(app)
    assert task.completed is True
    assert task.completion_note == "Done by itself: the soil is moist again (45.0 %)."


def test_dry_again_after_resolving_opens_a_new_alert_and_task(app, plant_id):
    store(app, plant_id, 25.0, 25.0, 45.0, 20.0, 20.0)
    assert [a.state for a in alerts(app)] == ["resolved", "open"]
    assert [t.completed for t in tasks(app)] == [True, False]


def test_a_dry_plant_never_gets_a_second_water_task_while_its_alert_is_open(app, plant_id):
    store(app, plant_id, *([20.0] * 10))
    assert len(alerts(app)) == 1
    assert len(tasks(app)) == 1


def test_temperature_and_battery_alerts_create_no_task(app, plant_id):
    store(app, plant_id, *[{"temperature": 35.0, "battery": 10.0}] * 2)
    assert sorted(a.problem for a in alerts(app)) == ["battery_low", "temperature_high"]
    assert tasks(app) == []


def test_removing_a_threshold_resolves_its_alert_at_the_next_reading(app, plant_id):
    store(app, plant_id, {"temperature": 35.0}, {"temperature": 35.0})
    with app.app_context():
        db.session.get(Plant, plant_id).temperature_max = None
        db.session.commit()
    store(app, plant_id, {"temperature": 35.0})
    assert [a.state for a in alerts(app)] == ["resolved"]


def test_no_webhook_configured_queues_no_message(app, plant_id):
    store(app, plant_id, 25.0, 25.0)
    assert len(alerts(app)) == 1
    assert notifications(app) == []


def test_completing_the_water_task_acknowledges_the_alert(app, plant_id):
    store(app, plant_id, 25.0, 25.0)
    now = datetime.now(UTC)
    with app.app_context():
        task = db.session.scalar(db.select(Task))
        task.completed, task.completed_at = True, now
        on_task_completed(db.session, task, now)
        db.session.commit()
    [alert] = alerts(app)
    assert alert.state == "acknowledged"

    store(app, plant_id, 50.0)
    [alert] = alerts(app)
    assert alert.state == "resolved"
    assert tasks(app)[0].completion_note is None  # the gardener finished it, nothing to add


def test_ticking_the_water_task_in_the_task_list_acknowledges_the_alert(client, app, plant_id):
    store(app, plant_id, 25.0, 25.0)
    [task] = tasks(app)
    assert "Water Basil" in client.get("/tasks").get_data(as_text=True)

    response = client.post(f"/tasks/{task.id}/complete", data={"completed": "1"})

    assert response.status_code == 303
    assert alerts(app)[0].state == "acknowledged"
    assert "Acknowledged" in client.get("/alerts").get_data(as_text=True)


def test_someone_elses_water_task_cannot_acknowledge_the_alert(app, plant_id, other_client):
    store(app, plant_id, 25.0, 25.0)
    [task] = tasks(app)
    assert other_client.post(f"/tasks/{task.id}/complete", data={"completed": "1"}).status_code == 404
    assert alerts(app)[0].state == "open"


def test_completing_an_ordinary_task_touches_no_alert(app, plant_id, user_id):
    store(app, plant_id, 25.0, 25.0)
    now = datetime.now(UTC)
    with app.app_context():
        task = Task(garden_id=personal_garden_id(user_id), title="Repot", completed=True, completed_at=now)
        db.session.add(task)
        on_task_completed(db.session, task, now)
        db.session.commit()
    assert alerts(app)[0].state == "open"


# Stale sensors


def silence(app, plant_id, minutes):
    with app.app_context():
        db.session.get(Plant, plant_id).last_reading_at = datetime.now(UTC) - timedelta(minutes=minutes)
        db.session.commit()


def test_stopped_sensor_opens_a_stale_alert_and_returning_data_resolves_it(app, plant_id):
    store(app, plant_id, 45.0)
    silence(app, plant_id, 61)

    StaleCheck(app).run_once()
    [alert] = alerts(app)
    assert (alert.problem, alert.state, alert.threshold) == ("stale", "open", 60.0)
    assert alert.value == pytest.approx(61, abs=0.2)

    StaleCheck(app).run_once()
    assert len(alerts(app)) == 1

    store(app, plant_id, 45.0)
    assert alerts(app)[0].state == "resolved"


def test_stale_check_resolves_when_the_window_is_widened(app, plant_id):
    store(app, plant_id, 45.0)
    silence(app, plant_id, 61)
    StaleCheck(app).run_once()
    with app.app_context():
        db.session.get(Plant, plant_id).stale_after_minutes = 120
        db.session.commit()
    StaleCheck(app).run_once()
    assert alerts(app)[0].state == "resolved"


def test_plant_that_never_sent_a_reading_is_not_stale(app, plant_id):
    StaleCheck(app).run_once()
    assert alerts(app) == []


def test_the_stale_thread_notices_a_silent_sensor_by_itself(make_app, user_id, clock):
    app = make_app(config={"STALE_CHECK_SECONDS": 0.1})
    plant_id = add_plant(app, user_id, stale_after_minutes=1)
    store(app, plant_id, 45.0)
    check = StaleCheck(app)
    check.start()
    try:
        assert alerts(app, problem="stale") == []
        clock.shift(timedelta(seconds=61))  # the sensor stays silent for a minute
        # The thread checks every 0.1 s of real time; poll for it with a deadline.
        deadline = time.monotonic() + 10
        while not alerts(app, problem="stale") and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        check.stop()
    [alert] = alerts(app, problem="stale")
    assert alert.state == "open"


# Pages


def test_alerts_page_lists_alerts_with_plant_link_and_values(client, app, plant_id):
    store(app, plant_id, 25.0, 25.0)
    page = client.get("/alerts").get_data(as_text=True)

    assert "Soil moisture low" in page
    assert f'href="/plants/{plant_id}"' in page
    assert "25.0 %, threshold 30.0 %" in page
    assert "Acknowledge" in page
    assert '<span class="count" title="1 open alert">1' in page


@pytest.mark.parametrize(
    ("state", "shown"),
    [
        ("", ["open", "resolved"]),
        ("open", ["open"]),
        ("resolved", ["resolved"]),
        ("acknowledged", []),
        ("bogus", ["open", "resolved"]),
    ],
)
def test_alerts_filter_by_state(client, app, plant_id, state, shown):
    store(app, plant_id, {"temperature": 35.0}, {"temperature": 35.0}, {"temperature": 20.0}, 25.0, 25.0)
    page = client.get(f"/alerts?state={state}").get_data(as_text=True)
    assert sorted(s for s in ("open", "resolved", "acknowledged") if f"alert-item alert-{s}" in page) == sorted(shown)


def test_htmx_filter_answers_the_fragment(htmx, app, plant_id):
    store(app, plant_id, 25.0, 25.0)
    response = htmx.get("/alerts?state=open")
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert "Soil moisture low" in body
    assert 'id="alert-count" class="nav-count" hx-swap-oob="true"' in body


def test_acknowledge_with_htmx_swaps_the_alert_and_the_nav_count(htmx, app, plant_id):
    store(app, plant_id, 25.0, 25.0)
    [alert] = alerts(app)

    response = htmx.post(f"/alerts/{alert.id}/acknowledge")

    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'id="alert-{alert.id}"' in body
    assert "Acknowledged" in body
    assert ">Acknowledge</button>" not in body
    assert '<span id="alert-count" class="nav-count" hx-swap-oob="true"></span>' in body
    assert alerts(app)[0].state == "acknowledged"


def test_acknowledge_without_javascript_redirects_back(client, app, plant_id):
    store(app, plant_id, 25.0, 25.0)
    [alert] = alerts(app)
    response = client.post(f"/alerts/{alert.id}/acknowledge?state=open")
    assert response.status_code == 303
    assert response.location.endswith("/alerts?state=open")
    assert alerts(app)[0].state == "acknowledged"


def test_acknowledging_a_resolved_alert_changes_nothing(client, app, plant_id):
    store(app, plant_id, 25.0, 25.0, 50.0)
    [alert] = alerts(app)
    client.post(f"/alerts/{alert.id}/acknowledge")
    assert alerts(app)[0].state == "resolved"


def csrf_token_in(page):
    return page.split('name="csrf_token" value="')[1].split('"')[0]


def test_acknowledge_needs_the_csrf_token(make_app):
    app = make_app(config={"WTF_CSRF_ENABLED": True})
    plant_id = add_plant(app, make_user(app))
    store(app, plant_id, 25.0, 25.0)
    client = app.test_client()
    login_page = client.get("/auth/login").get_data(as_text=True)
    token = login_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/auth/login", data={"email": "gardener@example.com", "password": PASSWORD, "csrf_token": token})
    [alert] = alerts(app)

    assert client.post(f"/alerts/{alert.id}/acknowledge").status_code == 400
    assert alerts(app)[0].state == "open"
    token = csrf_token_in(client.get("/alerts").get_data(as_text=True))
    ok = client.post(f"/alerts/{alert.id}/acknowledge", headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert ok.status_code == 200
    assert alerts(app)[0].state == "acknowledged"


def test_nav_shows_the_open_count_on_every_page(client, app, plant_id):
    store(app, plant_id, 25.0, 25.0, {"temperature": 35.0}, {"temperature": 35.0})
    for path in ("/plants", "/tasks", "/alerts", "/settings"):
        assert '<span class="count" title="2 open alerts">2' in client.get(path).get_data(as_text=True), path


def test_delivery_failure_is_shown_on_the_alert(client, app, plant_id):
    store(app, plant_id, 25.0, 25.0)
    with app.app_context():
        db.session.scalar(db.select(Alert)).notify_error = "Discord message (opened) failed after 5 attempts: HTTP 500"
        db.session.commit()
    assert "failed after 5 attempts: HTTP 500" in client.get("/alerts").get_data(as_text=True)


def test_alerts_page_needs_a_login(client):
    response = client.get("/alerts")
    assert response.status_code == 302
    assert "/auth/login" in response.location


# Isolation between gardeners


@pytest.mark.parametrize("alert_ref", ["theirs", "missing"])
def test_someone_elses_alert_is_404_and_unchanged(app, plant_id, other_client, alert_ref):
    store(app, plant_id, 25.0, 25.0)
    [alert] = alerts(app)
    alert_id = alert.id if alert_ref == "theirs" else alert.id + 1000

    for response in (
        other_client.post(f"/alerts/{alert_id}/acknowledge"),
        other_client.post(f"/alerts/{alert_id}/acknowledge", headers={"HX-Request": "true"}),
    ):
        assert response.status_code == 404
    assert alerts(app)[0].state == "open"


def test_gardeners_see_only_their_own_alerts_and_count(app, plant_id, other_client):
    store(app, plant_id, 25.0, 25.0)
    page = other_client.get("/alerts").get_data(as_text=True)
    assert "Basil" not in page
    assert "No alerts" in page
    assert 'class="count"' not in other_client.get("/plants").get_data(as_text=True)


def test_evaluation_sees_latest_state_moved_by_a_core_update(app, plant_id):
    """The ingest writer moves latest state with UPDATE statements, not through the ORM objects."""
    now = datetime.now(UTC)
    with app.app_context():
        plant = db.session.get(Plant, plant_id)  # an object already in the session, as in a long batch
        device = primary_device(db.session, plant)
        device.last_reading_at = now - timedelta(seconds=10)
        for seconds in (20, 10):
            db.session.add(
                Reading(
                    device_id=device.id,
                    ts=now - timedelta(seconds=seconds),
                    soil_moisture=20.0,
                )
            )
        db.session.execute(
            db.update(Plant)
            .where(Plant.id == plant_id)
            .values(latest_soil_moisture=20.0, last_reading_at=now - timedelta(seconds=10)),
            execution_options={"synchronize_session": False},
        )
        evaluate_plants(db.session, [plant_id], now)
        db.session.commit()
    assert [a.problem for a in alerts(app)] == ["soil_moisture_low"]


def test_many_alerts_are_paged_newest_first(client, app, user_id):
    now = datetime.now(UTC)
    with app.app_context():
        for index in range(55):
            plant = Plant(garden_id=personal_garden_id(user_id), name=f"Plant {index:02d}")
            db.session.add(plant)
            db.session.flush()
            opened = now - timedelta(minutes=60 - index)
            db.session.add(
                Alert(
                    garden_id=personal_garden_id(user_id),
                    plant_id=plant.id,
                    problem="stale",
                    state="open",
                    opened_at=opened,
                )
            )
        db.session.commit()

    first = client.get("/alerts").get_data(as_text=True)
    second = client.get("/alerts?page=2").get_data(as_text=True)
    assert first.count('class="card alert-item') == 50
    assert "Plant 54" in first
    assert "Page 1 of 2" in first
    assert second.count('class="card alert-item') == 5
    assert "Plant 00" in second
