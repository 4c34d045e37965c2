"""Care task pages and fragments: every route as a full page (JavaScript off) and as
an htmx fragment, validation messages under their field, recurrence, isolation."""

from datetime import UTC, date, datetime, timedelta

import pytest

from app.extensions import db
from app.models import Plant, Task, User
from app.ownership import personal_garden_id

from ..conftest import PASSWORD, make_user

ROUTES = [
    ("get", "/tasks/{id}"),
    ("get", "/tasks/{id}/edit"),
    ("post", "/tasks/{id}"),
    ("patch", "/tasks/{id}"),
    ("post", "/tasks/{id}/complete"),
    ("patch", "/tasks/{id}/complete"),
    ("get", "/tasks/{id}/delete"),
    ("post", "/tasks/{id}/delete"),
    ("delete", "/tasks/{id}"),
]


def add_plant(app, user_id, name="Fern"):
    with app.app_context():
        plant = Plant(garden_id=personal_garden_id(user_id), name=name)
        db.session.add(plant)
        db.session.commit()
        return plant.id


def add_task(app, user_id, title="Water the fern", **fields):
    with app.app_context():
        task = Task(garden_id=personal_garden_id(user_id), title=title, **fields)
        db.session.add(task)
        db.session.commit()
        return task.id


def load_task(app, task_id):
    with app.app_context():
        return db.session.get(Task, task_id)


def all_tasks(app):
    with app.app_context():
        return db.session.scalars(db.select(Task).order_by(Task.id)).all()


def assert_page(response, status=200):
    assert response.status_code == status, response.data
    assert b"<html" in response.data
    assert "HX-Request" in response.headers["Vary"]


def assert_fragment(response, status=200):
    assert response.status_code == status, response.data
    assert b"<html" not in response.data
    assert "HX-Request" in response.headers["Vary"]


def text(response):
    return response.get_data(as_text=True)


# The list


def test_list_page_shows_the_empty_state_tabs_and_create_form(client, user_id):
    response = client.get("/tasks")
    assert_page(response)
    body = text(response)
    assert "No care tasks yet" in body
    assert 'name="title"' in body
    assert 'All <span class="count">0</span>' in body


def test_list_fragment_is_the_list_only(htmx, app, user_id):
    add_task(app, user_id, "Repot basil")
    response = htmx.get("/tasks?status=pending")
    assert_fragment(response)
    body = text(response)
    assert "Repot basil" in body
    assert 'name="title"' not in body
    assert 'hx-push-url="true"' in body


def test_tabs_count_and_filter_pending_and_completed(client, app, user_id):
    add_task(app, user_id, "Water the fern")
    add_task(app, user_id, "Feed the roses", completed=True, completed_at=datetime.now(UTC))

    pending = text(client.get("/tasks?status=pending"))
    completed = text(client.get("/tasks?status=completed"))
    everything = text(client.get("/tasks"))

    assert "Water the fern" in pending
    assert "Feed the roses" not in pending
    assert "Feed the roses" in completed
    assert "Water the fern" not in completed
    assert "Water the fern" in everything
    assert "Feed the roses" in everything
    for body in (pending, completed, everything):
        assert 'All <span class="count">2</span>' in body
        assert 'Pending <span class="count">1</span>' in body
        assert 'Completed <span class="count">1</span>' in body
    assert 'href="/tasks?status=pending" hx-get="/tasks?status=pending"' in pending


def test_unknown_status_shows_all(client, app, user_id):
    add_task(app, user_id, "Water the fern")
    body = text(client.get("/tasks?status=bogus"))
    assert "Water the fern" in body
    assert 'href="/tasks" hx-get="/tasks" hx-target="#task-list" hx-push-url="true"\n     aria-current="page"' in body


def test_list_is_sorted_by_due_date_then_creation_with_undated_last(client, app, user_id):
    today = date.today()
    base = datetime(2026, 1, 1, tzinfo=UTC)
    add_task(app, user_id, "undated", created_at=base)
    add_task(app, user_id, "later", due_date=today + timedelta(days=5), created_at=base)
    add_task(app, user_id, "soon-second", due_date=today + timedelta(days=1), created_at=base + timedelta(hours=1))
    add_task(app, user_id, "soon-first", due_date=today + timedelta(days=1), created_at=base)

    body = text(client.get("/tasks"))

    positions = [body.index(f">{title}</span>") for title in ("soon-first", "soon-second", "later", "undated")]
    assert positions == sorted(positions)


