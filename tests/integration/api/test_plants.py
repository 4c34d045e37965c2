from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.domain.devices import DEVICE_KEY_MESSAGE
from app.extensions import db
from app.models import Alert, Device, Plant, PlantSensor, Reading
from app.ownership import personal_garden_id

PLANT_KEYS = {
    "id",
    "garden_id",
    "name",
    "species",
    "location",
    "device_id",
    "sensors",
    "thresholds",
    "stale_after_minutes",
    "status",
    "status_label",
    "problems",
    "problem_labels",
    "latest",
    "created_at",
    "updated_at",
}
FERN = {
    "name": "Fern",
    "species": "Nephrolepis",
    "location": "Bathroom",
    "device_id": "esp32-fern_1.a",
    "thresholds": {"soil_moisture": {"min": 30, "max": 70}, "temperature": {"min": 12, "max": None}},
    "stale_after_minutes": 30,
}


def test_create_answers_201_with_the_plant(api):
    response = api.post("/api/v1/plants", json=FERN)
    assert response.status_code == 201
    plant = response.get_json()
    assert set(plant) == PLANT_KEYS
    assert plant["device_id"] == "esp32-fern_1.a"
    assert plant["thresholds"] == {
        "soil_moisture": {"min": 30, "max": 70},
        "temperature": {"min": 12, "max": None},
        "humidity": {"min": None, "max": None},
        "light": {"min": None, "max": None},
        "conductivity": {"min": None, "max": None},
    }
    assert (plant["status"], plant["problems"], plant["latest"]) == ("no_data", [], None)
    assert plant["stale_after_minutes"] == 30
    assert api.get(f"/api/v1/plants/{plant['id']}").get_json() == plant


def test_create_with_only_a_name_uses_defaults(api):
    plant = api.post("/api/v1/plants", json={"name": "Cactus"}).get_json()
    assert (plant["species"], plant["location"], plant["device_id"], plant["stale_after_minutes"]) == ("", "", None, 60)


def set_latest(app, plant_id, minutes_ago, **values):
    with app.app_context():
        plant = db.session.get(Plant, plant_id)
        plant.last_reading_at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
        for metric, value in values.items():
            setattr(plant, f"latest_{metric}", value)
        db.session.commit()


def test_list_shows_status_problems_and_latest_reading(app, api):
    dry = api.post("/api/v1/plants", json={**FERN, "name": "Dry fern"}).get_json()
    fine = api.post("/api/v1/plants", json={"name": "Aloe", "device_id": "aloe"}).get_json()
    silent = api.post("/api/v1/plants", json={"name": "Basil", "stale_after_minutes": 10}).get_json()
    api.post("/api/v1/plants", json={"name": "Cress"})
    set_latest(app, dry["id"], 1, soil_moisture=12.5, temperature=20.0, battery=9)
    set_latest(app, fine["id"], 1, soil_moisture=50.0)
    set_latest(app, silent["id"], 30, soil_moisture=50.0)

    items = {p["name"]: p for p in api.get("/api/v1/plants").get_json()["items"]}
    assert list(items) == ["Aloe", "Basil", "Cress", "Dry fern"]
    assert (items["Dry fern"]["status"], items["Dry fern"]["problems"]) == (
        "alert",
        ["soil_moisture_low", "battery_low"],
    )
    assert items["Dry fern"]["latest"]["soil_moisture"] == 12.5
    assert items["Dry fern"]["latest"]["humidity"] is None
    assert items["Dry fern"]["latest"]["ts"].endswith("Z")
    assert (items["Aloe"]["status"], items["Aloe"]["problems"]) == ("ok", [])
    assert (items["Basil"]["status"], items["Basil"]["problems"]) == ("stale", ["stale"])
    # The API's labels are the pages' words: one vocabulary (app/domain/describe.py).
    assert (items["Basil"]["status_label"], items["Basil"]["problem_labels"]) == ("Sensor silent", ["Sensor silent"])
    assert items["Dry fern"]["problem_labels"] == ["Soil moisture low", "Battery low"]
    assert (items["Cress"]["status"], items["Cress"]["latest"]) == ("no_data", None)
    assert api.get(f"/api/v1/plants/{dry['id']}").get_json() == items["Dry fern"]


