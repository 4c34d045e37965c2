from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Plant, Task
from app.ownership import personal_garden_id

TASK_KEYS = {
    "id",
    "garden_id",
    "completed_by_id",
    "assignee_id",
    "repeat_from",
    "care_kind",
    "title",
    "description",
    "completed",
    "completed_at",
    "due_date",
    "plant_id",
    "recurrence_days",
    "created_at",
    "updated_at",
}


def add_plant(app, user_id, name="Fern"):
    with app.app_context():
        plant = Plant(garden_id=personal_garden_id(user_id), name=name)
        db.session.add(plant)
        db.session.commit()
        return plant.id


def test_create_answers_201_with_the_task(app, api):
    plant_id = add_plant(app, api.user_id)
    response = api.post(
        "/api/v1/tasks",
        json={
            "title": "  Water the fern ",
            "description": "Rain water",
            "due_date": "2026-12-01",
            "plant_id": plant_id,
            "recurrence_days": 7,
        },
    )
    assert response.status_code == 201
    task = response.get_json()
    assert set(task) == TASK_KEYS
    assert task["title"] == "Water the fern"
    assert task["due_date"] == "2026-12-01"
    assert task["plant_id"] == plant_id
    assert task["recurrence_days"] == 7
    assert task["completed"] is False
    assert task["completed_at"] is None
    assert task["created_at"].endswith("Z")
    assert api.get(f"/api/v1/tasks/{task['id']}").get_json() == task


def test_create_with_only_a_title_uses_defaults(api):
    task = api.post("/api/v1/tasks", json={"title": "Repot"}).get_json()
    assert (task["description"], task["due_date"], task["plant_id"], task["recurrence_days"]) == ("", None, None, None)


@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_unknown_fields_are_422_not_dropped(app, api, method):
    existing = api.post("/api/v1/tasks", json={"title": "Keep me"}).get_json()
    path = "/api/v1/tasks" if method == "post" else f"/api/v1/tasks/{existing['id']}"
    response = getattr(api, method)(path, json={"title": "Repot", "id": 999, "colour": "green"})
    assert response.status_code == 422
    assert response.get_json()["detail"] == [
        {"field": "colour", "message": "Unknown field."},
        {"field": "id", "message": "Unknown field."},
    ]
    with app.app_context():
        assert [t.title for t in db.session.scalars(select(Task))] == ["Keep me"]


def test_list_pages_and_filters(app, api):
    plant_id = add_plant(app, api.user_id)
    for n in range(5):
        api.post("/api/v1/tasks", json={"title": f"Task {n}", "due_date": f"2026-12-0{n + 1}"})
    api.post("/api/v1/tasks", json={"title": "Fern task", "plant_id": plant_id})
    done = api.post("/api/v1/tasks", json={"title": "Done"}).get_json()
    api.patch(f"/api/v1/tasks/{done['id']}/complete")

    everything = api.get("/api/v1/tasks").get_json()
    assert everything["total"] == 7
    assert (everything["page"], everything["per_page"]) == (1, 50)
    titles = [t["title"] for t in everything["items"]]
    assert titles[:5] == [f"Task {n}" for n in range(5)]  # soonest due first, undated last

    page = api.get("/api/v1/tasks?page=2&per_page=2").get_json()
    assert [t["title"] for t in page["items"]] == ["Task 2", "Task 3"]
    assert (page["total"], page["page"], page["per_page"]) == (7, 2, 2)
    assert api.get("/api/v1/tasks?page=99").get_json()["items"] == []

    assert api.get("/api/v1/tasks?status=completed").get_json()["total"] == 1
    assert api.get("/api/v1/tasks?status=pending").get_json()["total"] == 6
    by_plant = api.get(f"/api/v1/tasks?plant_id={plant_id}").get_json()
    assert [t["title"] for t in by_plant["items"]] == ["Fern task"]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("status=done", "status", "Must be one of: all, pending, completed."),
        ("status=", "status", "Must be one of"),
        ("page=0", "page", "Must be at least 1."),
        ("page=abc", "page", "Must be a whole number."),
        ("per_page=101", "per_page", "Must be at most 100."),
        ("per_page=-1", "per_page", "Must be at least 1."),
        ("plant_id=x", "plant_id", "Must be a whole number."),
        ("plant_id=99999999999", "plant_id", "Must be at most 2147483647."),
    ],
)
def test_bad_list_query_is_422(api, query, field, message):
    response = api.get(f"/api/v1/tasks?{query}")
    assert response.status_code == 422
    [problem] = response.get_json()["detail"]
    assert problem["field"] == field
    assert problem["message"].startswith(message)