def test_overdue_and_due_today_are_said_in_words_in_the_users_timezone(client, app, user_id):
    from zoneinfo import ZoneInfo

    with app.app_context():
        db.session.get(User, user_id).timezone = "Pacific/Kiritimati"  # UTC+14: often a day ahead of UTC
        db.session.commit()
    local_today = datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    add_task(app, user_id, "today-task", due_date=local_today)
    add_task(app, user_id, "late-task", due_date=local_today - timedelta(days=1))
    add_task(app, user_id, "future-task", due_date=local_today + timedelta(days=1))
    add_task(app, user_id, "done-late", due_date=local_today - timedelta(days=3), completed=True)

    body = text(client.get("/tasks"))

    def row(title):
        start = body.index(f">{title}</span>")
        return body[start : body.index("</li>", start)]

    assert "Due today" in row("today-task")
    assert "Overdue" in row("late-task")
    assert "Overdue" not in row("future-task")
    assert "Due today" not in row("future-task")
    assert "Overdue" not in row("done-late")
    assert "Done" in row("done-late")


def test_list_pages_hold_fifty_and_show_more_appends_the_next_rows(client, htmx, app, user_id):
    with app.app_context():
        db.session.add_all(Task(garden_id=personal_garden_id(user_id), title=f"task {n:03}") for n in range(120))
        db.session.commit()

    first = text(client.get("/tasks"))
    assert first.count('class="task"') == 50
    assert "Show more (50 of 120 shown)" in first
    assert 'href="/tasks?page=2"' in first

    more = htmx.get("/tasks?page=2", headers={"HX-Target": "more-tasks"})
    assert_fragment(more)
    assert text(more).count('class="task"') == 50
    assert 'id="task-tabs"' not in text(more)
    assert 'href="/tasks?page=3"' in text(more)

    last = text(client.get("/tasks?page=3"))
    assert last.count('class="task"') == 20
    assert "Show more" not in last
    assert "No more tasks here" in text(client.get("/tasks?page=9"))


def test_plant_filter_lists_its_tasks_and_presets_the_plant_in_the_form(client, app, user_id):
    fern = add_plant(app, user_id, "Fern")
    basil = add_plant(app, user_id, "Basil")
    add_task(app, user_id, "Mist the fern", plant_id=fern)
    add_task(app, user_id, "Pinch the basil", plant_id=basil)

    body = text(client.get(f"/tasks?plant_id={fern}"))

    assert "Care tasks for Fern" in body
    assert "Mist the fern" in body
    assert "Pinch the basil" not in body
    assert f'<option selected value="{fern}">Fern</option>' in body
    assert 'All <span class="count">1</span>' in body


def test_plant_select_lists_only_the_users_own_plants(client, app, user_id, other_client):
    add_plant(app, user_id, "My fern")
    with app.app_context():
        other_id = db.session.scalar(db.select(User.id).where(User.email == "other@example.com"))
    add_plant(app, other_id, "Their cactus")

    body = text(client.get("/tasks"))

    assert "My fern" in body
    assert "Their cactus" not in body


def test_alert_tasks_say_where_they_came_from(client, app, user_id):
    add_task(app, user_id, "Check the soil", source="alert")
    body = text(client.get("/tasks"))
    assert "From an <a" in body
    assert "Check the soil" in body


def test_list_needs_a_signed_in_user(client):
    response = client.get("/tasks")
    assert response.status_code == 302
    assert "/auth/login" in response.location


# Create


def test_create_without_javascript_redirects_back_to_the_list(client, app, user_id):
    fern = add_plant(app, user_id)
    response = client.post(
        "/tasks",
        data={
            "title": "  Water the fern  ",
            "description": "Use rain water",
            "due_date": "2026-12-01",
            "plant_id": str(fern),
            "recurrence_days": "3",
            "next": f"/tasks?plant_id={fern}",
        },
    )

    assert response.status_code == 303
    assert response.location == f"/tasks?plant_id={fern}"
    [task] = all_tasks(app)
    assert (task.title, task.description, task.due_date) == ("Water the fern", "Use rain water", date(2026, 12, 1))
    assert (task.plant_id, task.recurrence_days, task.source, task.completed) == (fern, 3, "user", False)
    page = client.get(response.location)
    assert "Added “Water the fern”." in text(page)


