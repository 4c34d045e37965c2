import re
import statistics
import time
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from sqlalchemy import func, select

from app.auth.throttling import Limit
from app.auth.views import LOGIN_FAILED, REGISTER_FAILED
from app.extensions import db
from app.models import User

from ..conftest import PASSWORD, AuthActions, make_user

NEW_PASSWORD = "a fresh potting mix"


def user_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


def signed_in(client):
    return client.get("/settings").status_code == 200


def set_cookie_header(response, name):
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}="))


# --- registration -------------------------------------------------------------------------------


def test_register_creates_a_signed_in_account_with_the_email_trimmed_and_lower_cased(app, client, auth):
    response = auth.register(email="  Gardener@Example.COM ")

    assert response.status_code == 303
    assert response.headers["Location"] == "/plants"
    assert auth.user("gardener@example.com") is not None
    assert signed_in(client)


def test_password_is_stored_as_an_scrypt_hash(app, auth):
    auth.register()
    stored = auth.user().password_hash
    assert stored.startswith("scrypt:")
    assert PASSWORD not in stored


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("", PASSWORD, "This field is required."),
        ("not-an-email", PASSWORD, "Invalid email address."),
        ("a" * 250 + "@example.com", PASSWORD, "Field cannot be longer than 254 characters."),
        ("gardener@example.com", "", "This field is required."),
        ("gardener@example.com", "short9char", None),
        ("gardener@example.com", "123456789", "Use at least 10 characters."),
        ("gardener@example.com", "x" * 1025, "Use at most 1024 characters."),
        ("gardener@example.com", "qwertyuiop", "one of the most common"),
        ("gardener@example.com", "1234567890", "one of the most common"),
        ("gardener@example.com", "Password123", "one of the most common"),
        ("gardener@example.com", "Gardener@Example.com", "Do not use your email address"),
        ("rose.gardener@example.com", "rose.gardener", "Do not use your email address"),
    ],
)
def test_register_refuses_bad_input_where_it_was_typed(app, client, email, password, message):
    response = client.post("/auth/register", data={"email": email, "password": password})

    if message is None:  # 10 characters, not common: accepted
        assert response.status_code == 303
        return
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert user_count(app) == 0
    assert not signed_in(client)


def test_register_with_a_taken_email_and_wrong_password_creates_nothing_and_says_sign_in_instead(app, client, auth):
    make_user(app)
    response = auth.register(password="another long password")

    assert response.status_code == 422
    assert REGISTER_FAILED in response.get_data(as_text=True)
    assert user_count(app) == 1
    assert not signed_in(client)
    assert auth.login().status_code == 303  # the real owner's password still works


def test_register_with_a_taken_email_and_its_password_just_signs_in(app, client, auth):
    make_user(app)
    response = auth.register()
    assert response.status_code == 303
    assert user_count(app) == 1
    assert signed_in(client)


def test_register_with_a_taken_email_counts_as_a_failed_sign_in(make_app):
    app = make_app(config={"LOGIN_LIMITS": {"account": Limit(2, 900)}})
    make_user(app)
    auth = AuthActions(app, app.test_client())
    assert auth.register(password="guess number one").status_code == 422
    assert auth.login(password="guess number two").status_code == 422
    assert auth.register(password="guess number three").status_code == 429


def test_first_account_is_an_administrator_and_the_second_is_not(app, auth):
    auth.register(email="first@example.com")
    AuthActions(app, app.test_client()).register(email="second@example.com")
    assert auth.user("first@example.com").is_admin
    assert not auth.user("second@example.com").is_admin


def test_closed_registration_creates_nothing(make_app):
    app = make_app(REGISTRATION_OPEN="false")
    client = app.test_client()
    page = client.get("/auth/register")
    assert page.status_code == 403
    assert b"Registration is closed" in page.data
    assert client.post("/auth/register", data={"email": "x@example.com", "password": PASSWORD}).status_code == 403
    assert user_count(app) == 0


def test_registrations_per_address_are_limited(make_app):
    app = make_app(config={"LOGIN_LIMITS": {"register": Limit(2, 3600)}})
    statuses = [AuthActions(app, app.test_client()).register(email=f"g{n}@example.com").status_code for n in range(3)]
    assert statuses == [303, 303, 429]
    assert user_count(app) == 2


# --- sign-in ---------------------------------------------------------------------------------------


def test_login_signs_in_and_goes_to_today(app, client, auth):
    make_user(app)
    response = auth.login(email=" GARDENER@example.com")
    assert response.status_code == 303
    assert response.headers["Location"] == "/today"
    assert signed_in(client)


def failed_login_body(response):
    """The page without what differs by design: the typed email and the CSRF token."""
    html = re.sub(r'value="[^"]*"', "", response.get_data(as_text=True))
    return re.sub(r'"X-CSRFToken": "[^"]*"', "", html)


