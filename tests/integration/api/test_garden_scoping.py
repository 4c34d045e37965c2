"""The API within gardens: answers carry `garden_id`, creating takes a `garden_id` the token's
user may edit (default: their personal garden), and who did what is recorded."""

from app.extensions import db
from app.models import Alert, GardenMember, Plant, Task
from app.ownership import personal_garden_id

from ...conftest import AuthActions, make_user
from .conftest import ApiClient, make_token

NOT_YOURS = [{"field": "garden_id", "message": "Choose one of your gardens."}]


def join(app, garden_id, user_id, role):
    with app.app_context():
        db.session.add(GardenMember(garden_id=garden_id, user_id=user_id, role=role))
        db.session.commit()


def garden_of(app, user_id):
    with app.app_context():
        return personal_garden_id(user_id)


def test_a_new_plant_and_task_go_to_the_personal_garden_unless_another_is_chosen(app, api, other_api):
    mine, theirs = garden_of(app, api.user_id), garden_of(app, other_api.user_id)
    plant = api.post("/api/v1/plants", json={"name": "Fern"})
    assert plant.status_code == 201
    assert plant.get_json()["garden_id"] == mine

    join(app, theirs, api.user_id, "caretaker")
    shared = api.post("/api/v1/plants", json={"name": "Their fern, cared for", "garden_id": theirs})
    assert shared.status_code == 201
    assert shared.get_json()["garden_id"] == theirs
    assert other_api.get(f"/api/v1/plants/{shared.get_json()['id']}").status_code == 200

    task = api.post("/api/v1/tasks", json={"title": "Water", "plant_id": shared.get_json()["id"]})
    assert task.status_code == 201
    assert task.get_json()["garden_id"] == theirs  # a plant's task is in the plant's garden
    assert api.post("/api/v1/tasks", json={"title": "Dust"}).get_json()["garden_id"] == mine


def test_a_garden_one_may_not_edit_in_or_is_not_in_is_a_field_error_that_leaks_nothing(app, api, other_api):
    theirs = garden_of(app, other_api.user_id)
    for body in ({"name": "Fern", "garden_id": theirs}, {"name": "Fern", "garden_id": 999_999}):
        answer = api.post("/api/v1/plants", json=body)
        assert answer.status_code == 422
        assert answer.get_json()["detail"] == NOT_YOURS
    join(app, theirs, api.user_id, "viewer")
    answer = api.post("/api/v1/tasks", json={"title": "Dust", "garden_id": theirs})
    assert answer.status_code == 422
    assert answer.get_json()["detail"] == NOT_YOURS
    assert api.post("/api/v1/plants", json={"name": "Fern", "garden_id": "two"}).status_code == 422
    with app.app_context():
        assert db.session.query(Plant).count() == 0
        assert db.session.query(Task).count() == 0


def test_a_plant_stays_in_its_garden(app, api, other_api):
    plant = api.post("/api/v1/plants", json={"name": "Fern"}).get_json()
    theirs = garden_of(app, other_api.user_id)
    join(app, theirs, api.user_id, "owner")
    moved = api.patch(f"/api/v1/plants/{plant['id']}", json={"garden_id": theirs})
    assert moved.status_code == 422
    assert moved.get_json()["detail"][0]["field"] == "garden_id"
    assert api.get(f"/api/v1/plants/{plant['id']}").get_json()["garden_id"] == plant["garden_id"]


def test_the_member_who_did_it_is_recorded(app, api):
    sitter = make_user(app, email="sitter@example.com")
    sitter_api = ApiClient(app.test_client(), make_token(app, sitter), sitter)
    join(app, garden_of(app, api.user_id), sitter, "sitter")
    plant = api.post("/api/v1/plants", json={"name": "Fern"}).get_json()
    task = api.post("/api/v1/tasks", json={"title": "Water the fern", "plant_id": plant["id"]}).get_json()

    done = sitter_api.patch(f"/api/v1/tasks/{task['id']}", json={"completed": True})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["completed_by_id"] == sitter
    assert sitter_api.patch(f"/api/v1/tasks/{task['id']}", json={"title": "Renamed"}).status_code == 403
    logged = sitter_api.post(f"/api/v1/plants/{plant['id']}/events", json={"kind": "misted"})
    assert logged.status_code == 201
    assert logged.get_json()["by"] == "sitter@example.com"
    assert sitter_api.put(f"/api/v1/plants/{plant['id']}", json={"name": "Mine now"}).status_code == 403

    api.patch(f"/api/v1/plants/{plant['id']}", json={"name": "Boston fern"})
    with app.app_context():
        assert db.session.get(Plant, plant["id"]).updated_by_id == api.user_id
        assert db.session.get(Task, task["id"]).completed_by_id == sitter
        alert = Alert(garden_id=plant["garden_id"], plant_id=plant["id"], problem="stale", state="open")
        db.session.add(alert)
        db.session.commit()
        alert_id = alert.id
    sitter_client = app.test_client()
    assert AuthActions(app, sitter_client).login(email="sitter@example.com").status_code == 303
    assert sitter_client.post(f"/alerts/{alert_id}/acknowledge").status_code == 303
    with app.app_context():
        assert db.session.get(Alert, alert_id).acknowledged_by_id == sitter
