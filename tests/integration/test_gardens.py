"""Garden pages and invitations through the browser's forms (issue 19): my gardens, a
garden's members and roles, invitations by link and by email, and who may do what."""

import hashlib
import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest

from app.auth import tokens
from app.extensions import db
from app.models import Alert, Garden, GardenMember, NotificationChannel, Plant, Task, User
from app.settings.notification_channels import ChannelInput, create_channel

from ..conftest import AuthActions, make_user
from ..fixtures.services import smtp_server
from .garden_helpers import add_member, invitations_of, make_garden, member_of, secret_of

PUBLIC = "https://plants.example"
URL = re.compile(r'id="invitation-url"[^>]*value="([^"]+)"')


@pytest.fixture
def app(make_app):
    return make_app(PUBLIC_URL=PUBLIC)


@pytest.fixture
def owner(app, client):
    uid = make_user(app, email="ana@example.com")
    assert AuthActions(app, client).login(email="ana@example.com").status_code == 303
    return uid


def signed_in(app, email):
    uid = make_user(app, email=email)
    other = app.test_client()
    assert AuthActions(app, other).login(email=email).status_code == 303
    return uid, other


def invite(client, garden_id, **fields):
    data = {"role": "caretaker", "expires_days": "7", "until": "", "email": "", **fields}
    response = client.post(f"/gardens/{garden_id}/invitations", data=data)
    match = URL.search(response.get_data(as_text=True))
    return response, match and match.group(1)


def later(days):
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


# My gardens -----------------------------------------------------------------------------


def test_my_gardens_lists_each_garden_with_my_role_and_nobody_elses(app, client, owner):
    bea, _ = signed_in(app, "bea@example.com")
    shared = make_garden(app, bea, "Community plot", ana=(owner, "sitter", datetime.now(UTC) + timedelta(days=3)))
    make_garden(app, bea, "Bea's balcony")

    page = client.get("/gardens").get_data(as_text=True)
    assert "Community plot" in page
    assert "Plant-sitter" in page
    assert "Bea&#39;s balcony" not in page
    assert "Bea's balcony" not in page
    assert f'href="/gardens/{shared}"' in page
    assert 'href="/gardens"' in client.get("/today").get_data(as_text=True)  # in the navigation


def test_creating_a_garden_makes_me_its_owner(app, client, owner):
    response = client.post("/gardens", data={"name": "  Flat share  "})
    assert response.status_code == 303
    garden_id = int(response.location.rsplit("/", 1)[1])
    assert member_of(app, garden_id, owner).role == "owner"
    assert "Flat share" in client.get(f"/gardens/{garden_id}").get_data(as_text=True)


@pytest.mark.parametrize(("name", "message"), [("   ", "Give the garden a name."), ("x" * 101, "100 characters")])
def test_a_garden_needs_a_sensible_name(app, client, owner, name, message):
    response = client.post("/gardens", data={"name": name})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


# Outside and inside --------------------------------------------------------------------


def test_someone_elses_garden_is_not_found_on_every_route(app, client, owner):
    bea, _ = signed_in(app, "bea@example.com")
    garden = make_garden(app, bea, "Bea's")
    member = member_of(app, garden, bea).id
    routes = [
        ("get", f"/gardens/{garden}"),
        ("get", f"/gardens/{garden}/delete"),
        ("post", f"/gardens/{garden}/delete"),
        ("post", f"/gardens/{garden}/rename"),
        ("post", f"/gardens/{garden}/leave"),
        ("post", f"/gardens/{garden}/invitations"),
        ("post", f"/gardens/{garden}/invitations/1/revoke"),
        ("post", f"/gardens/{garden}/members/{member}/role"),
        ("post", f"/gardens/{garden}/members/{member}/remove"),
        ("post", f"/gardens/{garden}/notifications"),
        ("get", "/gardens/999999"),
        ("get", "/gardens/99999999999999999999"),
    ]
    for method, path in routes:
        assert getattr(client, method)(path, data={"name": "x", "role": "owner"}).status_code == 404, path