def test_create_with_htmx_answers_a_fresh_form_and_the_new_list(htmx, app, user_id):
    response = htmx.post("/tasks", data={"title": "Repot basil", "next": "/tasks?status=pending"})

    assert_fragment(response)
    body = text(response)
    assert "Added “Repot basil”." in body
    assert '<div id="task-list" hx-swap-oob="true">' in body
    assert ">Repot basil</span>" in body
    assert 'Pending <span class="count">1</span>' in body
    assert 'value="Repot basil"' not in body


BAD_INPUTS = [
    ("title", "", "Enter a title."),
    ("title", "    ", "Enter a title."),
    ("title", "x" * 201, "Keep the title to 200 characters or fewer."),
    ("description", "x" * 1001, "Keep the description to 1,000 characters or fewer."),
    ("due_date", "2026-13-45", "Enter a date as YYYY-MM-DD."),
    ("due_date", "tomorrow", "Enter a date as YYYY-MM-DD."),
    ("plant_id", "999999", "Choose one of your plants."),
    ("plant_id", "fern", "Choose one of your plants."),
    ("plant_id", "99999999999999999999", "Choose one of your plants."),
    ("recurrence_days", "0", "Repeat every 1 to 365 days."),
    ("recurrence_days", "366", "Repeat every 1 to 365 days."),
    ("recurrence_days", "-3", "Repeat every 1 to 365 days."),
    ("recurrence_days", "1.5", "Enter a whole number of days."),
    ("recurrence_days", "weekly", "Enter a whole number of days."),
]


def form_with(field, value):
    data = {"title": "Water the fern", "description": "typed notes", "due_date": "", "recurrence_days": "2"}
    data[field] = value
    return data


def field_error(body, field_id, message):
    """The message sits right under the field it is about."""
    return f'<p class="field-error" id="{field_id}-error">{message}</p>' in body


@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUTS)
def test_create_rejects_bad_input_under_the_field_and_keeps_what_was_typed(
    client, htmx, app, user_id, field, value, message
):
    page = client.post("/tasks", data=form_with(field, value))
    fragment = htmx.post("/tasks", data=form_with(field, value))

    assert_page(page, 422)
    assert_fragment(fragment, 422)
    for body in (text(page), text(fragment)):
        assert field_error(body, field, message)
        assert (value if field == "description" else "typed notes") in body
        if field != "title":
            assert 'value="Water the fern"' in body
    assert 'id="task-create"' in text(fragment)
    assert 'id="task-tabs"' not in text(fragment)
    assert all_tasks(app) == []


def test_create_rejects_someone_elses_plant(client, app, user_id, other_client):
    with app.app_context():
        other_id = db.session.scalar(db.select(User.id).where(User.email == "other@example.com"))
    theirs = add_plant(app, other_id, "Their cactus")

    response = client.post("/tasks", data={"title": "Steal a cactus", "plant_id": str(theirs)})

    assert response.status_code == 422
    assert field_error(text(response), "plant_id", "Choose one of your plants.")
    assert all_tasks(app) == []


def test_title_of_exactly_200_characters_after_trimming_is_accepted(client, app, user_id):
    response = client.post("/tasks", data={"title": "  " + "x" * 200 + "  "})
    assert response.status_code == 303
    assert all_tasks(app)[0].title == "x" * 200


# One task, edit


def test_show_task_as_page_and_fragment(client, htmx, app, user_id):
    task_id = add_task(app, user_id, "Water the fern")
    page = client.get(f"/tasks/{task_id}")
    fragment = htmx.get(f"/tasks/{task_id}")
    assert_page(page)
    assert_fragment(fragment)
    assert ">Water the fern</span>" in text(page)
    assert text(fragment).lstrip().startswith(f'<li id="task-{task_id}"')


