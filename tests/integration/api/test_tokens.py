from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.auth import tokens
from app.extensions import db
from app.models import ApiToken, User

from ...conftest import make_user
from .conftest import make_token


def stored_tokens(app):
    with app.app_context():
        return db.session.scalars(select(ApiToken)).all()


def test_new_token_is_stored_only_as_a_hash_with_a_visible_prefix(app, gardener):
    raw = make_token(app, gardener, name="home assistant")
    assert raw.startswith("po_")
    assert tokens.TOKEN_PATTERN.fullmatch(raw)
    [token] = stored_tokens(app)
    assert token.name == "home assistant"
    assert token.prefix == raw[:10]
    assert token.token_hash == tokens.hash_token(raw)
    assert raw not in (token.token_hash, token.prefix)


@pytest.mark.parametrize(("name", "message"), [("", "Give the token a name."), ("x" * 101, "100 characters")])
def test_token_needs_a_short_name(app, gardener, name, message):
    with app.app_context(), pytest.raises(ValueError, match=message):
        tokens.create_token(db.session.get(User, gardener), name)


def test_a_get_records_when_the_token_was_last_used(app, api):
    assert stored_tokens(app)[0].last_used_at is None
    assert api.get("/api/v1/tasks").status_code == 200
    assert stored_tokens(app)[0].last_used_at is not None


def test_last_used_is_written_at_most_once_a_minute(app, api):
    now = datetime.now(UTC)
    with app.app_context():
        tokens.authenticate(api.token, now=now)
        tokens.authenticate(api.token, now=now + timedelta(seconds=30))
    assert stored_tokens(app)[0].last_used_at == now
    with app.app_context():
        tokens.authenticate(api.token, now=now + timedelta(minutes=2))
    assert stored_tokens(app)[0].last_used_at == now + timedelta(minutes=2)


def test_revoked_token_stops_working_at_once(app, api):
    assert api.get("/api/v1/plants").status_code == 200
    with app.app_context():
        tokens.revoke_token(db.session.scalar(select(ApiToken)))
        db.session.commit()
    response = api.get("/api/v1/plants")
    assert response.status_code == 401
    assert response.get_json() == {"error": "unauthorized", "detail": "The token has been revoked."}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_disabled_users_tokens_stop_working_at_once(app, api):
    assert api.get("/api/v1/plants").status_code == 200
    with app.app_context():
        db.session.get(User, api.user_id).disabled = True
        db.session.commit()
    response = api.get("/api/v1/plants")
    assert response.status_code == 401
    assert response.get_json()["detail"] == "The account is disabled."


def test_revoked_tokens_leave_the_list(app, gardener):
    make_token(app, gardener, "one")
    make_token(app, gardener, "two")
    with app.app_context():
        user = db.session.get(User, gardener)
        first = tokens.list_tokens(user)[-1]
        tokens.revoke_token(first)
        db.session.commit()
        assert [t.name for t in tokens.list_tokens(user)] == ["two"]


def test_cli_prints_a_working_token_as_its_last_line(app, runner):
    make_user(app, email="cli@example.com")
    result = runner.invoke(args=["tokens", "create", "CLI@example.com", "--name", "cron"])
    assert result.exit_code == 0, result.output
    raw = result.output.strip().splitlines()[-1]
    assert tokens.TOKEN_PATTERN.fullmatch(raw)
    response = app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200
    assert stored_tokens(app)[0].name == "cron"


def test_cli_refuses_an_unknown_account(runner):
    result = runner.invoke(args=["tokens", "create", "nobody@example.com"])
    assert result.exit_code != 0
    assert "no account for nobody@example.com" in result.output