def test_put_replaces_the_fields(api):
    plant = api.post("/api/v1/plants", json=FERN).get_json()
    response = api.put(f"/api/v1/plants/{plant['id']}", json={"name": "Big fern", "device_id": "esp32-fern_1.a"})
    assert response.status_code == 200
    updated = response.get_json()
    assert (updated["name"], updated["species"], updated["device_id"]) == ("Big fern", "", "esp32-fern_1.a")
    assert updated["thresholds"]["soil_moisture"] == {"min": None, "max": None}
    assert api.get(f"/api/v1/plants/{plant['id']}").get_json() == updated


def test_delete_answers_204_and_the_readings_stay_with_the_device(app, api):
    plant = api.post("/api/v1/plants", json=FERN).get_json()
    add_readings(app, plant["id"], [datetime.now(UTC)])
    response = api.delete(f"/api/v1/plants/{plant['id']}")
    assert response.status_code == 204
    assert api.get(f"/api/v1/plants/{plant['id']}").status_code == 404
    with app.app_context():
        assert len(db.session.scalars(select(Reading)).all()) == 1
    assert [d["key"] for d in api.get("/api/v1/devices").get_json()["items"]] == [FERN["device_id"]]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "name", "This field is required."),
        ({"name": ""}, "name", "Must not be empty."),
        ({"name": " \t"}, "name", "Must not be empty or contain NUL characters."),
        ({"name": "x" * 101}, "name", "Must be at most 100 characters."),
        ({"name": "x", "species": "s" * 101}, "species", "Must be at most 100 characters."),
        ({"name": "x", "location": 3}, "location", "Must be text."),
        ({"name": "x", "device_id": ""}, "device_id", DEVICE_KEY_MESSAGE),
        (
            {"name": "x", "device_id": "has space"},
            "device_id",
            DEVICE_KEY_MESSAGE,
        ),
        ({"name": "x", "device_id": "a/b"}, "device_id", DEVICE_KEY_MESSAGE),
        (
            {"name": "x", "device_id": "d" * 65},
            "device_id",
            DEVICE_KEY_MESSAGE,
        ),
        ({"name": "x", "device_id": "abc\n"}, "device_id", DEVICE_KEY_MESSAGE),
        ({"name": "x", "device_id": "plänt"}, "device_id", DEVICE_KEY_MESSAGE),
        ({"name": "x", "device_id": "zigbee2mqtt:" + "x" * 190}, "device_id", "Must be at most 200 characters."),
        ({"name": "x", "device_id": "zigbee2mqtt:\u0000"}, "device_id", DEVICE_KEY_MESSAGE),
        ({"name": "x", "device_id": 42}, "device_id", "Must be text."),
        ({"name": "x", "stale_after_minutes": 0}, "stale_after_minutes", "Must be at least 1."),
        ({"name": "x", "stale_after_minutes": 10081}, "stale_after_minutes", "Must be at most 10080."),
        ({"name": "x", "stale_after_minutes": None}, "stale_after_minutes", "Must be a whole number."),
        (
            {"name": "x", "thresholds": {"soil_moisture": {"min": -1}}},
            "thresholds.soil_moisture.min",
            "Must be at least 0.",
        ),
        (
            {"name": "x", "thresholds": {"temperature": {"max": 90}}},
            "thresholds.temperature.max",
            "Must be at most 85.",
        ),
        ({"name": "x", "thresholds": {"light": {"min": "low"}}}, "thresholds.light.min", "Must be a number or null."),
        (
            {"name": "x", "thresholds": {"humidity": {"min": 80, "max": 20}}},
            "thresholds.humidity",
            "The maximum must be at least the minimum (80).",
        ),
        ({"name": "x", "thresholds": []}, "thresholds", "Must be an object."),
    ],
)
@pytest.mark.parametrize("method", ["post", "put"])
def test_invalid_plant_is_422_and_nothing_changes(app, api, method, body, field, message):
    existing = api.post("/api/v1/plants", json={"name": "Keep me"}).get_json()
    path = "/api/v1/plants" if method == "post" else f"/api/v1/plants/{existing['id']}"
    response = getattr(api, method)(path, json=body)
    assert response.status_code == 422
    assert {"field": field, "message": message} in response.get_json()["detail"]
    assert api.get("/api/v1/plants").get_json()["items"] == [existing]