def test_edit_form_as_page_and_fragment_is_filled_in(client, htmx, app, user_id):
    task_id = add_task(app, user_id, "Water the fern", due_date=date(2026, 12, 24), recurrence_days=4)
    page = client.get(f"/tasks/{task_id}/edit?next=/tasks%3Fstatus%3Dpending")
    fragment = htmx.get(f"/tasks/{task_id}/edit?next=/tasks%3Fstatus%3Dpending")
    assert_page(page)
    assert_fragment(fragment)
    for body in (text(page), text(fragment)):
        assert f'name="task-{task_id}-title"' in body
        assert 'value="Water the fern"' in body
        assert 'value="2026-12-24"' in body
        assert 'value="4"' in body
        assert f'hx-patch="/tasks/{task_id}"' in body
        assert 'name="next" type="hidden" value="/tasks?status=pending"' in body or (
            'name="next" value="/tasks?status=pending"' in body
        )


def edit_data(task_id, **values):
    return {f"task-{task_id}-{name}": value for name, value in values.items()}


def test_edit_without_javascript_saves_and_redirects_to_the_list_it_came_from(client, app, user_id):
    task_id = add_task(app, user_id, "Water the fern")
    before = load_task(app, task_id).updated_at
    response = client.post(
        f"/tasks/{task_id}",
        data={
            **edit_data(task_id, title="Water the ferns", due_date="2026-12-02", recurrence_days=""),
            "next": "/tasks?status=pending",
        },
    )
    assert response.status_code == 303
    assert response.location == "/tasks?status=pending"
    task = load_task(app, task_id)
    assert (task.title, task.due_date, task.recurrence_days) == ("Water the ferns", date(2026, 12, 2), None)
    assert task.updated_at > before
    assert "Saved “Water the ferns”." in text(client.get(response.location))


def test_edit_with_htmx_swaps_the_row_back(htmx, app, user_id):
    task_id = add_task(app, user_id, "Water the fern")
    response = htmx.patch(f"/tasks/{task_id}", data=edit_data(task_id, title="Mist the fern", description="lightly"))
    assert_fragment(response)
    body = text(response)
    assert body.lstrip().startswith(f'<li id="task-{task_id}" class="task')
    assert ">Mist the fern</span>" in body
    assert "lightly" in body
    assert load_task(app, task_id).title == "Mist the fern"


@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUTS)
def test_edit_rejects_bad_input_under_the_field_and_changes_nothing(client, htmx, app, user_id, field, value, message):
    task_id = add_task(app, user_id, "Water the fern", description="original")
    data = edit_data(task_id, **form_with(field, value))

    page = client.post(f"/tasks/{task_id}", data=data)
    fragment = htmx.patch(f"/tasks/{task_id}", data=data)

    assert_page(page, 422)
    assert_fragment(fragment, 422)
    for body in (text(page), text(fragment)):
        assert field_error(body, f"task-{task_id}-{field}", message)
        assert (value if field == "description" else "typed notes") in body
    assert text(fragment).lstrip().startswith(f'<li id="task-{task_id}" class="task is-editing"')
    task = load_task(app, task_id)
    assert (task.title, task.description) == ("Water the fern", "original")


# Complete


def test_complete_without_javascript_ticks_and_unticks(client, app, user_id):
    task_id = add_task(app, user_id, "Water the fern")
    created = load_task(app, task_id)

    ticked = client.post(f"/tasks/{task_id}/complete", data={"completed": "1", "next": "/tasks?status=pending"})
    assert ticked.status_code == 303
    assert ticked.location == "/tasks?status=pending"
    task = load_task(app, task_id)
    assert task.completed
    assert task.completed_at is not None
    assert task.updated_at > created.updated_at

    unticked = client.post(f"/tasks/{task_id}/complete", data={})
    assert unticked.status_code == 303
    task_after = load_task(app, task_id)
    assert not task_after.completed
    assert task_after.completed_at is None
    assert task_after.updated_at >= task.updated_at


def test_complete_with_htmx_answers_the_row_and_fresh_tab_counts(htmx, app, user_id):
    task_id = add_task(app, user_id, "Water the fern")
    response = htmx.patch(f"/tasks/{task_id}/complete", data={"completed": "1", "next": "/tasks?status=pending"})
    assert_fragment(response)
    body = text(response)
    assert body.lstrip().startswith(f'<li id="task-{task_id}" class="task is-done')
    assert "checked" in body
    assert ">Done</span>" in body
    assert '<nav id="task-tabs" class="tabs" aria-label="Show tasks" hx-swap-oob="true">' in body
    assert 'Completed <span class="count">1</span>' in body
    assert 'Pending <span class="count">0</span>' in body
    assert 'aria-current="page">Pending' in body


