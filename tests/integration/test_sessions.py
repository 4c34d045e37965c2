"""Sign-in sessions as rows of their own (issue 16, item 14): one device signs out alone,
settings list the devices, idle and absolute timeouts, the remember cookie rotates."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import event, select

from app.auth import tokens
from app.extensions import db
from app.models import ApiToken, User, UserSession

from ..conftest import PASSWORD, make_user

DESK = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
LOGIN = {"email": "gardener@example.com", "password": PASSWORD}


def device(app, user_agent, address="192.0.2.10", remember=False):
    """A test client signed in as the gardener from a device of its own."""
    client = app.test_client()
    client.environ_base.update({"HTTP_USER_AGENT": user_agent, "REMOTE_ADDR": address})
    response = client.post("/auth/login", data={**LOGIN, **({"remember": "y"} if remember else {})})
    assert response.status_code == 303
    return client


def signed_in(client):
    return client.get("/settings").status_code == 200


def session_rows(app):
    with app.app_context():
        return db.session.scalars(select(UserSession).order_by(UserSession.id)).all()


def shift_session_times(app, **deltas):
    """Move every session's times back by the given timedeltas (as if that much time had passed)."""
    with app.app_context():
        for row in db.session.scalars(select(UserSession)):
            for column, delta in deltas.items():
                setattr(row, column, getattr(row, column) - delta)
        db.session.commit()


def test_signing_out_at_the_desk_leaves_the_phone_signed_in_over_http(app, live_server):
    make_user(app)
    desk, phone = requests.Session(), requests.Session()
    desk.headers["User-Agent"], phone.headers["User-Agent"] = DESK, PHONE
    for client in (desk, phone):
        assert client.post(f"{live_server}/auth/login", data=LOGIN, timeout=10).url.endswith("/today")

    signed_out = desk.post(f"{live_server}/auth/logout", timeout=10)

    assert signed_out.url.endswith("/auth/login")
    assert "You are signed out on this device. Your other devices stay signed in." in signed_out.text
    assert desk.get(f"{live_server}/settings", timeout=10).url.startswith(f"{live_server}/auth/login")
    settings = phone.get(f"{live_server}/settings", timeout=10)
    assert settings.status_code == 200
    assert settings.url == f"{live_server}/settings"
    assert "Safari on iPhone" in settings.text
    assert "Firefox on Windows" not in settings.text


def test_sign_out_everywhere_ends_every_device(app):
    make_user(app)
    desk, phone = device(app, DESK), device(app, PHONE)

    response = desk.post("/auth/logout/everywhere", follow_redirects=True)

    assert b"You are signed out on every device." in response.data
    assert not signed_in(desk)
    assert not signed_in(phone)
    assert session_rows(app) == []


def test_settings_list_each_device_with_this_device_marked(app):
    make_user(app)
    device(app, PHONE, address="198.51.100.7")
    desk = device(app, DESK, address="192.0.2.10")

    page = desk.get("/settings").get_data(as_text=True)

    section = page[page.index('id="sessions"') :]
    rows = re.findall(r'<li class="token-row session-row">(.*?)</li>', section, re.S)
    assert len(rows) == 2
    desk_row = next(r for r in rows if "Firefox on Windows" in r)
    phone_row = next(r for r in rows if "Safari on iPhone" in r)
    assert "this device" in desk_row
    assert "192.0.2.10" in desk_row
    assert "this device" not in phone_row
    assert "198.51.100.7" in phone_row
    assert "last seen" in phone_row
    assert "Sign out everywhere" in section