def test_the_same_device_id_of_two_users_names_two_devices(app, api, other_api):
    theirs = other_api.post("/api/v1/plants", json={"name": "Theirs", "device_id": "shared-1"}).get_json()
    mine = api.post("/api/v1/plants", json={"name": "Mine", "device_id": "shared-1"})
    assert mine.status_code == 201
    assert mine.get_json()["device_id"] == theirs["device_id"] == "shared-1"
    with app.app_context():
        owners = {
            plant_id: {s.device.owner_id for s in db.session.get(Plant, plant_id).sensors}
            for plant_id in (theirs["id"], mine.get_json()["id"])
        }
    assert owners == {theirs["id"]: {other_api.user_id}, mine.get_json()["id"]: {api.user_id}}


def test_one_device_feeds_two_plants(api):
    first = api.post("/api/v1/plants", json={"name": "Fern", "device_id": "room-1"}).get_json()
    second = api.post("/api/v1/plants", json={"name": "Ivy", "device_id": "room-1"}).get_json()
    assert first["device_id"] == second["device_id"] == "room-1"
    (device,) = api.get("/api/v1/devices").get_json()["items"]
    assert device["key"] == "room-1"


def test_plant_keeps_its_own_device_on_put(api):
    plant = api.post("/api/v1/plants", json={"name": "Mine", "device_id": "mine-1"}).get_json()
    assert api.put(f"/api/v1/plants/{plant['id']}", json={"name": "Renamed", "device_id": "mine-1"}).status_code == 200


def add_readings(app, plant_id, times):
    """Readings of the device bound for the plant's soil moisture."""
    with app.app_context():
        device_id = db.session.scalar(
            select(PlantSensor.device_id).where(PlantSensor.plant_id == plant_id, PlantSensor.metric == "soil_moisture")
        )
        for n, ts in enumerate(times):
            db.session.add(Reading(device_id=device_id, ts=ts, soil_moisture=40.0 + n))
        db.session.commit()