def test_completing_a_repeating_task_creates_the_next_one_exactly_once(client, htmx, app, user_id):
    fern = add_plant(app, user_id)
    task_id = add_task(app, user_id, "Water the fern", plant_id=fern, recurrence_days=3, description="rain water")

    first = htmx.patch(f"/tasks/{task_id}/complete", data={"completed": "1"})
    htmx.patch(f"/tasks/{task_id}/complete", data={})
    client.post(f"/tasks/{task_id}/complete", data={"completed": "1"})
    htmx.patch(f"/tasks/{task_id}/complete", data={"completed": "1"})

    original, following = all_tasks(app)
    assert original.next_task_id == following.id
    assert original.completed
    assert following.due_date == original.completed_at.date() + timedelta(days=3)
    assert (following.title, following.plant_id, following.recurrence_days) == ("Water the fern", fern, 3)
    assert (following.description, following.completed) == ("rain water", False)
    assert "Next one added, due" in text(first)


def test_completing_a_one_off_task_creates_nothing(htmx, app, user_id):
    task_id = add_task(app, user_id, "Repot basil")
    htmx.patch(f"/tasks/{task_id}/complete", data={"completed": "1"})
    assert len(all_tasks(app)) == 1


# Delete


def test_delete_confirmation_page_and_fragment(client, htmx, app, user_id):
    task_id = add_task(app, user_id, "Water the fern")
    page = client.get(f"/tasks/{task_id}/delete")
    fragment = htmx.get(f"/tasks/{task_id}/delete")
    assert_page(page)
    assert_fragment(fragment)
    for body in (text(page), text(fragment)):
        assert "Delete the task “Water the fern”?" in body
        assert f'action="/tasks/{task_id}/delete"' in body
    assert load_task(app, task_id) is not None


def test_delete_without_javascript_removes_the_task_and_redirects(client, app, user_id):
    task_id = add_task(app, user_id, "Water the fern")
    response = client.post(f"/tasks/{task_id}/delete", data={"next": "/tasks?status=completed"})
    assert response.status_code == 303
    assert response.location == "/tasks?status=completed"
    assert all_tasks(app) == []
    assert "Deleted “Water the fern”." in text(client.get(response.location))


def test_delete_with_htmx_removes_the_row_and_refreshes_the_counts(htmx, app, user_id):
    keep = add_task(app, user_id, "Keep me")
    gone = add_task(app, user_id, "Delete me")
    response = htmx.delete(f"/tasks/{gone}?next=/tasks")
    assert_fragment(response)
    body = text(response)
    assert 'hx-swap-oob="true"' in body
    assert 'All <span class="count">1</span>' in body
    assert "Delete me" not in body
    assert [t.id for t in all_tasks(app)] == [keep]


def test_deleting_the_last_task_with_htmx_shows_the_empty_state(htmx, app, user_id):
    task_id = add_task(app, user_id, "Only task")
    response = htmx.delete(f"/tasks/{task_id}?next=/tasks")
    assert_fragment(response)
    assert '<div id="task-list" hx-swap-oob="true">' in text(response)
    assert "No care tasks yet" in text(response)


def test_delete_method_without_htmx_redirects(client, app, user_id):
    task_id = add_task(app, user_id, "Water the fern")
    response = client.delete(f"/tasks/{task_id}")
    assert response.status_code == 303
    assert all_tasks(app) == []


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/tasks", "/plants", "javascript:alert(1)"])
def test_next_only_ever_returns_to_the_task_list(client, app, user_id, target):
    task_id = add_task(app, user_id, "Water the fern")
    response = client.post(f"/tasks/{task_id}/complete", data={"completed": "1", "next": target})
    assert response.status_code == 303
    assert response.location == "/tasks"


# Isolation