def test_signing_out_another_device_from_settings_ends_only_that_one(app):
    make_user(app)
    phone = device(app, PHONE)
    desk = device(app, DESK)
    phone_id = next(r.id for r in session_rows(app) if r.device == "Safari on iPhone")

    response = desk.post(f"/settings/sessions/{phone_id}/end", headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "Safari on iPhone" not in response.get_data(as_text=True)
    assert not signed_in(phone)
    assert signed_in(desk)


def test_another_users_session_and_this_one_cannot_be_ended_from_settings(app, other_client):
    make_user(app)
    desk = device(app, DESK)
    rows = session_rows(app)
    others = next(r.id for r in rows if r.device != "Firefox on Windows")
    mine = next(r.id for r in rows if r.device == "Firefox on Windows")

    assert desk.post(f"/settings/sessions/{others}/end").status_code == 404
    assert desk.post(f"/settings/sessions/{mine}/end").status_code == 404
    assert signed_in(other_client)
    assert signed_in(desk)


def test_a_session_ends_after_the_idle_timeout(make_app):
    app = make_app(SESSION_IDLE_MINUTES=30)
    make_user(app)
    desk = device(app, DESK)
    shift_session_times(app, last_seen_at=timedelta(minutes=29))
    assert signed_in(desk)  # a request less than 30 minutes after the last one

    shift_session_times(app, last_seen_at=timedelta(minutes=31))

    assert not signed_in(desk)
    assert desk.get("/settings").headers["Location"].startswith("/auth/login")


def test_a_busy_session_still_ends_at_its_absolute_lifetime(make_app):
    app = make_app(SESSION_LIFETIME_HOURS=2)
    make_user(app)
    desk = device(app, DESK)
    [row] = session_rows(app)
    assert timedelta(hours=2) - (row.expires_at - row.created_at) < timedelta(seconds=1)

    shift_session_times(app, created_at=timedelta(hours=2, minutes=1), expires_at=timedelta(hours=2, minutes=1))

    assert not signed_in(desk)


def remember_cookie(client):
    cookie = client.get_cookie("remember_token")
    return cookie and cookie.value


def test_the_remember_cookie_is_different_at_every_sign_in(app):
    make_user(app)
    first, second = device(app, DESK, remember=True), device(app, DESK, remember=True)
    assert remember_cookie(first) != remember_cookie(second)


def test_the_remember_cookie_is_replaced_when_used_and_the_old_one_stops_working(app):
    make_user(app)
    phone = device(app, PHONE, remember=True)
    stolen = remember_cookie(phone)
    phone.delete_cookie("session")  # the browser was closed

    assert signed_in(phone)

    assert remember_cookie(phone) != stolen
    replay = app.test_client()
    replay.set_cookie("remember_token", stolen)
    assert not signed_in(replay)
    assert len(session_rows(app)) == 1  # the same device, not a new session


def test_a_remembered_device_outlives_the_idle_timeout_but_not_its_30_days(app):
    make_user(app)
    phone = device(app, PHONE, remember=True)
    shift_session_times(app, last_seen_at=timedelta(hours=5))
    assert signed_in(phone)

    shift_session_times(app, last_seen_at=timedelta(hours=5), expires_at=timedelta(days=31))

    assert not signed_in(phone)
    assert remember_cookie(phone) is None  # the dead cookie is deleted


def set_cookie_header(response, name):
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}="))


@pytest.mark.parametrize("path", ["/auth/logout", "/auth/logout/everywhere"])
def test_the_remember_cookie_is_deleted_with_the_attributes_it_was_set_with(make_app, path):
    app = make_app(PLANTOPS_ENV="production")
    make_user(app)
    client = app.test_client()
    base = {"base_url": "https://plants.example.org"}
    client.post("/auth/login", data={**LOGIN, "remember": "y"}, **base)

    header = set_cookie_header(client.post(path, **base), "__Host-remember")

    assert header.startswith("__Host-remember=;")
    for attribute in ("Secure", "HttpOnly", "Path=/", "SameSite=Lax", "Max-Age=0"):
        assert attribute in header
    assert client.get_cookie("__Host-remember", domain="plants.example.org") is None


def test_last_seen_is_written_at_most_once_a_minute(app):
    make_user(app)
    desk = device(app, DESK)
    writes = []

    def count_writes(_conn, _cursor, statement, *_args):
        if statement.startswith("UPDATE user_sessions") and "RETURNING" in statement:  # not the test's own
            writes.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count_writes)
    try:
        for _ in range(10):
            assert signed_in(desk)
        assert writes == []
        shift_session_times(app, last_seen_at=timedelta(seconds=61))
        for _ in range(10):
            assert signed_in(desk)
    finally:
        event.remove(engine, "before_cursor_execute", count_writes)

    assert len(writes) == 1
    [row] = session_rows(app)
    assert datetime.now(UTC) - row.last_seen_at < timedelta(seconds=10)


def test_reenabling_a_disabled_account_does_not_revive_its_api_tokens(app, client, user_id):
    other = make_user(app, email="other@example.com")
    with app.app_context():
        _, raw = tokens.create_token(db.session.get(User, other), "script")
        db.session.commit()
    api = app.test_client()
    assert api.get("/api/v1/tasks", headers={"Authorization": f"Bearer {raw}"}).status_code == 200

    client.post(f"/admin/users/{other}/disable")
    client.post(f"/admin/users/{other}/enable")

    response = api.get("/api/v1/tasks", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 401
    assert response.get_json()["detail"] == "The token has been revoked."
    with app.app_context():
        assert db.session.scalar(select(ApiToken.revoked_at).where(ApiToken.user_id == other)) is not None


def test_disabling_an_account_signs_out_all_its_devices(app, client, user_id):
    make_user(app, email="other@example.com")
    phone = app.test_client()
    phone.post("/auth/login", data={"email": "other@example.com", "password": PASSWORD, "remember": "y"})
    other = db_user_id(app, "other@example.com")

    client.post(f"/admin/users/{other}/disable")
    client.post(f"/admin/users/{other}/enable")

    assert not signed_in(phone)


def db_user_id(app, email):
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))