class TestReadings:
    START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

    @pytest.fixture
    def plant_id(self, app, api):
        plant = api.post("/api/v1/plants", json={"name": "Fern", "device_id": "dev"}).get_json()
        add_readings(app, plant["id"], [self.START + timedelta(hours=h) for h in range(48)])
        return plant["id"]

    def test_window_is_oldest_first_with_iso_times(self, api, plant_id):
        body = api.get(f"/api/v1/plants/{plant_id}/readings?since=2026-11-01T15:00:00Z&until=2026-11-01T17:00:00Z")
        body = body.get_json()
        assert body["count"] == 3
        assert [r["ts"] for r in body["items"]] == [
            "2026-11-01T15:00:00Z",
            "2026-11-01T16:00:00Z",
            "2026-11-01T17:00:00Z",
        ]
        assert body["items"][0] == {
            "ts": "2026-11-01T15:00:00Z",
            "soil_moisture": 43.0,
            "temperature": None,
            "humidity": None,
            "light": None,
            "conductivity": None,
            "battery": None,
        }

    @pytest.mark.parametrize(
        ("since", "until"),
        [
            ("2026-11-01T15:00:00Z", "2026-11-01T17:00:00Z"),
            ("2026-11-01T16:00:00+01:00", "2026-11-01T18:00:00+01:00"),
            ("2026-11-01T15:00:00", "2026-11-01T17:00:00"),
            (str(int(START.timestamp()) + 3 * 3600), str(int(START.timestamp()) + 5 * 3600)),
            (f"{START.timestamp() + 3 * 3600:.1f}", f"{START.timestamp() + 5 * 3600 + 0.5:.1f}"),
        ],
    )
    def test_since_and_until_take_iso_8601_or_unix_seconds(self, api, plant_id, since, until):
        body = api.get(f"/api/v1/plants/{plant_id}/readings", query_string={"since": since, "until": until})
        assert body.get_json()["count"] == 3

    def test_limit_keeps_the_oldest(self, api, plant_id):
        body = api.get(f"/api/v1/plants/{plant_id}/readings?since=0&limit=2").get_json()
        assert [r["ts"] for r in body["items"]] == ["2026-11-01T12:00:00Z", "2026-11-01T13:00:00Z"]

    def test_default_window_is_the_last_24_hours_before_until(self, api, plant_id):
        body = api.get(f"/api/v1/plants/{plant_id}/readings?until=2026-11-02T12:00:00Z").get_json()
        assert body["count"] == 25
        assert api.get(f"/api/v1/plants/{plant_id}/readings").get_json()["count"] == 0

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ("limit=0", "limit"),
            ("limit=10001", "limit"),
            ("limit=many", "limit"),
            ("since=yesterday", "since"),
            ("until=2026-13-01", "until"),
            ("since=", "since"),
            ("since=nan", "since"),
        ],
    )
    def test_bad_query_is_422(self, api, plant_id, query, field):
        response = api.get(f"/api/v1/plants/{plant_id}/readings?{query}")
        assert response.status_code == 422
        assert response.get_json()["detail"][0]["field"] == field

    def test_limit_may_be_ten_thousand(self, api, plant_id):
        assert api.get(f"/api/v1/plants/{plant_id}/readings?since=0&limit=10000").get_json()["count"] == 48

    @pytest.mark.parametrize("since", ["-99999999999999", "0001-01-01T00:00:00+23:59", "99999999999999"])
    def test_times_beyond_the_calendar_are_clamped(self, api, plant_id, since):
        assert api.get(f"/api/v1/plants/{plant_id}/readings", query_string={"since": since}).status_code == 200

    @pytest.mark.parametrize("until", ["-2.9840666291667544e+16", "-99999999999999", "0001-01-01T05:00:00Z"])
    def test_an_until_near_the_start_of_the_calendar_has_an_empty_default_window(self, api, plant_id, until):
        response = api.get(f"/api/v1/plants/{plant_id}/readings", query_string={"until": until})
        assert response.status_code == 200
        assert response.get_json() == {"items": [], "count": 0}


def add_alert(app, user_id, plant_id, state, minutes_ago):
    with app.app_context():
        alert = Alert(
            garden_id=personal_garden_id(user_id),
            plant_id=plant_id,
            problem=f"soil_moisture_low_{state}_{minutes_ago}"[:40],
            metric="soil_moisture",
            value=12.0,
            threshold=30.0,
            state=state,
            opened_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
            resolved_at=datetime.now(UTC) if state == "resolved" else None,
        )
        db.session.add(alert)
        db.session.commit()
        return alert.id


def test_alerts_list_newest_first_with_state_filter(app, api):
    plant = api.post("/api/v1/plants", json={"name": "Fern"}).get_json()
    old = add_alert(app, api.user_id, plant["id"], "resolved", 60)
    new = add_alert(app, api.user_id, plant["id"], "open", 5)
    acknowledged = add_alert(app, api.user_id, plant["id"], "acknowledged", 30)

    body = api.get("/api/v1/alerts").get_json()
    assert [a["id"] for a in body["items"]] == [new, acknowledged, old]
    assert body["total"] == 3
    first = body["items"][0]
    assert (first["plant_id"], first["metric"], first["value"], first["threshold"]) == (
        plant["id"],
        "soil_moisture",
        12.0,
        30.0,
    )
    assert first["opened_at"].endswith("Z")
    assert first["resolved_at"] is None
    for state, expected in (("open", [new]), ("acknowledged", [acknowledged]), ("resolved", [old])):
        assert [a["id"] for a in api.get(f"/api/v1/alerts?state={state}").get_json()["items"]] == expected
    assert api.get("/api/v1/alerts?state=closed").status_code == 422