def test_unknown_email_and_wrong_password_look_the_same(app, client):
    make_user(app, email="known@example.com")
    make_user(app, email="disabled@example.com", disabled=True)

    answers = [
        client.post("/auth/login", data={"email": email, "password": password})
        for email, password in [
            ("known@example.com", "wrong password here"),
            ("unknown@example.com", "wrong password here"),
            ("disabled@example.com", PASSWORD),
        ]
    ]

    assert {a.status_code for a in answers} == {422}
    assert all(LOGIN_FAILED in a.get_data(as_text=True) for a in answers)
    assert len({failed_login_body(a) for a in answers}) == 1


@pytest.mark.slow  # compares timings: runs alone, not beside another test process
def test_unknown_email_takes_about_as_long_as_a_wrong_password(app, client):
    make_user(app, email="known@example.com")

    def median_seconds(email):
        times = []
        for _ in range(5):
            started = time.perf_counter()
            client.post("/auth/login", data={"email": email, "password": "wrong password here"})
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    known, unknown = median_seconds("known@example.com"), median_seconds("unknown@example.com")
    assert 0.5 < unknown / known < 2.0


@pytest.mark.slow  # compares timings: runs alone, not beside another test process
def test_registration_with_a_taken_email_takes_about_as_long_as_a_new_one(app):
    make_user(app, email="known@example.com")

    def seconds(email):
        started = time.perf_counter()
        AuthActions(app, app.test_client()).register(email=email, password="some long password")
        return time.perf_counter() - started

    taken = statistics.median(seconds("known@example.com") for _ in range(3))
    new = statistics.median(seconds(f"new{n}@example.com") for n in range(3))
    assert 0.4 < taken / new < 2.5