def test_put_replaces_the_fields(app, api):
    plant_id = add_plant(app, api.user_id)
    task = api.post("/api/v1/tasks", json={"title": "Water", "description": "old", "plant_id": plant_id}).get_json()
    response = api.put(f"/api/v1/tasks/{task['id']}", json={"title": "Mist", "due_date": "2027-01-02"})
    assert response.status_code == 200
    updated = response.get_json()
    assert (updated["title"], updated["description"], updated["plant_id"]) == ("Mist", "", None)
    assert updated["due_date"] == "2027-01-02"
    assert api.get(f"/api/v1/tasks/{task['id']}").get_json() == updated


def test_delete_answers_204_and_the_task_is_gone(api):
    task = api.post("/api/v1/tasks", json={"title": "Water"}).get_json()
    response = api.delete(f"/api/v1/tasks/{task['id']}")
    assert response.status_code == 204
    assert response.data == b""
    assert api.get(f"/api/v1/tasks/{task['id']}").status_code == 404
    assert api.delete(f"/api/v1/tasks/{task['id']}").status_code == 404


def test_complete_toggles(api):
    task = api.post("/api/v1/tasks", json={"title": "Water"}).get_json()
    done = api.patch(f"/api/v1/tasks/{task['id']}/complete").get_json()
    assert done["completed"] is True
    assert done["completed_at"].endswith("Z")
    undone = api.patch(f"/api/v1/tasks/{task['id']}/complete").get_json()
    assert (undone["completed"], undone["completed_at"]) == (False, None)


def test_completing_a_recurring_task_creates_the_next_one_once(app, api):
    task = api.post("/api/v1/tasks", json={"title": "Water", "due_date": "2026-12-01", "recurrence_days": 7}).get_json()
    api.patch(f"/api/v1/tasks/{task['id']}/complete")
    api.patch(f"/api/v1/tasks/{task['id']}/complete")
    api.patch(f"/api/v1/tasks/{task['id']}/complete")
    pending = api.get("/api/v1/tasks?status=pending").get_json()["items"]
    next_due = (datetime.now(UTC).date() + timedelta(days=7)).isoformat()  # 7 days after completing
    assert [(t["title"], t["due_date"], t["recurrence_days"]) for t in pending] == [("Water", next_due, 7)]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "title", "This field is required."),
        ({"title": ""}, "title", "Must not be empty."),
        ({"title": "   "}, "title", "Must not be empty"),
        ({"title": "x" * 201}, "title", "Must be at most 200 characters."),
        ({"title": 5}, "title", "Must be text."),
        ({"title": None}, "title", "Must be text."),
        ({"title": "a\x00b"}, "title", "Must not be empty or contain NUL characters."),
        ({"title": "\ud800"}, "title", "Contains characters that are not valid Unicode."),
        ({"title": "x", "description": "d" * 1001}, "description", "Must be at most 1000 characters."),
        ({"title": "x", "description": 5}, "description", "Must be text."),
        ({"title": "x", "completed": "yes"}, "completed", "Must be true or false."),
        ({"title": "x", "due_date": "tomorrow"}, "due_date", "Must be a date (YYYY-MM-DD)."),
        ({"title": "x", "due_date": "2026-02-30"}, "due_date", "Must be a date (YYYY-MM-DD)."),
        ({"title": "x", "due_date": 20261201}, "due_date", "Must be text"),
        ({"title": "x", "recurrence_days": 0}, "recurrence_days", "Must be at least 1."),
        ({"title": "x", "recurrence_days": 366}, "recurrence_days", "Must be at most 365."),
        ({"title": "x", "recurrence_days": 1.5}, "recurrence_days", "Must be a whole number or null."),
        ({"title": "x", "recurrence_days": True}, "recurrence_days", "Must be a whole number or null."),
        ({"title": "x", "plant_id": "1"}, "plant_id", "Must be a whole number or null."),
        ({"title": "x", "plant_id": 0}, "plant_id", "Must be at least 1."),
        ({"title": "x", "plant_id": 12345}, "plant_id", "Choose one of your plants."),
    ],
)
@pytest.mark.parametrize("method", ["post", "put"])
def test_invalid_task_is_422_and_nothing_is_stored(app, api, method, body, field, message):
    existing = api.post("/api/v1/tasks", json={"title": "Keep me"}).get_json()
    path = "/api/v1/tasks" if method == "post" else f"/api/v1/tasks/{existing['id']}"
    response = getattr(api, method)(path, json=body)
    assert response.status_code == 422
    assert response.get_json()["error"] == "validation_error"
    assert {"field": field, "message": message} in response.get_json()["detail"] or any(
        p["field"] == field and p["message"].startswith(message) for p in response.get_json()["detail"]
    )
    with app.app_context():
        assert [t.title for t in db.session.scalars(select(Task))] == ["Keep me"]