class TestListCache:
    """The list body is reused between requests; it must never show old data."""

    def test_a_new_reading_shows_at_once(self, app, api):
        plant = api.post("/api/v1/plants", json={"name": "Fern"}).get_json()
        set_latest(app, plant["id"], 2, soil_moisture=40.0)
        assert api.get("/api/v1/plants").get_json()["items"][0]["latest"]["soil_moisture"] == 40.0
        set_latest(app, plant["id"], 1, soil_moisture=41.0)
        assert api.get("/api/v1/plants").get_json()["items"][0]["latest"]["soil_moisture"] == 41.0

    def test_edits_and_deletes_show_at_once(self, api):
        first = api.post("/api/v1/plants", json={"name": "Fern"}).get_json()
        api.get("/api/v1/plants")
        api.put(f"/api/v1/plants/{first['id']}", json={"name": "Big fern"})
        assert [p["name"] for p in api.get("/api/v1/plants").get_json()["items"]] == ["Big fern"]
        api.delete(f"/api/v1/plants/{first['id']}")
        assert api.get("/api/v1/plants").get_json()["items"] == []

    def test_status_turns_stale_on_time_without_any_change(self, app, api, clock):
        plant = api.post("/api/v1/plants", json={"name": "Fern", "stale_after_minutes": 1}).get_json()
        with app.app_context():
            row = db.session.get(Plant, plant["id"])
            row.last_reading_at = datetime.now(UTC) - timedelta(seconds=58.5)
            row.latest_soil_moisture = 50.0
            db.session.commit()
        assert api.get("/api/v1/plants").get_json()["items"][0]["status"] == "ok"
        clock.shift(timedelta(seconds=2))
        assert api.get("/api/v1/plants").get_json()["items"][0]["status"] == "stale"

    def test_each_gardener_gets_their_own_list(self, api, other_api):
        api.post("/api/v1/plants", json={"name": "Mine"})
        other_api.post("/api/v1/plants", json={"name": "Theirs"})
        assert [p["name"] for p in api.get("/api/v1/plants").get_json()["items"]] == ["Mine"]
        assert [p["name"] for p in other_api.get("/api/v1/plants").get_json()["items"]] == ["Theirs"]


def test_binding_a_discovered_device_makes_it_the_administrators(app, api):
    with app.app_context():
        db.session.add(Device(namespace="", key="stray-7", source="native", message_count=3, metrics=[]))
        db.session.commit()
    assert api.post("/api/v1/plants", json={"name": "Fern", "device_id": "stray-7"}).status_code == 201
    with app.app_context():
        assert db.session.scalar(select(Device.owner_id).where(Device.key == "stray-7")) == api.user_id


def test_one_device_feeds_two_plants_and_their_readings(app, api):
    first = api.post("/api/v1/plants", json={"name": "Fern", "device_id": "room-1"}).get_json()
    second = api.post("/api/v1/plants", json={"name": "Ivy", "device_id": "room-1"}).get_json()
    add_readings(app, first["id"], [datetime.now(UTC) - timedelta(minutes=1)])
    for plant in (first, second):
        assert api.get(f"/api/v1/plants/{plant['id']}/readings").get_json()["count"] == 1
        assert api.get(f"/api/v1/plants/{plant['id']}").get_json()["device_id"] == "room-1"


def test_binding_a_device_shows_its_earlier_readings_at_once(app, api):
    with app.app_context():
        device = Device(
            namespace="",
            key="stray-7",
            source="native",
            owner_id=api.user_id,
            garden_id=personal_garden_id(api.user_id),
            message_count=3,
        )
        db.session.add(device)
        db.session.flush()
        db.session.add(Reading(device_id=device.id, ts=datetime.now(UTC) - timedelta(hours=2), humidity=51.0))
        device.last_reading_at = datetime.now(UTC) - timedelta(hours=2)
        db.session.commit()
    plant = api.post("/api/v1/plants", json={"name": "Fern", "device_id": "stray-7"}).get_json()
    assert plant["latest"]["humidity"] == 51.0
    readings = api.get(f"/api/v1/plants/{plant['id']}/readings?since=2000-01-01T00:00:00Z").get_json()
    assert [r["humidity"] for r in readings["items"]] == [51.0]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Device)) == 1


