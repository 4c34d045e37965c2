import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ApiToken

TOKEN = re.compile(r"po_[A-Za-z0-9_-]{43}")


def stored(app):
    with app.app_context():
        return db.session.scalars(select(ApiToken).order_by(ApiToken.id)).all()


def test_settings_page_shows_the_token_panel(client, user_id):
    page = client.get("/settings").get_data(as_text=True)
    assert 'id="api-tokens"' in page
    assert "No tokens yet." in page


def test_created_token_is_shown_once_and_works(app, client, user_id):
    response = client.post("/settings/tokens", data={"name": "Home Assistant"})
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    [raw] = set(TOKEN.findall(page))
    assert 'data-copy="new-token"' in page
    assert app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {raw}"}).status_code == 200

    later = client.get("/settings").get_data(as_text=True)
    assert raw not in later
    assert "Home Assistant" in later
    assert stored(app)[0].prefix in later


def test_htmx_create_answers_only_the_panel(htmx, user_id):
    response = htmx.post("/settings/tokens", data={"name": "cron"})
    assert response.status_code == 201
    assert b"<html" not in response.data
    assert TOKEN.search(response.get_data(as_text=True))


@pytest.mark.parametrize(("name", "message"), [("", "Give the token a name."), ("x" * 101, "Keep the name to 100")])
def test_bad_name_is_422_with_the_message_under_the_field(app, htmx, user_id, name, message):
    response = htmx.post("/settings/tokens", data={"name": name})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert stored(app) == []


def test_list_shows_created_and_last_used(app, client, user_id):
    client.post("/settings/tokens", data={"name": "used"})
    client.post("/settings/tokens", data={"name": "idle"})
    with app.app_context():
        used = db.session.scalar(select(ApiToken).where(ApiToken.name == "used"))
        used.last_used_at = datetime.now(UTC)
        db.session.commit()
    panel = client.get("/settings").get_data(as_text=True).split('id="api-tokens"')[1]
    idle_row, used_row = panel.split("<li")[1:3]  # newest first
    assert "idle" in idle_row
    assert "never" in idle_row
    assert "used" in used_row
    assert "just now" in used_row
    assert "Created " in used_row


def test_revoke_without_javascript_redirects_back(app, client, user_id):
    client.post("/settings/tokens", data={"name": "old"})
    [token] = stored(app)
    response = client.post(f"/settings/tokens/{token.id}/revoke")
    assert response.status_code == 303
    assert response.location.endswith("/settings#api-tokens")
    assert stored(app)[0].revoked_at is not None
    assert "old" not in client.get("/settings").get_data(as_text=True).split('id="api-tokens"')[1]


def test_revoke_with_htmx_answers_the_panel(app, htmx, user_id):
    htmx.post("/settings/tokens", data={"name": "old"})
    [token] = stored(app)
    response = htmx.post(f"/settings/tokens/{token.id}/revoke")
    assert response.status_code == 200
    assert b"<html" not in response.data
    assert b"No tokens yet." in response.data


def test_someone_elses_token_cannot_be_revoked(app, client, user_id, other_client):
    other_client.post("/settings/tokens", data={"name": "theirs"})
    [token] = stored(app)
    assert client.post(f"/settings/tokens/{token.id}/revoke").status_code == 404
    assert stored(app)[0].revoked_at is None


def test_token_forms_need_a_csrf_token(make_app):
    app = make_app(config={"WTF_CSRF_ENABLED": True})
    assert app.test_client().post("/settings/tokens", data={"name": "x"}).status_code == 400
    assert stored(app) == []


def test_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.post("/settings/tokens", data={"name": "x"})
    assert response.status_code == 302
    assert "/auth/login" in response.location
