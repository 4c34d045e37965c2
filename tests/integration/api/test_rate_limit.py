"""The API rate limit holds across processes, token rotation and forged tokens (issue 16, item 12).

Two app instances on one database stand for two gunicorn workers: each has its own
engine and its own limiter object, so a per-process count shows up as a doubled limit.
"""

import secrets
import shutil
import subprocess
import threading

import pytest

from app.auth import tokens
from app.extensions import db
from app.models import Throttle

from ...conftest import make_user
from ...fixtures.services import free_port, wait_for_port
from .conftest import ApiClient, make_token


def statuses_in_parallel(calls):
    """Run each call in a thread of its own, all released at once; their status codes."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        results[index] = call().status_code

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_app_instances_on_one_database_share_one_count(make_app):
    first, second = make_app(API_RATE_LIMIT=5), make_app(API_RATE_LIMIT=5)
    uid = make_user(first)
    token = make_token(first, uid)
    clients = [ApiClient(app.test_client(), token, uid) for app in (first, second)]

    codes = [clients[n % 2].get("/api/v1/tasks").status_code for n in range(20)]

    assert codes.count(200) == 5
    assert codes[:5] == [200] * 5
    assert set(codes[5:]) == {429}


def test_concurrent_requests_on_two_instances_pass_no_more_than_the_limit(make_app):
    first, second = make_app(API_RATE_LIMIT=5), make_app(API_RATE_LIMIT=5)
    uid = make_user(first)
    token = make_token(first, uid)
    calls = [ApiClient(app.test_client(), token, uid) for app in (first, second) for _ in range(10)]

    codes = statuses_in_parallel([lambda c=c: c.get("/api/v1/tasks") for c in calls])

    assert sorted(codes) == [200] * 5 + [429] * 15


def test_rotating_tokens_buys_no_more_requests(make_app):
    app = make_app(API_RATE_LIMIT=5)
    uid = make_user(app)
    client = app.test_client()
    codes = []
    for _ in range(4):
        api = ApiClient(client, make_token(app, uid), uid)
        codes += [api.get("/api/v1/tasks").status_code for _ in range(3)]

    assert codes == [200] * 5 + [429] * 7
    response = api.get("/api/v1/tasks")
    assert response.get_json() == {
        "error": "too_many_requests",
        "detail": "Too many API requests for your account; slow down.",
    }
    assert 1 <= int(response.headers["Retry-After"]) <= 61


def test_one_users_requests_do_not_use_up_another_users_limit(make_app):
    app = make_app(API_RATE_LIMIT=3)
    first, second = make_user(app), make_user(app, email="second@example.com")
    api = ApiClient(app.test_client(), make_token(app, first), first)
    other = ApiClient(app.test_client(), make_token(app, second), second)
    assert [api.get("/api/v1/tasks").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert other.get("/api/v1/tasks").status_code == 200


def forged():
    return "po_" + secrets.token_urlsafe(32)


def test_forged_tokens_are_throttled_per_address_before_any_lookup(make_app, monkeypatch):
    app = make_app(API_AUTH_FAILURE_LIMIT=3)
    uid = make_user(app)
    real = make_token(app, uid)
    lookups = []
    authenticate = tokens.authenticate
    monkeypatch.setattr(tokens, "authenticate", lambda raw: lookups.append(raw) or authenticate(raw))
    attacker = app.test_client()

    codes = [ApiClient(attacker, forged(), None).get("/api/v1/tasks").status_code for _ in range(6)]

    assert codes == [401, 401, 401, 429, 429, 429]
    assert len(lookups) == 3
    refused = ApiClient(attacker, real, uid).get("/api/v1/tasks")  # even a real token waits, from this address
    assert refused.status_code == 429
    assert set(refused.get_json()) == {"error", "detail"}
    assert refused.get_json()["error"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 301
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.50"
    assert ApiClient(elsewhere, real, uid).get("/api/v1/tasks").status_code == 200


def test_forged_tokens_split_over_two_instances_share_the_failure_count(make_app):
    apps = [make_app(API_AUTH_FAILURE_LIMIT=4), make_app(API_AUTH_FAILURE_LIMIT=4)]
    clients = [app.test_client() for app in apps]
    calls = [
        lambda c=clients[n % 2]: c.get("/api/v1/tasks", headers={"Authorization": f"Bearer {forged()}"})
        for n in range(12)
    ]

    codes = statuses_in_parallel(calls)

    assert sorted(codes) == [401] * 4 + [429] * 8


def test_malformed_and_missing_authorization_count_as_failures_too(make_app):
    client = make_app(API_AUTH_FAILURE_LIMIT=2).test_client()
    first = client.get("/api/v1/tasks", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    second = client.get("/api/v1/tasks")
    third = client.get("/api/v1/tasks", headers={"Authorization": "Bearer not-a-token"})
    assert [first.status_code, second.status_code, third.status_code] == [401, 401, 429]


@pytest.fixture
def redis_url(tmp_path):
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_two_app_instances_share_a_redis_count_when_one_is_configured(make_app, redis_url):
    first, second = (make_app(API_RATE_LIMIT=5, RATELIMIT_STORAGE_URI=redis_url) for _ in range(2))
    uid = make_user(first)
    token = make_token(first, uid)
    clients = [ApiClient(app.test_client(), token, uid) for app in (first, second)]

    codes = [clients[n % 2].get("/api/v1/tasks").status_code for n in range(12)]

    assert codes == [200] * 5 + [429] * 7
    with first.app_context():
        assert db.session.query(Throttle).count() == 0  # counted in Redis, not in the database
