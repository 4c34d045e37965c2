"""Two gardeners through the API: lists show nothing of the other's, and nothing attaches to
the other's plant. That someone else's id is a 404 like a missing one on every endpoint is
walked once, over every route, in tests/integration/test_access.py."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Alert, Device, Reading
from app.ownership import personal_garden_id


@pytest.fixture
def theirs(app, other_api):
    """The other gardener's plant (with a reading and an alert) and task."""
    plant = other_api.post("/api/v1/plants", json={"name": "Their rose", "device_id": "rose-1"}).get_json()
    task = other_api.post("/api/v1/tasks", json={"title": "Their task", "plant_id": plant["id"]}).get_json()
    with app.app_context():
        device_id = db.session.scalar(select(Device.id).where(Device.key == "rose-1"))
        db.session.add(Reading(device_id=device_id, ts=datetime.now(UTC), soil_moisture=10.0))
        db.session.add(
            Alert(garden_id=personal_garden_id(other_api.user_id), plant_id=plant["id"], problem="soil_moisture_low")
        )
        db.session.commit()
    return {"plant_id": plant["id"], "task_id": task["id"]}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/tasks",
        "/api/v1/tasks?status=pending",
        "/api/v1/tasks?plant_id={plant_id}",
        "/api/v1/plants",
        "/api/v1/alerts",
        "/api/v1/alerts?state=open",
        "/api/v1/devices",
    ],
)
def test_lists_show_nothing_of_someone_else(api, other_api, theirs, path):
    mine = api.get(path.format(**theirs)).get_json()
    assert mine["items"] == []
    assert mine.get("total", 0) == 0
    assert other_api.get(path.format(**theirs)).get_json()["items"] != []


@pytest.mark.parametrize(("method", "path"), [("post", "/api/v1/tasks"), ("put", "/api/v1/tasks/{task_id}")])
def test_task_cannot_be_attached_to_someone_elses_plant(api, theirs, method, path):
    my_task = api.post("/api/v1/tasks", json={"title": "Mine"}).get_json()
    response = getattr(api, method)(
        path.format(task_id=my_task["id"]), json={"title": "Mine", "plant_id": theirs["plant_id"]}
    )
    assert response.status_code == 422
    assert response.get_json()["detail"] == [{"field": "plant_id", "message": "Choose one of your plants."}]


def test_creating_leaves_the_other_gardener_untouched(api, other_api, theirs):
    api.post("/api/v1/tasks", json={"title": "Mine"})
    api.post("/api/v1/plants", json={"name": "Mine"})
    assert [t["title"] for t in other_api.get("/api/v1/tasks").get_json()["items"]] == ["Their task"]
    assert [p["name"] for p in other_api.get("/api/v1/plants").get_json()["items"]] == ["Their rose"]
