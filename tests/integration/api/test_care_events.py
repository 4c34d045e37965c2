"""The care log over JSON: GET and POST /api/v1/plants/<id>/events."""

import pytest

from ..care_helpers import add_plant, utc

NOW = utc(2026, 12, 10, 12, 0)


def test_api_lists_and_creates_events(app, api, other_api, clock):
    clock.move_to(NOW)
    plant_id = add_plant(app, api.user_id)
    created = api.post(f"/api/v1/plants/{plant_id}/events", json={"kind": "watered", "amount": 250})
    assert created.status_code == 201, created.json
    body = created.json
    assert body["kind"] == "watered"
    assert body["amount"] == 250
    assert body["detected"] is False
    assert body["at"].startswith("2026-12-10T12:00:00")
    api.post(
        f"/api/v1/plants/{plant_id}/events", json={"kind": "note", "note": "Repot soon", "at": "2026-12-09T08:00:00Z"}
    )
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
        ({"kind": "watered", "at": "2030-01-10T00:00:00Z"}, "at"),
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
