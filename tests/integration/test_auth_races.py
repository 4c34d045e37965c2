"""Sign-in limits and the first administrator under real concurrency (issue 16, item 9).

Threads post to the app at the same moment (a barrier releases them), each with a
test client of its own, so every request runs in its own app context, database
session and connection, as in a threaded server.
"""

import threading

from sqlalchemy import func, select

from app.auth import users
from app.auth.throttling import Limit
from app.extensions import db
from app.models import User

from ..conftest import PASSWORD, make_user


def post_in_parallel(app, posts):
    """Send each (path, form data, client address) from a thread of its own, all at once."""
    barrier = threading.Barrier(len(posts))
    responses = [None] * len(posts)

    def run(index, path, data, address):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        barrier.wait()
        responses[index] = client.post(path, data=data)

    threads = [threading.Thread(target=run, args=(i, *post)) for i, post in enumerate(posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return responses


def count_password_checks(monkeypatch):
    checked = []
    lock = threading.Lock()
    real = users.check_password_hash

    def counting(password_hash, password):
        with lock:
            checked.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(users, "check_password_hash", counting)
    return checked


def test_forty_concurrent_wrong_passwords_check_no_more_than_the_accounts_limit(make_app, monkeypatch):
    app = make_app(config={"LOGIN_LIMITS": {"account": Limit(10, 900), "ip": Limit(1000, 900)}})
    make_user(app)
    checked = count_password_checks(monkeypatch)
    data = {"email": "gardener@example.com", "password": "wrong password here"}

    responses = post_in_parallel(app, [("/auth/login", data, f"192.0.2.{n}") for n in range(40)])

    codes = [r.status_code for r in responses]
    assert codes.count(422) == 10
    assert codes.count(429) == 30
    assert len(checked) == 10


def test_concurrent_wrong_passwords_from_one_address_stop_at_its_limit(make_app, monkeypatch):
    app = make_app(config={"LOGIN_LIMITS": {"account": Limit(1000, 900), "ip": Limit(5, 900)}})
    checked = count_password_checks(monkeypatch)
    posts = [
        ("/auth/login", {"email": f"guess{n}@example.com", "password": "wrong password here"}, "192.0.2.9")
        for n in range(20)
    ]

    codes = [r.status_code for r in post_in_parallel(app, posts)]

    assert sorted(codes) == [422] * 5 + [429] * 15
    assert len(checked) == 5


def test_eight_simultaneous_registrations_on_an_empty_database_make_one_administrator(app):
    posts = [
        ("/auth/register", {"email": f"newcomer{n}@example.com", "password": PASSWORD}, f"192.0.2.{n}")
        for n in range(8)
    ]

    responses = post_in_parallel(app, posts)

    assert [r.status_code for r in responses] == [303] * 8
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 8
        assert db.session.scalar(select(func.count(User.id)).where(User.is_admin)) == 1


def test_the_first_administrator_slot_frees_when_the_instance_is_empty_again(app):
    first = make_user(app, email="first@example.com")
    with app.app_context():
        db.session.delete(db.session.get(User, first))
        db.session.commit()
    make_user(app, email="again@example.com")
    with app.app_context():
        assert db.session.scalar(select(User.is_admin).where(User.email == "again@example.com")) is True