@pytest.fixture
def their_task(app, other_client):
    with app.app_context():
        other_id = db.session.scalar(db.select(User.id).where(User.email == "other@example.com"))
    plant = add_plant(app, other_id, "Their cactus")
    return add_task(app, other_id, "Their task", plant_id=plant, recurrence_days=2)


def test_missing_task_is_404_on_every_route(client, user_id):
    for method, route in ROUTES:
        assert getattr(client, method)(route.format(id=424242)).status_code == 404, (method, route)


def test_other_users_plant_filter_is_404(client, app, user_id, their_task):
    plant_id = load_task(app, their_task).plant_id
    assert client.get(f"/tasks?plant_id={plant_id}").status_code == 404
    assert client.get("/tasks?plant_id=fern").status_code == 404


def test_other_users_tasks_never_show_in_the_list(client, app, user_id, their_task):
    body = text(client.get("/tasks"))
    assert "Their task" not in body
    assert 'All <span class="count">0</span>' in body


def csrf_token_in(body):
    return body.split('name="csrf_token"')[1].split('value="')[1].split('"')[0]


def test_task_forms_need_the_csrf_token_as_field_or_htmx_header(make_app):
    app = make_app(config={"WTF_CSRF_ENABLED": True})
    make_user(app)
    client = app.test_client()
    token = csrf_token_in(text(client.get("/auth/login")))
    login = {"email": "gardener@example.com", "password": PASSWORD, "csrf_token": token}
    assert client.post("/auth/login", data=login).status_code == 303
    token = csrf_token_in(text(client.get("/tasks")))

    without = client.post("/tasks", data={"title": "No token"})
    with_field = client.post("/tasks", data={"title": "Field", "csrf_token": token})
    with_header = client.post("/tasks", data={"title": "Header"}, headers={"X-CSRFToken": token, "HX-Request": "true"})

    assert (without.status_code, with_field.status_code, with_header.status_code) == (400, 303, 200)
    assert [task.title for task in all_tasks(app)] == ["Field", "Header"]


def test_back_button_history_restore_gets_the_full_page(client, user_id):
    """htmx restores a pushed URL (here: a filter tab) by fetching it with HX-Request set."""
    response = client.get("/tasks?status=pending", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert_page(response)


def test_plant_page_partial_lists_the_plants_pending_tasks_and_links_to_add_one(app, client, user_id):
    from flask import render_template
    from flask_login import login_user

    from app.tasks.views import plant_tasks_context

    fern = add_plant(app, user_id, "Fern")
    add_task(app, user_id, "Mist the fern", plant_id=fern)
    add_task(app, user_id, "Watered already", plant_id=fern, completed=True)
    add_task(app, user_id, "Unrelated")
    with app.test_request_context("/plants/1"):
        login_user(db.session.get(User, user_id))
        html = render_template("tasks/_plant_tasks.html", **plant_tasks_context(db.session.get(Plant, fern)))

    assert "Mist the fern" in html
    assert "Watered already" not in html
    assert "Unrelated" not in html
    assert f'href="/tasks?plant_id={fern}#task-create">Add a task</a>' in html
    assert ">1 pending task for Fern</a>" in html  # not "All 1 pending task"


@pytest.mark.parametrize("page", ["0", "-4", "abc", "99999999999999999999"])
def test_odd_page_numbers_still_show_a_list(client, app, user_id, page):
    add_task(app, user_id, "Water the fern")
    assert client.get(f"/tasks?page={page}").status_code == 200


@pytest.mark.parametrize("huge", ["99999999999999999999", "2147483648", "0"])
def test_out_of_range_ids_are_404_not_500(client, user_id, huge):
    assert client.get(f"/tasks/{huge}").status_code == 404
    assert client.get(f"/tasks?plant_id={huge}").status_code == 404


def test_a_plant_without_pending_tasks_does_not_offer_all_0_of_them(app, user_id):
    from flask import render_template
    from flask_login import login_user

    from app.tasks.views import plant_tasks_context

    fern = add_plant(app, user_id, "Fern")
    with app.test_request_context("/plants/1"):
        login_user(db.session.get(User, user_id))
        html = render_template("tasks/_plant_tasks.html", **plant_tasks_context(db.session.get(Plant, fern)))
    assert "All 0" not in html
    assert ">Tasks for Fern</a>" in html