def test_put_without_device_id_unlinks_the_sensor_as_documented(app, api):
    plant = api.post("/api/v1/plants", json=FERN).get_json()
    replaced = api.put(f"/api/v1/plants/{plant['id']}", json={"name": "Fern"}).get_json()
    assert (replaced["device_id"], replaced["species"], replaced["stale_after_minutes"]) == (None, "", 60)
    schema = api.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["PlantInput"]["properties"]
    assert schema["device_id"]["default"] is None
    assert schema["stale_after_minutes"]["default"] == 60


@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_unknown_plant_fields_are_422(api, method):
    existing = api.post("/api/v1/plants", json={"name": "Keep me"}).get_json()
    path = "/api/v1/plants" if method == "post" else f"/api/v1/plants/{existing['id']}"
    response = getattr(api, method)(path, json={"name": "x", "notes": "n", "thresholds": {"ph": {"min": 5}}})
    assert response.status_code == 422
    assert response.get_json()["detail"] == [
        {"field": "notes", "message": "Unknown field."},
        {"field": "thresholds.ph", "message": "Unknown field."},
    ]
    assert api.get("/api/v1/plants").get_json()["items"] == [existing]


class TestPatch:
    """JSON merge patch (RFC 7396): only the fields sent change; null clears one."""

    def test_a_name_alone_keeps_the_sensor_and_everything_else(self, api):
        plant = api.post("/api/v1/plants", json=FERN).get_json()
        response = api.patch(f"/api/v1/plants/{plant['id']}", json={"name": "Big fern"})
        assert response.status_code == 200
        patched = response.get_json()
        assert patched["name"] == "Big fern"
        kept = ("species", "location", "device_id", "thresholds", "stale_after_minutes")
        assert {k: patched[k] for k in kept} == {k: plant[k] for k in kept}

    def test_one_bound_changes_and_the_others_stay(self, api):
        plant = api.post("/api/v1/plants", json=FERN).get_json()
        patch = {"thresholds": {"soil_moisture": {"max": 80}, "temperature": {"min": None}, "light": {"min": 4}}}
        thresholds = api.patch(f"/api/v1/plants/{plant['id']}", json=patch).get_json()["thresholds"]
        assert thresholds["soil_moisture"] == {"min": 30, "max": 80}
        assert thresholds["temperature"] == {"min": None, "max": None}
        assert thresholds["light"] == {"min": 4, "max": None}  # mol/m²/day
        assert thresholds["humidity"] == {"min": None, "max": None}

    def test_null_unlinks_the_sensor_or_clears_every_threshold(self, api):
        plant = api.post("/api/v1/plants", json=FERN).get_json()
        patched = api.patch(f"/api/v1/plants/{plant['id']}", json={"device_id": None, "thresholds": None}).get_json()
        assert patched["device_id"] is None
        assert all(bounds == {"min": None, "max": None} for bounds in patched["thresholds"].values())
        assert patched["species"] == FERN["species"]

    def test_a_device_may_feed_another_plant_too(self, api):
        first = api.post("/api/v1/plants", json=FERN).get_json()
        second = api.post("/api/v1/plants", json={"name": "Palm"}).get_json()
        claim = {"device_id": FERN["device_id"]}
        assert api.patch(f"/api/v1/plants/{second['id']}", json=claim).get_json()["device_id"] == FERN["device_id"]
        assert api.get(f"/api/v1/plants/{first['id']}").get_json()["device_id"] == FERN["device_id"]

    @pytest.mark.parametrize(
        ("body", "field", "message"),
        [
            ({"name": None}, "name", "Must be text."),
            ({"stale_after_minutes": None}, "stale_after_minutes", "Must be a whole number."),
            (
                {"thresholds": {"soil_moisture": {"min": 90}}},
                "thresholds.soil_moisture",
                "The maximum must be at least the minimum (90).",
            ),
            ({"device_id": "has space"}, "device_id", DEVICE_KEY_MESSAGE),
        ],
    )
    def test_invalid_patch_is_422_and_changes_nothing(self, api, body, field, message):
        plant = api.post("/api/v1/plants", json=FERN).get_json()
        response = api.patch(f"/api/v1/plants/{plant['id']}", json=body)
        assert response.status_code == 422
        assert {"field": field, "message": message} in response.get_json()["detail"]
        assert api.get(f"/api/v1/plants/{plant['id']}").get_json() == plant


