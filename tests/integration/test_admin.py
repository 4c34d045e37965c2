"""/admin: the operator view, for administrators only."""

from datetime import UTC, datetime

import pytest

from app.extensions import db
from app.models import Device, IngestRejection, User
from app.ownership import personal_garden_id
from app.workers import background_services

from ..conftest import PASSWORD, AuthActions, make_user


def user_by_email(app, email):
    with app.app_context():
        return db.session.scalar(db.select(User).where(User.email == email))


def test_first_account_is_an_administrator_and_sees_the_operator_view(client, user_id):
    response = client.get("/admin")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for heading in ("Accounts", "Rejected readings", "Discovered devices", "Background workers"):
        assert heading in page
    assert "gardener@example.com" in page
    assert 'href="/admin"' in client.get("/plants").get_data(as_text=True)


def test_admin_link_is_not_shown_to_gardeners(user_id, other_client):
    assert 'href="/admin"' not in other_client.get("/plants").get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/admin"), ("post", "/admin/users/1/disable"), ("post", "/admin/users/1/enable")],
)
def test_gardeners_get_404_not_403_and_visitors_are_sent_to_sign_in(app, user_id, other_client, method, path):
    assert getattr(other_client, method)(path).status_code == 404
    response = getattr(app.test_client(), method)(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")
    assert user_by_email(app, "gardener@example.com").disabled is False


def test_disabling_a_user_ends_their_session_at_once(app, client, user_id, other_client):
    assert other_client.get("/plants").status_code == 200
    other = user_by_email(app, "other@example.com")

    response = client.post(f"/admin/users/{other.id}/disable")

    assert response.status_code == 303
    assert response.headers["Location"] == "/admin"
    assert "other@example.com is disabled" in client.get("/admin").get_data(as_text=True)
    assert user_by_email(app, "other@example.com").disabled is True
    assert other_client.get("/plants").status_code == 302
    assert AuthActions(app, app.test_client()).login(email="other@example.com").status_code == 422


def test_enabling_lets_the_user_sign_in_again(app, client, user_id):
    other_id = make_user(app, email="other@example.com", disabled=True)

    response = client.post(f"/admin/users/{other_id}/enable")

    assert response.status_code == 303
    assert user_by_email(app, "other@example.com").disabled is False
    assert AuthActions(app, app.test_client()).login(email="other@example.com").status_code == 303


def test_htmx_disable_answers_only_the_users_row(app, htmx, user_id):
    other_id = make_user(app, email="other@example.com")

    response = htmx.post(f"/admin/users/{other_id}/disable")

    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body
    assert body.strip().startswith(f'<tr id="user-{other_id}">')
    assert "disabled" in body
    assert "Enable" in body


def test_an_administrator_cannot_disable_themselves(app, client, htmx, user_id):
    response = client.post(f"/admin/users/{user_id}/disable")
    assert response.status_code == 422
    assert "cannot disable your own account" in response.get_data(as_text=True)
    assert htmx.post(f"/admin/users/{user_id}/disable").headers["HX-Retarget"] == "#error-area"
    assert user_by_email(app, "gardener@example.com").disabled is False


@pytest.mark.parametrize("user_path", ["999999", "0"])
def test_unknown_user_is_404(client, user_id, user_path):
    assert client.post(f"/admin/users/{user_path}/disable").status_code == 404


def test_disable_without_csrf_token_is_refused(make_app):
    app = make_app(config={"WTF_CSRF_ENABLED": True})
    client = app.test_client()
    make_user(app)
    login_page = client.get("/auth/login").get_data(as_text=True)
    token = login_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    credentials = {"email": "gardener@example.com", "password": PASSWORD, "csrf_token": token}
    assert client.post("/auth/login", data=credentials).status_code == 303
    other_id = make_user(app, email="other@example.com")

    assert client.post(f"/admin/users/{other_id}/disable").status_code == 400
    assert user_by_email(app, "other@example.com").disabled is False


def test_operator_view_shows_rejections_unclaimed_devices_and_worker_state(app, client, user_id):
    now = datetime.now(UTC)
    with app.app_context():
        db.session.add_all(
            [
                IngestRejection(reason="invalid_json", count=12, last_at=now),
                IngestRejection(reason="out_of_range", count=3456, last_at=now),
                Device(namespace="", key="esp32-garage", source="native", last_seen_at=now, message_count=7),
                Device(
                    namespace="",
                    key="owned-dev",
                    source="native",
                    owner_id=user_id,
                    garden_id=personal_garden_id(user_id),
                    message_count=1,
                ),
            ]
        )
        db.session.commit()
    state = background_services(app).consumer_state
    state.enabled, state.connected, state.received = True, True, 4321

    page = client.get("/admin").get_data(as_text=True)

    assert "invalid_json" in page
    assert "3,456" in page
    assert page.index("out_of_range") < page.index("invalid_json")
    assert "esp32-garage" in page
    assert "Discovered devices" in page
    assert "owned-dev" not in page  # an owned device is not "discovered"
    assert "4321" in page
    assert "connected" in page
    assert "Not running in this process." in page


def test_worker_state_shows_plain_values_queues_threads_and_events_only(app, client, user_id):
    import queue
    import threading

    class Notifier:
        def __init__(self):
            self.app = app
            self.queue = queue.Queue()
            self.queue.put(1)
            self.stopping = threading.Event()
            self.threads = [threading.Thread(target=lambda: None)]
            self.poll_seconds = 1.5

    background_services(app).notifier = Notifier()

    page = client.get("/admin").get_data(as_text=True)

    assert "1 queued" in page
    assert "0 of 1 threads alive" in page
    assert "1.5" in page
    assert "Flask" not in page
