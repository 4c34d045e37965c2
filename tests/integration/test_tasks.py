"""Care task pages and fragments: every route as a full page (JavaScript off) and as
an htmx fragment, validation messages under their field, recurrence, isolation."""

from datetime import UTC, date, datetime, timedelta

import pytest

from app.extensions import db
from app.models import Plant, Task, User

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
        plant = Plant(user_id=user_id, name=name)
        db.session.add(plant)
        db.session.commit()
        return plant.id


def add_task(app, user_id, title="Water the fern", **fields):
    with app.app_context():
        task = Task(user_id=user_id, title=title, **fields)
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
    assert "All <span class=\"count\">0</span>" in body


def test_list_fragment_is_the_list_only(htmx, app, user_id):
    add_task(app, user_id, "Repot basil")
    response = htmx.get("/tasks?status=pending")
    assert_fragment(response)
    body = text(response)
    assert "Repot basil" in body
    assert 'name="title"' not in body
    assert 'hx-push-url="true"' in body