class TestConditionalList:
    """GET /api/v1/plants carries an ETag; a client that sends it back gets 304 until the list changes."""

    def test_unchanged_list_answers_304_without_a_body(self, api):
        api.post("/api/v1/plants", json={"name": "Fern"})
        first = api.get("/api/v1/plants")
        assert first.headers["ETag"]
        again = api.get("/api/v1/plants", headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304
        assert again.data == b""

    def test_an_edit_or_a_reading_changes_the_etag(self, app, api):
        plant = api.post("/api/v1/plants", json={"name": "Fern"}).get_json()
        etag = api.get("/api/v1/plants").headers["ETag"]
        api.patch(f"/api/v1/plants/{plant['id']}", json={"location": "Hall"})
        edited = api.get("/api/v1/plants", headers={"If-None-Match": etag})
        assert edited.status_code == 200
        assert edited.get_json()["items"][0]["location"] == "Hall"
        set_latest(app, plant["id"], 1, soil_moisture=40.0)
        read = api.get("/api/v1/plants", headers={"If-None-Match": edited.headers["ETag"]})
        assert read.status_code == 200
        assert read.get_json()["items"][0]["latest"]["soil_moisture"] == 40.0

    def test_each_gardener_has_their_own_etag(self, api, other_api):
        api.post("/api/v1/plants", json={"name": "Mine"})
        etag = api.get("/api/v1/plants").headers["ETag"]
        theirs = other_api.get("/api/v1/plants", headers={"If-None-Match": etag})
        assert theirs.status_code == 200
        assert theirs.get_json()["items"] == []


def test_answers_built_without_the_models_are_what_the_models_describe(app, api):
    from app.api.v1.schemas import Plant as PlantModel
    from app.api.v1.schemas import ReadingList

    plant = api.post("/api/v1/plants", json=FERN).get_json()
    set_latest(app, plant["id"], 1, soil_moisture=12.5, temperature=20.0)
    add_readings(app, plant["id"], [datetime.now(UTC) - timedelta(minutes=1)])
    body = api.get(f"/api/v1/plants/{plant['id']}").get_json()
    assert PlantModel.model_validate(body).model_dump(mode="json") == body
    readings = api.get(f"/api/v1/plants/{plant['id']}/readings").get_json()
    assert readings["count"] == 1
    assert ReadingList.model_validate(readings).model_dump(mode="json") == readings


def test_conductivity_has_thresholds_and_shows_in_the_latest_state_and_readings(app, api):
    body = {"name": "Fern", "device_id": "flora-1", "thresholds": {"conductivity": {"min": 350, "max": 2000}}}
    plant = api.post("/api/v1/plants", json=body).get_json()
    assert plant["thresholds"]["conductivity"] == {"min": 350, "max": 2000}
    with app.app_context():
        device_id = db.session.scalar(select(Device.id).where(Device.key == "flora-1"))
        db.session.add(Reading(device_id=device_id, ts=datetime.now(UTC), conductivity=1250.0))
        db.session.execute(
            db.update(Plant)
            .where(Plant.id == plant["id"])
            .values(latest_conductivity=1250.0, last_reading_at=datetime.now(UTC))
        )
        db.session.commit()

    assert api.get(f"/api/v1/plants/{plant['id']}").get_json()["latest"]["conductivity"] == 1250.0
    [reading] = api.get(f"/api/v1/plants/{plant['id']}/readings").get_json()["items"]
    assert reading["conductivity"] == 1250.0

    too_high = {"name": "Fern", "thresholds": {"conductivity": {"max": 10_001}}}
    assert api.post("/api/v1/plants", json=too_high).status_code == 422
