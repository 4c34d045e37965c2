"""Fixtures of the JSON API tests: tokens and a client that sends one."""

import pytest

from app.auth import tokens
from app.extensions import db
from app.models import User

from ...conftest import make_user


def make_token(app, user_id, name="script"):
    with app.app_context():
        _, raw = tokens.create_token(db.session.get(User, user_id), name)
        db.session.commit()
        return raw


class ApiClient:
    """A test client that sends `Authorization: Bearer <token>` on every call."""

    def __init__(self, client, token, user_id):
        self.client = client
        self.token = token
        self.user_id = user_id

    def __getattr__(self, method):
        call = getattr(self.client, method)

        def with_token(*args, headers=None, **kwargs):
            return call(*args, headers={"Authorization": f"Bearer {self.token}", **(headers or {})}, **kwargs)

        return with_token


@pytest.fixture
def gardener(app):
    return make_user(app)


@pytest.fixture
def api(app, gardener):
    return ApiClient(app.test_client(), make_token(app, gardener), gardener)


@pytest.fixture
def other_api(app):
    other = make_user(app, email="other@example.com")
    return ApiClient(app.test_client(), make_token(app, other), other)
