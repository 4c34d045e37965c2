"""The role matrix of docs/security.md ("Gardens and roles"), read from the document and walked.

Every route and method of app.url_map must have a row. For each garden-scoped cell, a user of
that role in a garden holding a plant with a bound device, a task, an alert and a care entry
makes the real request (page or API, with an empty body) and gets what the cell says: `ok`
(2xx/3xx, or 422 for the empty body), `403`, or `404` (an outsider, whatever the route).
"""

import itertools
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.auth import tokens
from app.clock import utcnow
from app.domain.devices import bind_device
from app.domain.invitations import hash_secret, new_secret
from app.extensions import db
from app.models import Alert, CareEvent, Device, GardenInvitation, GardenMember, Plant, Task, User
from app.ownership import personal_garden_id

from ..conftest import PASSWORD, AuthActions, make_user
from .test_access import all_routes, fill

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
ROLES = ("owner", "caretaker", "sitter", "viewer", "outsider")
OUTCOMES = {"ok", "403", "404", "—"}
ROW = re.compile(r"^\s*\|\s*([A-Z]+)\s*\|\s*`([^`]+)`\s*\|(.+)\|\s*$")
# Requests that remove the garden's plant or task: each gets fresh rows of its own.
DESTRUCTIVE = {
    ("DELETE", "/api/v1/plants/<int:plant_id>"),
    ("POST", "/plants/<int:plant_id>/delete"),
    ("DELETE", "/api/v1/tasks/<int:task_id>"),
    ("DELETE", "/tasks/<int:task_id>"),
    ("POST", "/tasks/<int:task_id>/delete"),
    ("POST", "/gardens/<int:garden_id>/leave"),
}
# Leaving ends the member's access to everything after it: each role's very last request.
LAST = ("POST", "/gardens/<int:garden_id>/leave")


def read_matrix(text):
    """{(method, rule): {role: outcome}} from the table between the role-matrix markers."""
    section = text.split("<!-- role-matrix -->", 1)[1].split("<!-- /role-matrix -->", 1)[0]
    matrix = {}
    for line in section.splitlines():
        found = ROW.match(line)
        if not found:
            continue
        cells = [c.strip() for c in found.group(3).split("|")]
        assert len(cells) == len(ROLES), line
        assert set(cells) <= OUTCOMES, line
        key = (found.group(1), found.group(2))
        assert key not in matrix, f"twice in the matrix: {key}"
        matrix[key] = dict(zip(ROLES, cells, strict=True))
    return matrix


MATRIX = read_matrix(DOC.read_text(encoding="utf-8"))
ROUTES = {(method, rule) for _, rule, method in all_routes()}
WALKED = sorted(key for key, cells in MATRIX.items() if set(cells.values()) != {"—"})


def test_every_route_and_method_is_in_the_matrix():
    missing = sorted(ROUTES - set(MATRIX))
    assert not missing, "routes missing from the role matrix in docs/security.md: " + ", ".join(
        f"{m} {r}" for m, r in missing
    )
    assert not sorted(set(MATRIX) - ROUTES), "rows for routes that do not exist"


def test_the_matrix_reader_notices_a_missing_or_wrong_row():
    table = "<!-- role-matrix -->\n| GET | `/a` | ok | ok | ok | ok | 404 |\n<!-- /role-matrix -->"
    assert read_matrix(table) == {("GET", "/a"): dict(zip(ROLES, ["ok", "ok", "ok", "ok", "404"], strict=True))}
    with pytest.raises(AssertionError):
        read_matrix(table.replace("404 |", "maybe |"))


def matches(outcome, status):
    if outcome == "ok":
        return status < 400 or status == 422
    return status == int(outcome)