@pytest.mark.parametrize("target", ["/tasks?status=pending", "/settings", "/plants"])
def test_login_honours_a_local_next(app, client, target):
    make_user(app)
    response = client.post(f"/auth/login?next={target}", data={"email": "gardener@example.com", "password": PASSWORD})
    assert response.headers["Location"] == target


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "//evil.com/plants",
        "https://evil.com",
        "http://evil.com/auth/login",
        "/\\evil.com",
        "\\\\evil.com",
        "/\\/evil.com",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,hi",
        "evil.com",
        "/\t/evil.com",
        "/\n/evil.com",
        "///evil.com",
        "",
    ],
)
def test_login_ignores_a_next_that_leaves_the_site(app, client, target):
    make_user(app)
    response = client.post(
        "/auth/login", query_string={"next": target}, data={"email": "gardener@example.com", "password": PASSWORD}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/today"


def test_signed_in_user_visiting_login_goes_to_today(client, user_id):
    assert client.get("/auth/login").headers["Location"] == "/today"


# --- sessions ----------------------------------------------------------------------------------------


def session_cookie(client, app):
    return client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value


def client_with_cookie(app, name, value):
    fresh = app.test_client()
    fresh.set_cookie(name, value)
    return fresh


def test_login_starts_a_new_session(app, client):
    make_user(app)
    client.get("/auth/login")
    with client.session_transaction() as before_login:
        before_login["planted"] = "by someone else"
    anonymous_cookie = session_cookie(client, app)

    client.post("/auth/login", data={"email": "gardener@example.com", "password": PASSWORD})

    assert session_cookie(client, app) != anonymous_cookie
    with client.session_transaction() as after_login:
        assert "planted" not in after_login
    assert not signed_in(client_with_cookie(app, "session", anonymous_cookie))


def test_logout_ends_a_copied_session_cookie(app, client, user_id, auth):
    copied = session_cookie(client, app)
    assert signed_in(client_with_cookie(app, "session", copied))

    assert auth.logout().status_code == 303

    replay = client_with_cookie(app, "session", copied)
    response = replay.get("/settings")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")
    assert not signed_in(client)


def test_logout_needs_post(client, user_id):
    assert client.get("/auth/logout").status_code == 405
    assert signed_in(client)


def test_remember_me_cookie_lasts_30_days_and_dies_at_logout(app, client):
    make_user(app)
    response = client.post("/auth/login", data={"email": "gardener@example.com", "password": PASSWORD, "remember": "y"})
    header = set_cookie_header(response, "remember_token")
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", header).group(1))
    assert timedelta(days=29) < expires - datetime.now(expires.tzinfo) <= timedelta(days=30, minutes=1)

    remembered = client.get_cookie("remember_token").value
    assert signed_in(client_with_cookie(app, "remember_token", remembered))  # no session cookie needed

    logout = client.post("/auth/logout")
    assert "remember_token=;" in set_cookie_header(logout, "remember_token")
    assert not signed_in(client_with_cookie(app, "remember_token", remembered))


def test_session_cookie_is_httponly_and_samesite_lax_without_secure_in_development(app, client):
    make_user(app)
    header = set_cookie_header(
        client.post("/auth/login", data={"email": "gardener@example.com", "password": PASSWORD}), "session"
    )
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" not in header


def test_production_cookies_are_host_prefixed_secure_httponly_and_lax(make_app):
    app = make_app(PLANTOPS_ENV="production")
    make_user(app)
    client = app.test_client()
    response = client.post(
        "/auth/login",
        data={"email": "gardener@example.com", "password": PASSWORD, "remember": "y"},
        base_url="https://plants.example.org",
    )
    assert response.status_code == 303
    for name in ("__Host-session", "__Host-remember"):
        header = set_cookie_header(response, name)
        assert all(flag in header for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"))
        assert "Domain=" not in header


def test_disabled_account_loses_its_session(app, client, user_id):
    with app.app_context():
        db.session.get(User, user_id).disabled = True
        db.session.commit()
    assert not signed_in(client)


# --- password change ----------------------------------------------------------------------------------


def test_password_page_needs_sign_in_and_is_linked_from_settings(client, auth, app):
    assert client.get("/auth/password").status_code == 302
    make_user(app)
    auth.login()
    assert b'href="/auth/password"' in client.get("/settings").data
    assert b"Change your password" in client.get("/auth/password").data


def test_password_change_keeps_this_session_and_ends_the_others(app, client, user_id, auth):
    laptop = app.test_client()
    AuthActions(app, laptop).login()
    copied = session_cookie(client, app)

    response = client.post(
        "/auth/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD}, follow_redirects=True
    )

    assert response.request.path == "/settings"
    assert b"Your other sessions are signed out." in response.data
    assert signed_in(client)
    assert not signed_in(laptop)
    assert not signed_in(client_with_cookie(app, "session", copied))
    other = AuthActions(app, app.test_client())
    assert other.login(password=PASSWORD).status_code == 422
    assert other.login(password=NEW_PASSWORD).status_code == 303


def test_password_change_keeps_remember_me_on_this_device_only(app):
    make_user(app)
    phone, laptop = app.test_client(), app.test_client()
    for device in (phone, laptop):
        device.post("/auth/login", data={"email": "gardener@example.com", "password": PASSWORD, "remember": "y"})
    laptop_remembered = laptop.get_cookie("remember_token").value

    phone.post("/auth/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD})

    assert signed_in(client_with_cookie(app, "remember_token", phone.get_cookie("remember_token").value))
    assert not signed_in(client_with_cookie(app, "remember_token", laptop_remembered))


@pytest.mark.parametrize(
    ("current", "new", "message"),
    [
        ("not my password", NEW_PASSWORD, "That is not your current password."),
        (PASSWORD, "short", "Use at least 10 characters."),
        (PASSWORD, "qwertyuiop", "one of the most common"),
        (PASSWORD, PASSWORD, "different from your current one"),
        (PASSWORD, "", "This field is required."),
        ("", NEW_PASSWORD, "This field is required."),
    ],
)
def test_password_change_refuses_bad_input_and_keeps_the_old_password(app, client, user_id, current, new, message):
    response = client.post("/auth/password", data={"current_password": current, "new_password": new})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert signed_in(client)
    assert AuthActions(app, app.test_client()).login().status_code == 303


def test_wrong_current_password_counts_as_a_failed_sign_in(make_app):
    app = make_app(config={"LOGIN_LIMITS": {"account": Limit(2, 900)}})
    make_user(app)
    client = app.test_client()
    AuthActions(app, client).login()
    data = {"current_password": "not my password", "new_password": NEW_PASSWORD}
    assert [client.post("/auth/password", data=data).status_code for _ in range(3)] == [422, 422, 429]


# --- throttling --------------------------------------------------------------------------------------


@pytest.fixture
def strict_app(make_app):
    return make_app(config={"LOGIN_LIMITS": {"account": Limit(3, 900), "ip": Limit(5, 900)}})


def test_failed_logins_per_account_are_limited_with_a_clear_429(strict_app):
    make_user(strict_app)
    auth = AuthActions(strict_app, strict_app.test_client())
    statuses = [auth.login(password="wrong password here").status_code for _ in range(3)]

    throttled = auth.login()  # even the right password waits now

    assert statuses == [422, 422, 422]
    assert throttled.status_code == 429
    assert 0 < int(throttled.headers["Retry-After"]) <= 900
    text = throttled.get_data(as_text=True)
    assert "Too many attempts" in text
    assert "Too many failed sign-in attempts. Wait 15 minutes and try again." in text
    assert not signed_in(auth.client)


def test_unknown_email_is_throttled_just_like_a_known_one(strict_app):
    make_user(strict_app)
    for address, email in (("192.0.2.1", "gardener@example.com"), ("192.0.2.2", "nobody@example.com")):
        client = strict_app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        data = {"email": email, "password": "wrong password here"}
        statuses = [client.post("/auth/login", data=data).status_code for _ in range(4)]
        assert statuses == [422, 422, 422, 429]


def test_failed_logins_per_address_are_limited_across_accounts(strict_app):
    make_user(strict_app)
    auth = AuthActions(strict_app, strict_app.test_client())
    for n in range(5):
        assert auth.login(email=f"guess{n}@example.com", password="wrong password here").status_code == 422
    assert auth.login().status_code == 429


def test_other_addresses_are_not_blocked_by_one_noisy_address(strict_app):
    make_user(strict_app)
    noisy = AuthActions(strict_app, strict_app.test_client())
    for n in range(5):
        noisy.login(email=f"guess{n}@example.com", password="wrong password here")
    elsewhere = strict_app.test_client()
    response = elsewhere.post(
        "/auth/login",
        data={"email": "gardener@example.com", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert response.status_code == 303


def test_a_successful_login_clears_the_accounts_count(strict_app):
    make_user(strict_app)
    auth = AuthActions(strict_app, strict_app.test_client())
    for _ in range(2):
        auth.login(password="wrong password here")
    assert auth.login().status_code == 303
    auth.logout()
    assert [auth.login(password="wrong password here").status_code for _ in range(3)] == [422, 422, 422]


def test_throttled_htmx_request_gets_the_message_in_the_error_area(strict_app):
    make_user(strict_app)
    client = strict_app.test_client()
    data = {"email": "gardener@example.com", "password": "wrong password here"}
    for _ in range(3):
        client.post("/auth/login", data=data)
    response = client.post("/auth/login", data=data, headers={"HX-Request": "true"})
    assert response.status_code == 429
    assert response.headers["HX-Retarget"] == "#error-area"
    assert "Retry-After" in response.headers
    assert b"Too many failed sign-in attempts" in response.data


# --- command line ---------------------------------------------------------------------------------------


def test_cli_creates_an_administrator(app, runner):
    result = runner.invoke(args=["users", "create", "Admin@Example.com", "--password", NEW_PASSWORD, "--admin"])
    assert result.exit_code == 0, result.output
    assert "created admin@example.com (administrator)" in result.output
    admin = AuthActions(app, app.test_client())
    assert admin.login(email="admin@example.com", password=NEW_PASSWORD).status_code == 303


@pytest.mark.parametrize(
    ("password", "message"),
    [("short", "at least 10 characters"), ("1234567890", "most common"), ("admin@example.com", "email address")],
)
def test_cli_applies_the_password_policy(app, runner, password, message):
    result = runner.invoke(args=["users", "create", "admin@example.com", "--password", password])
    assert result.exit_code != 0
    assert message in result.output
    assert user_count(app) == 0


def test_cli_refuses_a_taken_email(app, runner):
    make_user(app, email="admin@example.com")
    result = runner.invoke(args=["users", "create", "admin@example.com", "--password", NEW_PASSWORD])
    assert result.exit_code != 0
    assert "exists already" in result.output


# --- across processes ----------------------------------------------------------------------------------


def form_login(session, base, password):
    page = session.get(f"{base}/auth/login", timeout=10).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    data = {"email": "gardener@example.com", "password": password, "csrf_token": token}
    return session.post(f"{base}/auth/login", data=data, allow_redirects=False, timeout=10)


@pytest.mark.slow
def test_failed_logins_split_between_two_server_processes_still_trip_the_limit(app, migrated, tmp_path):
    """Two gunicorn processes on one database, CSRF on, as in production: the count is shared."""
    import requests

    from bench.load import bench_env, gunicorn

    from ..conftest import TEST_ENCRYPTION_KEY, TEST_SECRET_KEY

    make_user(app)
    env = bench_env(database_url=migrated, workdir=tmp_path, SECRET_KEY=TEST_SECRET_KEY)
    env["ENCRYPTION_KEY"] = TEST_ENCRYPTION_KEY
    with gunicorn(env, workers=1) as first, gunicorn(env, workers=1) as second:
        servers = [(first, requests.Session()), (second, requests.Session())]
        failures = [form_login(session, base, "wrong password here") for base, session in servers * 5]
        assert [r.status_code for r in failures] == [422] * 10

        for base, session in servers:
            throttled = form_login(session, base, PASSWORD)
            assert throttled.status_code == 429
            assert int(throttled.headers["Retry-After"]) > 0
