"""app.domain.tasks without HTTP: what the HTML forms and the JSON API both rely on."""

from datetime import UTC, date, datetime

import pytest

from app.domain import tasks as service
from app.errors import ValidationError
from app.extensions import db
from app.models import Plant, Task, User
from app.ownership import personal_garden_id
from app.tasks import queries

from ..conftest import make_user

NOW = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)


@pytest.fixture
def users(app):
    """Two gardeners, created before the test's own app context opens its transaction."""
    ids = make_user(app), make_user(app, email="neighbour@example.com")
    with app.app_context():
        yield [db.session.get(User, user_id) for user_id in ids]


@pytest.fixture
def gardener(users):
    return users[0]


@pytest.fixture
def neighbour(users):
    return users[1]


def plant_of(user, name="Fern"):
    plant = Plant(garden_id=personal_garden_id(user.id), name=name)
    db.session.add(plant)
    db.session.flush()
    return plant


def errors_of(call):
    with pytest.raises(ValidationError) as caught:
        call()
    return {error["field"]: error["message"] for error in caught.value.detail}


def test_valid_json_values_are_cleaned(gardener):
    plant = plant_of(gardener)
    fields = service.validate_fields(
        db.session,
        {"title": " Water ", "description": None, "due_date": "2026-12-01", "plant_id": plant.id, "recurrence_days": 7},
        gardener,
    )
    assert fields == {
        "title": "Water",
        "description": "",
        "due_date": date(2026, 12, 1),
        "plant_id": plant.id,
        "recurrence_days": 7,
        "repeat_from": None,  # the kind's default (watering: when done), chosen by create_task
    }


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({}, "title", "Enter a title."),
        ({"title": 5}, "title", "Enter text."),
        ({"title": "ok", "description": ["list"]}, "description", "Enter text."),
        ({"title": "ok", "due_date": 20261201}, "due_date", "Enter a date as YYYY-MM-DD."),
        ({"title": "ok", "plant_id": True}, "plant_id", "Choose one of your plants."),
        ({"title": "ok", "plant_id": 1.5}, "plant_id", "Choose one of your plants."),
        ({"title": "ok", "recurrence_days": True}, "recurrence_days", "Enter a whole number of days."),
        ({"title": "ok", "recurrence_days": 2.5}, "recurrence_days", "Enter a whole number of days."),
        ({"title": "ok", "recurrence_days": 400}, "recurrence_days", "Repeat every 1 to 365 days."),
    ],
)
def test_wrong_json_types_and_ranges_are_refused(gardener, data, field, message):
    assert errors_of(lambda: service.validate_fields(db.session, data, gardener)) == {field: message}


def test_every_bad_field_is_reported_at_once(gardener):
    errors = errors_of(lambda: service.validate_fields(db.session, {"title": "", "recurrence_days": "0"}, gardener))
    assert set(errors) == {"title", "recurrence_days"}


def test_someone_elses_plant_is_refused(gardener, neighbour):
    theirs = plant_of(neighbour)
    errors = errors_of(lambda: service.create_task(db.session, gardener, {"title": "Take it", "plant_id": theirs.id}))
    assert errors == {"plant_id": "Choose one of your plants."}


def test_update_is_partial_and_sets_updated_at(gardener):
    task = service.create_task(db.session, gardener, {"title": "Water", "recurrence_days": 3}, now=NOW)
    later = datetime(2026, 11, 23, tzinfo=UTC)

    service.update_task(db.session, task, {"description": "rain water"}, now=later)

    assert (task.title, task.description, task.recurrence_days, task.updated_at) == ("Water", "rain water", 3, later)


def test_update_with_bad_input_changes_nothing(gardener):
    task = service.create_task(db.session, gardener, {"title": "Water"}, now=NOW)
    with pytest.raises(ValidationError):
        service.update_task(db.session, task, {"title": "", "description": "new"})
    assert (task.title, task.description) == ("Water", "")


def test_next_occurrence_is_due_after_the_completion_day_in_the_users_timezone(gardener):
    gardener.timezone = "Europe/Berlin"  # 23:30 UTC on the 22nd is already the 23rd in Berlin
    task = service.create_task(
        db.session, gardener, {"title": "Water", "recurrence_days": 3, "due_date": "2026-11-20"}, now=NOW
    )

    following = service.set_completed(db.session, task, True, NOW)

    assert following.due_date == date(2026, 11, 26)
    assert task.next_task_id == following.id
    assert (task.completed, task.completed_at, task.updated_at) == (True, NOW, NOW)


def test_unticking_and_ticking_again_never_leaves_two_occurrences(gardener):
    """Unticking takes back the untouched next occurrence; ticking again makes it anew."""
    task = service.create_task(db.session, gardener, {"title": "Water", "recurrence_days": 2}, now=NOW)
    assert service.set_completed(db.session, task, True, NOW) is not None
    assert service.set_completed(db.session, task, False, NOW) is None
    assert (task.completed, task.completed_at) == (False, None)
    assert db.session.scalar(db.select(db.func.count()).select_from(Task)) == 1
    assert service.set_completed(db.session, task, True, NOW) is not None
    assert service.set_completed(db.session, task, True, NOW) is None  # ticked twice: one next
    assert db.session.scalar(db.select(db.func.count()).select_from(Task)) == 2


def test_alert_tasks_keep_their_source_in_the_next_occurrence(gardener):
    task = service.create_task(
        db.session, gardener, {"title": "Check soil", "recurrence_days": 1}, now=NOW, source="alert"
    )
    assert service.set_completed(db.session, task, True, NOW).source == "alert"


def test_delete_removes_the_task(gardener):
    task = service.create_task(db.session, gardener, {"title": "Water"}, now=NOW)
    service.delete_task(db.session, task)
    assert db.session.get(Task, task.id) is None


def test_queries_count_per_status_and_filter_by_plant(gardener, neighbour):
    plant = plant_of(gardener)
    service.create_task(db.session, gardener, {"title": "a", "plant_id": plant.id})
    done = service.create_task(db.session, gardener, {"title": "b"})
    service.set_completed(db.session, done, True, NOW)
    service.create_task(db.session, neighbour, {"title": "theirs"})

    assert queries.status_counts(gardener) == {"all": 2, "pending": 1, "completed": 1}
    assert queries.status_counts(gardener, plant.id) == {"all": 1, "pending": 1, "completed": 0}
    page = queries.list_tasks(gardener, "completed")
    assert ([t.title for t in page.items], page.total, page.has_next) == (["b"], 1, False)
    assert [t.title for t in queries.pending_for_plant(gardener, plant.id).items] == ["a"]