class Garden:
    """The owner's garden with one member of each role, and an outsider with a garden of their own."""

    def __init__(self, app):
        self.app = app
        self.users = {role: make_user(app, email=f"{role}@example.com") for role in ROLES}
        with app.app_context():
            self.garden_id = personal_garden_id(self.users["owner"])
            for role in ("caretaker", "sitter", "viewer"):
                until = utcnow() + timedelta(days=7) if role == "sitter" else None
                db.session.add(GardenMember(garden_id=self.garden_id, user_id=self.users[role], role=role, until=until))
            db.session.commit()
        self.keys = itertools.count(1)
        self.tokens = {}
        self.clients = {}
        for role in ROLES:
            client = app.test_client()
            assert AuthActions(app, client).login(email=f"{role}@example.com", password=PASSWORD).status_code == 303
            self.clients[role] = client
            with app.app_context():
                self.tokens[role] = tokens.create_token(db.session.get(User, self.users[role]), "matrix")[1]
                db.session.commit()

    def fresh(self):
        """A plant with a bound device, its task, its alert and a care entry; their ids."""
        with self.app.app_context():
            plant = Plant(garden_id=self.garden_id, name="Shared fern")
            db.session.add(plant)
            db.session.flush()
            device = Device(
                namespace="",
                key=f"fern-{next(self.keys)}",
                source="native",
                owner_id=self.users["owner"],
                garden_id=self.garden_id,
                metrics=[],
            )
            db.session.add(device)
            db.session.flush()
            bind_device(db.session, plant, device)
            alert = Alert(garden_id=self.garden_id, plant_id=plant.id, problem="soil_moisture_low", state="open")
            task = Task(garden_id=self.garden_id, plant_id=plant.id, title="Water the fern", due_date=utcnow().date())
            care = CareEvent(garden_id=self.garden_id, plant_id=plant.id, kind="watered", at=utcnow())
            invitation = GardenInvitation(
                garden_id=self.garden_id,
                role="viewer",
                token_hash=hash_secret(new_secret()),
                expires_at=utcnow() + timedelta(days=7),
            )
            db.session.add_all([alert, task, care, invitation])
            db.session.commit()
            owner = db.session.scalar(
                select(GardenMember.id).where(
                    GardenMember.garden_id == self.garden_id, GardenMember.user_id == self.users["owner"]
                )
            )
            return {
                "plant_id": plant.id,
                "device_id": device.id,
                "task_id": task.id,
                "alert_id": alert.id,
                "garden_id": self.garden_id,
                "member_id": owner,  # the only owner: removing or demoting them is refused (422)
                "invitation_id": invitation.id,
            }

    def request(self, role, method, rule, ids):
        url = fill(rule, ids)
        if rule.startswith("/api/"):
            headers = {"Authorization": f"Bearer {self.tokens[role]}"}
            return self.clients[role].open(url, method=method, json={}, headers=headers)
        return self.clients[role].open(url, method=method, data={} if method != "GET" else None)


@pytest.fixture
def garden(app):
    return Garden(app)


def test_every_role_gets_what_the_matrix_says_on_every_garden_route(garden):
    wrong = []
    for role in ROLES:
        ids = garden.fresh()
        # the removing requests last, each on rows of its own
        for method, rule in sorted(WALKED, key=lambda key: (key in DESTRUCTIVE, key == LAST)):
            expected = MATRIX[method, rule][role]
            if expected == "—":
                continue
            response = garden.request(role, method, rule, garden.fresh() if (method, rule) in DESTRUCTIVE else ids)
            if not matches(expected, response.status_code):
                wrong.append(f"{role}: {method} {rule} -> {response.status_code}, the matrix says {expected}")
    assert not wrong, "\n".join(wrong)


def test_a_forbidden_answer_says_why_and_changes_nothing(garden):
    ids = garden.fresh()
    page = garden.request("viewer", "POST", "/plants/<int:plant_id>/care", ids)
    assert page.status_code == 403
    assert "lets you look, not log care" in page.get_data(as_text=True)
    api = garden.request("sitter", "DELETE", "/api/v1/plants/<int:plant_id>", ids)
    assert api.status_code == 403
    assert api.get_json()["error"] == "forbidden"
    assert "does not let you change plants" in api.get_json()["detail"]
    with garden.app.app_context():
        assert db.session.get(Plant, ids["plant_id"]) is not None
        assert db.session.query(CareEvent).filter_by(plant_id=ids["plant_id"]).count() == 1


def test_a_sitter_whose_time_is_up_sees_nothing_of_the_garden(garden, clock):
    ids = garden.fresh()
    assert garden.request("sitter", "GET", "/api/v1/plants/<int:plant_id>", ids).status_code == 200
    clock.shift(timedelta(days=8))
    assert garden.request("sitter", "GET", "/api/v1/plants/<int:plant_id>", ids).status_code == 404
    listed = garden.request("sitter", "GET", "/api/v1/plants", ids).get_json()["items"]
    assert listed == []


def test_pages_offer_only_what_the_role_allows(garden):
    ids = garden.fresh()
    plant_url = fill("/plants/<int:plant_id>", ids)
    edit_link = fill("/plants/<int:plant_id>/edit", ids)
    care_form = f'action="{fill("/plants/<int:plant_id>/care", ids)}"'
    pages = {
        role: garden.clients[role].get(plant_url).get_data(as_text=True) for role in ("caretaker", "sitter", "viewer")
    }
    assert edit_link in pages["caretaker"]
    assert care_form in pages["caretaker"]
    assert edit_link not in pages["sitter"]
    assert care_form in pages["sitter"]
    assert edit_link not in pages["viewer"]
    assert care_form not in pages["viewer"]
    assert "Water the fern" in pages["viewer"]  # the task is shown, without its checkbox form
    complete = fill("/tasks/<int:task_id>/complete", ids)
    assert complete in pages["sitter"]
    assert complete not in pages["viewer"]
    alerts = garden.clients["viewer"].get("/alerts").get_data(as_text=True)
    assert "Shared fern" in alerts
    assert fill("/alerts/<int:alert_id>/acknowledge", ids) not in alerts
    owners = garden.clients["owner"].get("/alerts").get_data(as_text=True)
    assert fill("/alerts/<int:alert_id>/acknowledge", ids) in owners