def test_task_cannot_point_at_someone_elses_plant(app, api, other_api):
    theirs = add_plant(app, other_api.user_id, name="Their rose")
    response = api.post("/api/v1/tasks", json={"title": "Steal", "plant_id": theirs})
    assert response.status_code == 422
    assert response.get_json()["detail"] == [{"field": "plant_id", "message": "Choose one of your plants."}]
    assert "rose" not in response.get_data(as_text=True).lower()


def test_whole_numbers_written_as_floats_are_accepted(app, api):
    plant_id = add_plant(app, api.user_id)
    task = api.post("/api/v1/tasks", json={"title": "x", "recurrence_days": 7.0, "plant_id": float(plant_id)})
    assert task.status_code == 201
    assert (task.get_json()["recurrence_days"], task.get_json()["plant_id"]) == (7, plant_id)


def test_put_takes_completed_and_a_null_description(api):
    task = api.post("/api/v1/tasks", json={"title": "Water", "description": "old"}).get_json()
    response = api.put(f"/api/v1/tasks/{task['id']}", json={"title": "Water", "description": None, "completed": True})
    assert response.status_code == 200
    done = response.get_json()
    assert (done["description"], done["completed"]) == ("", True)
    assert done["completed_at"].endswith("Z")
    assert api.get(f"/api/v1/tasks/{task['id']}").get_json() == done
    reopened = api.put(f"/api/v1/tasks/{task['id']}", json={"title": "Water"}).get_json()
    assert (reopened["completed"], reopened["completed_at"]) == (False, None)


def test_put_completing_a_recurring_task_creates_the_next_one(api):
    task = api.post("/api/v1/tasks", json={"title": "Water", "recurrence_days": 7}).get_json()
    api.put(f"/api/v1/tasks/{task['id']}", json={"title": "Water", "recurrence_days": 7, "completed": True})
    pending = api.get("/api/v1/tasks?status=pending").get_json()["items"]
    assert [(t["title"], t["recurrence_days"]) for t in pending] == [("Water", 7)]


def test_post_may_create_a_completed_task(api):
    task = api.post("/api/v1/tasks", json={"title": "Watered yesterday", "completed": True}).get_json()
    assert task["completed"] is True


class TestPatch:
    """JSON merge patch (RFC 7396): only the fields sent change; null clears one."""

    @pytest.fixture
    def task(self, app, api):
        plant_id = add_plant(app, api.user_id)
        body = {"title": "Water", "description": "Rain water", "due_date": "2027-01-02", "plant_id": plant_id}
        return api.post("/api/v1/tasks", json={**body, "recurrence_days": 7}).get_json()

    def test_only_the_fields_sent_change(self, api, task):
        response = api.patch(f"/api/v1/tasks/{task['id']}", json={"title": "Mist"})
        assert response.status_code == 200
        patched = response.get_json()
        assert patched["title"] == "Mist"
        unchanged = ("description", "due_date", "plant_id", "recurrence_days", "completed")
        assert {k: patched[k] for k in unchanged} == {k: task[k] for k in unchanged}
        assert api.get(f"/api/v1/tasks/{task['id']}").get_json() == patched

    def test_null_clears_a_field(self, api, task):
        patched = api.patch(f"/api/v1/tasks/{task['id']}", json={"plant_id": None, "description": None}).get_json()
        assert (patched["plant_id"], patched["description"], patched["title"]) == (None, "", "Water")
        assert patched["due_date"] == "2027-01-02"

    def test_completed_may_be_patched(self, api, task):
        assert api.patch(f"/api/v1/tasks/{task['id']}", json={"completed": True}).get_json()["completed"] is True

    def test_merge_patch_media_type_is_accepted(self, api, task):
        response = api.patch(
            f"/api/v1/tasks/{task['id']}", data='{"title": "Mist"}', content_type="application/merge-patch+json"
        )
        assert response.get_json()["title"] == "Mist"

    @pytest.mark.parametrize(
        ("body", "field", "message"),
        [
            ({"title": None}, "title", "Must be text."),
            ({"title": ""}, "title", "Must not be empty."),
            ({"recurrence_days": 0}, "recurrence_days", "Must be at least 1."),
            ({"due_date": "soon"}, "due_date", "Must be a date (YYYY-MM-DD)."),
            ({"plant_id": 12345}, "plant_id", "Choose one of your plants."),
            ({"owner": 2}, "owner", "Unknown field."),
        ],
    )
    def test_invalid_patch_is_422_and_changes_nothing(self, api, task, body, field, message):
        response = api.patch(f"/api/v1/tasks/{task['id']}", json=body)
        assert response.status_code == 422
        assert {"field": field, "message": message} in response.get_json()["detail"]
        assert api.get(f"/api/v1/tasks/{task['id']}").get_json() == task

    def test_malformed_patch_is_400(self, api, task):
        response = api.patch(f"/api/v1/tasks/{task['id']}", data="[1]", content_type="application/json")
        assert response.status_code == 400