@pytest.mark.parametrize("role", ["caretaker", "sitter", "viewer"])
def test_only_owners_manage_members(app, client, owner, role):
    bea, bea_client = signed_in(app, "bea@example.com")
    until = datetime.now(UTC) + timedelta(days=5) if role == "sitter" else None
    garden = make_garden(app, owner, "Ana's plot", bea=(bea, role, until))
    ana_member = member_of(app, garden, owner).id

    page = bea_client.get(f"/gardens/{garden}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Ana&#39;s plot" in text
    assert "Invite someone" not in text
    assert "Remove from garden" not in text

    _, url = invite(client, garden)
    [pending] = invitations_of(app, garden)
    forbidden = [
        ("get", f"/gardens/{garden}/delete"),
        ("post", f"/gardens/{garden}/delete"),
        ("post", f"/gardens/{garden}/rename"),
        ("post", f"/gardens/{garden}/invitations"),
        ("post", f"/gardens/{garden}/invitations/{pending.id}/revoke"),
        ("post", f"/gardens/{garden}/members/{ana_member}/role"),
        ("post", f"/gardens/{garden}/members/{ana_member}/remove"),
    ]
    for method, path in forbidden:
        response = getattr(bea_client, method)(path, data={"name": "Mine", "role": "viewer", "confirm": "Ana's plot"})
        assert response.status_code == 403, path
        assert "Only the garden&#39;s owners can manage its members." in response.get_data(as_text=True)
    assert member_of(app, garden, owner).role == "owner"
    assert invitations_of(app, garden)[0].revoked_at is None


def test_a_sitter_whose_time_ran_out_sees_the_garden_no_more(app, client, owner, clock):
    bea, bea_client = signed_in(app, "bea@example.com")
    garden = make_garden(app, owner, "Ana's plot", bea=(bea, "sitter", datetime.now(UTC) + timedelta(minutes=2)))
    assert bea_client.get(f"/gardens/{garden}").status_code == 200
    clock.shift(timedelta(minutes=3))
    assert bea_client.get(f"/gardens/{garden}").status_code == 404
    assert "Ana&#39;s plot" not in bea_client.get("/gardens").get_data(as_text=True)


# Members ---------------------------------------------------------------------------------


def test_an_owner_changes_a_role_and_removes_a_member(app, client, owner):
    bea, bea_client = signed_in(app, "bea@example.com")
    garden = make_garden(app, owner, "Plot", bea=(bea, "viewer"))
    member = member_of(app, garden, bea).id

    response = client.post(f"/gardens/{garden}/members/{member}/role", data={"role": "sitter", "until": later(4)})
    assert response.status_code == 303
    changed = member_of(app, garden, bea)
    assert changed.role == "sitter"
    assert changed.until is not None
    page = client.get(f"/gardens/{garden}").get_data(as_text=True)
    assert "bea" in page
    assert "until" in page

    assert client.post(f"/gardens/{garden}/members/{member}/role", data={"role": "sitter"}).status_code == 422
    response = client.post(f"/gardens/{garden}/members/{member}/role", data={"role": "boss"})
    assert response.status_code == 422

    assert client.post(f"/gardens/{garden}/members/{member}/remove").status_code == 303
    assert member_of(app, garden, bea) is None
    assert bea_client.get(f"/gardens/{garden}").status_code == 404


def test_the_last_owner_can_neither_leave_nor_be_demoted(app, client, owner):
    garden = make_garden(app, owner, "Plot")
    me = member_of(app, garden, owner).id
    for response in (
        client.post(f"/gardens/{garden}/leave"),
        client.post(f"/gardens/{garden}/members/{me}/role", data={"role": "viewer"}),
        client.post(f"/gardens/{garden}/members/{me}/remove"),
    ):
        assert response.status_code == 422
        assert "A garden needs an owner" in response.get_data(as_text=True)
    assert member_of(app, garden, owner).role == "owner"
    page = client.get(f"/gardens/{garden}").get_data(as_text=True)
    assert "only owner" in page
    assert "Leave this garden" not in page


def test_a_member_leaves_a_garden(app, client, owner):
    bea, bea_client = signed_in(app, "bea@example.com")
    garden = make_garden(app, owner, "Plot", bea=(bea, "caretaker"))
    assert bea_client.post(f"/gardens/{garden}/leave").status_code == 303
    assert member_of(app, garden, bea) is None


def test_an_owner_renames_and_deletes_a_garden_with_its_plants(app, client, owner):
    garden = make_garden(app, owner, "Plot")
    with app.app_context():
        db.session.add(Plant(garden_id=garden, name="Basil"))
        db.session.commit()
    assert client.post(f"/gardens/{garden}/rename", data={"name": "Roof"}).status_code == 303
    assert client.post(f"/gardens/{garden}/rename", data={"name": ""}).status_code == 422
    assert "name to confirm" in client.get(f"/gardens/{garden}/delete").get_data(as_text=True)
    assert client.post(f"/gardens/{garden}/delete", data={"confirm": "Plot"}).status_code == 422
    assert client.post(f"/gardens/{garden}/delete", data={"confirm": "Roof"}).status_code == 303
    with app.app_context():
        assert db.session.get(Garden, garden) is None
        assert db.session.scalars(db.select(Plant)).all() == []


def test_notification_choices_are_per_member_and_per_garden(app, client, owner):
    garden = make_garden(app, owner, "Plot")
    with app.app_context():
        mine = create_channel(db.session, owner, ChannelInput(kind="ntfy", url="ntfy://ntfy.example/a"), app.config)
        other = create_channel(db.session, owner, ChannelInput(kind="ntfy", url="ntfy://ntfy.example/b"), app.config)
        db.session.commit()
        mine_id, other_id = mine.id, other.id
    page = client.get(f"/gardens/{garden}").get_data(as_text=True)
    assert f'name="events-{mine_id}" value="alert_opened" checked' in page  # None: each channel's own events

    response = client.post(f"/gardens/{garden}/notifications", data={f"events-{mine_id}": ["alert_opened", "task_due"]})
    assert response.status_code == 303
    assert member_of(app, garden, owner).notify == {str(mine_id): ["alert_opened", "task_due"]}
    page = client.get(f"/gardens/{garden}").get_data(as_text=True)
    assert f'name="events-{other_id}" value="alert_opened" checked' not in page

    assert client.post(f"/gardens/{garden}/notifications", data={f"events-{mine_id}": "nonsense"}).status_code == 422
    assert client.post(f"/gardens/{garden}/notifications", data={"reset": "1"}).status_code == 303
    assert member_of(app, garden, owner).notify is None


# Invitations by link -------------------------------------------------------------------


def test_an_invitation_link_is_shown_once_and_only_its_hash_is_stored(app, client, owner):
    garden = make_garden(app, owner, "Plot")
    response, url = invite(client, garden, role="viewer")
    assert response.status_code == 201
    assert url.startswith(f"{PUBLIC}/invitations/")
    [stored] = invitations_of(app, garden)
    assert stored.token_hash == hashlib.sha256(secret_of(url).encode()).hexdigest()
    assert secret_of(url) not in repr(vars(stored))
    assert stored.expires_at - datetime.now(UTC) > timedelta(days=6, hours=23)
    page = client.get(f"/gardens/{garden}").get_data(as_text=True)
    assert "Pending invitations" in page
    assert "Viewer" in page
    assert secret_of(url) not in page


def test_opening_the_link_shows_the_invitation_and_accepting_it_is_a_post(app, client, owner):
    garden = make_garden(app, owner, "Plot")
    _, url = invite(client, garden, role="sitter", until=later(10))
    path = url.removeprefix(PUBLIC)

    stranger = app.test_client()
    page = stranger.get(path)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Plot" in text
    assert "Plant-sitter" in text
    assert "Sign in to accept" in text
    assert f"/auth/login?next={path}" in text.replace("%2F", "/")
    assert invitations_of(app, garden)[0].accepted_at is None  # looking (a link preview) accepts nothing

    response = stranger.post(
        "/auth/register?next=" + path, data={"email": "bea@example.com", "password": "correct horse battery"}
    )
    assert response.status_code == 303
    assert response.location == path
    page = stranger.get(path).get_data(as_text=True)
    assert "Accept invitation" in page
    assert "bea@example.com" in page
    response = stranger.post(path + "/accept")
    assert response.status_code == 303
    assert response.location == f"/gardens/{garden}"
    member = member_of(app, garden, invitations_of(app, garden)[0].accepted_by_id)
    assert member.role == "sitter"
    assert member.until is not None
    assert "Welcome to" in stranger.get(f"/gardens/{garden}").get_data(as_text=True)


def test_an_invitation_works_once(app, client, owner):
    garden = make_garden(app, owner, "Plot")
    _, url = invite(client, garden)
    path = url.removeprefix(PUBLIC)
    _, bea = signed_in(app, "bea@example.com")
    _, cem = signed_in(app, "cem@example.com")
    assert bea.post(path + "/accept").status_code == 303
    again = bea.post(path + "/accept")
    assert "You are already a member of this garden." in again.get_data(as_text=True)
    used = cem.post(path + "/accept")
    assert used.status_code == 410
    assert "This invitation has already been used." in used.get_data(as_text=True)
    assert cem.get(f"/gardens/{garden}").status_code == 404


def test_a_member_opening_a_new_invitation_is_told_so(app, client, owner):
    garden = make_garden(app, owner, "Plot")
    _, url = invite(client, garden)
    page = client.get(url.removeprefix(PUBLIC))
    assert "You are already a member of this garden." in page.get_data(as_text=True)
    assert client.post(url.removeprefix(PUBLIC) + "/accept").status_code == 200
    assert invitations_of(app, garden)[0].accepted_at is None  # not used up by a member


def test_a_revoked_invitation_no_longer_works(app, client, owner):
    garden = make_garden(app, owner, "Plot")
    _, url = invite(client, garden)
    [pending] = invitations_of(app, garden)
    assert client.post(f"/gardens/{garden}/invitations/{pending.id}/revoke").status_code == 303
    assert "No pending invitations." in client.get(f"/gardens/{garden}").get_data(as_text=True)
    _, bea = signed_in(app, "bea@example.com")
    for response in (bea.get(url.removeprefix(PUBLIC)), bea.post(url.removeprefix(PUBLIC) + "/accept")):
        assert response.status_code == 410
        assert "This invitation was withdrawn" in response.get_data(as_text=True)


def test_an_expired_invitation_no_longer_works(app, client, owner, clock):
    garden = make_garden(app, owner, "Plot")
    _, url = invite(client, garden, expires_days="1")
    clock.shift(timedelta(days=1, minutes=1))
    _, bea = signed_in(app, "bea@example.com")
    response = bea.post(url.removeprefix(PUBLIC) + "/accept")
    assert response.status_code == 410
    assert "This invitation has expired." in response.get_data(as_text=True)
    assert member_of(app, garden, invitations_of(app, garden)[0].created_by_id).role == "owner"


@pytest.mark.parametrize(
    "secret",
    [
        "A" * 43,  # the right form, no such invitation
        "short",
        "A" * 44,
        "%00" * 5,
    ],
)
def test_a_forged_link_is_not_found(app, client, owner, secret):
    _, bea = signed_in(app, "bea@example.com")
    for response in (bea.get(f"/invitations/{secret}"), bea.post(f"/invitations/{secret}/accept")):
        assert response.status_code == 404
        assert "This invitation link is not valid." in response.get_data(as_text=True)


def test_accepting_needs_an_account(app, client, owner):
    garden = make_garden(app, owner, "Plot")
    _, url = invite(client, garden)
    response = app.test_client().post(url.removeprefix(PUBLIC) + "/accept")
    assert response.status_code in (302, 303)
    assert "/auth/login" in response.location
    assert invitations_of(app, garden)[0].accepted_at is None


@pytest.mark.parametrize(
    ("fields", "field_message"),
    [
        ({"role": "boss"}, "Choose a role"),
        ({"role": "sitter"}, "Say until when the plant-sitter"),
        ({"role": "sitter", "until": "2001-01-01"}, "The end date must be in the future."),
        ({"role": "sitter", "until": "01/02/2030"}, "Enter a date as YYYY-MM-DD."),
        ({"role": "viewer", "until": later(3)}, "Only a plant-sitter"),
        ({"email": "not an address"}, "That is not an email address."),
        ({"email": "a" * 250 + "@example.com"}, "at most 254 characters"),
        ({"expires_days": "365"}, "Choose how long the link works."),
    ],
)
def test_a_bad_invitation_is_refused_where_it_was_typed(app, client, owner, fields, field_message):
    garden = make_garden(app, owner, "Plot")
    response, url = invite(client, garden, **fields)
    assert response.status_code == 422
    assert field_message in response.get_data(as_text=True)
    assert url is None
    assert invitations_of(app, garden) == []


# Invitations by email ------------------------------------------------------------------


def test_an_email_invitation_goes_through_my_email_channel(app, client, owner):
    garden = make_garden(app, owner, "Plot <b>7</b>")
    with smtp_server() as inbox:
        with app.app_context():
            create_channel(
                db.session,
                owner,
                ChannelInput(
                    kind="email", url=f"mailto://127.0.0.1:{inbox.port}?to=ana@example.com&from=plants@example.org"
                ),
                app.config,
            )
            db.session.commit()
        response, url = invite(client, garden, role="caretaker", email="Bea@Example.com")
    assert response.status_code == 201
    assert "Sent the invitation to Bea@example.com." in response.get_data(as_text=True)
    [envelope] = inbox.messages
    text = message_from_bytes(envelope.content, policy=policy.default).get_body().get_content()
    assert envelope.rcpt_tos == ["Bea@example.com"]  # only the invited person, not the channel's own recipient
    assert url in text
    assert "You are invited to the garden “Plot <b>7</b>” as Caretaker by ana" in text
    assert invitations_of(app, garden)[0].email == "Bea@example.com"


def test_without_an_email_channel_the_link_is_shown_to_copy(app, client, owner):
    garden = make_garden(app, owner, "Plot")
    response, url = invite(client, garden, email="bea@example.com")
    assert response.status_code == 201
    assert "No email channel is set up" in response.get_data(as_text=True)
    assert url.startswith(PUBLIC)
    with app.app_context():
        assert db.session.scalars(db.select(NotificationChannel)).all() == []
        assert db.session.scalars(db.select(GardenMember).where(GardenMember.garden_id == garden)).all()


def test_a_member_of_one_garden_cannot_manage_another_with_its_member_ids(app, client, owner):
    bea, bea_client = signed_in(app, "bea@example.com")
    mine = make_garden(app, owner, "Mine")
    theirs = make_garden(app, bea, "Theirs")
    their_member = member_of(app, theirs, bea).id
    response = client.post(f"/gardens/{mine}/members/{their_member}/remove")
    assert response.status_code == 404
    assert member_of(app, theirs, bea) is not None
    add_member(app, theirs, owner, "viewer")


# Tasks assigned to a member ------------------------------------------------------------


def shared_plant(app, garden_id, name="Tomatoes"):
    with app.app_context():
        plant = Plant(garden_id=garden_id, name=name)
        db.session.add(plant)
        db.session.commit()
        return plant.id


def test_a_task_is_assigned_to_a_member_who_sees_it_first_on_today(app, client, owner):
    bea, bea_client = signed_in(app, "bea@example.com")
    cem, _ = signed_in(app, "cem@example.com")
    garden = make_garden(
        app, owner, "Plot", bea=(bea, "sitter", datetime.now(UTC) + timedelta(days=5)), cem=(cem, "viewer")
    )
    plant = shared_plant(app, garden)
    today = datetime.now(UTC).date().isoformat()

    form = client.get("/tasks").get_data(as_text=True)
    assert f'<option value="{bea}">bea (Plot)</option>' in form  # the owner's personal garden is one more
    assert f'<option value="{cem}">' not in form  # a viewer does no care

    for someone in (cem, 424242, "x"):
        response = client.post(
            "/tasks", data={"title": "Water", "plant_id": plant, "due_date": today, "assignee_id": someone}
        )
        assert response.status_code == 422
        assert "Choose a member of the task&#39;s garden who may do its care." in response.get_data(as_text=True)

    data = {"title": "Tie up the tomatoes", "plant_id": plant, "due_date": today}
    assert client.post("/tasks", data={**data, "assignee_id": bea}).status_code == 303
    assert client.post("/tasks", data={**data, "title": "Weed the bed"}).status_code == 303
    with app.app_context():
        tasks = {t.title: t for t in db.session.scalars(db.select(Task))}
        assert tasks["Tie up the tomatoes"].assignee_id == bea
        assert tasks["Weed the bed"].assignee_id is None
        assigned_id = tasks["Tie up the tomatoes"].id

    today_page = bea_client.get("/today").get_data(as_text=True)
    assert today_page.index("Assigned to me") < today_page.index("Tie up the tomatoes") < today_page.index("Tasks due")
    assert today_page.index("Tasks due") < today_page.index("Weed the bed")
    assert "Assigned to bea" in client.get("/tasks").get_data(as_text=True)
    assert "Assigned to me" not in client.get("/today").get_data(as_text=True)

    prefix = f"task-{assigned_id}-"
    response = client.post(
        f"/tasks/{assigned_id}",
        data={prefix + "title": "Tie up the tomatoes", prefix + "plant_id": plant, prefix + "assignee_id": ""},
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Task, assigned_id).assignee_id is None


# Who did what ---------------------------------------------------------------------------


def test_members_see_who_watered_edited_acknowledged_and_completed(app, client, owner):
    bea, bea_client = signed_in(app, "bea.k@example.com")
    garden = make_garden(app, owner, "Plot", bea=(bea, "caretaker"))
    plant = shared_plant(app, garden)
    with app.app_context():
        alert = Alert(garden_id=garden, plant_id=plant, problem="soil_moisture_low", state="open")
        task = Task(garden_id=garden, plant_id=plant, title="Tie up the tomatoes", due_date=datetime.now(UTC).date())
        db.session.add_all([alert, task])
        db.session.commit()
        alert_id, task_id = alert.id, task.id

    assert bea_client.post(f"/plants/{plant}/care", data={"kind": "watered"}).status_code in (200, 303)
    assert bea_client.post(f"/alerts/{alert_id}/acknowledge").status_code in (200, 303)
    assert bea_client.post(f"/tasks/{task_id}/complete", data={"completed": "1"}).status_code in (200, 303)
    response = bea_client.patch(
        f"/api/v1/plants/{plant}",
        json={"name": "Cherry tomatoes"},
        headers={"Authorization": f"Bearer {token(app, bea)}"},
    )
    assert response.status_code == 200

    page = client.get(f"/plants/{plant}").get_data(as_text=True)
    assert "Watered by bea.k, just now." in page  # the email's local part, never the address
    assert "by bea.k</span>" in page  # the care timeline
    assert "Last edited by bea.k, just now." in page
    assert "bea.k@example.com" not in page
    assert "by you" in bea_client.get(f"/plants/{plant}").get_data(as_text=True)
    assert "by bea.k" in client.get("/alerts?state=acknowledged").get_data(as_text=True)
    assert "Done by bea.k" in client.get("/tasks?status=completed").get_data(as_text=True)


def token(app, user_id):
    with app.app_context():
        _, raw = tokens.create_token(db.session.get(User, user_id), "test")
        db.session.commit()
        return raw
