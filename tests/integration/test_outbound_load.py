"""Under gunicorn, a provider that drips its answer cannot take the worker's threads:
/api/health/live stays fast while the outbound bound is saturated."""

import http.cookiejar
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from app.extensions import db
from app.models import User

from ..conftest import PASSWORD, make_user
from .test_gunicorn import serve  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow

DEADLINE_SECONDS = 3


class Browser:
    """One signed-in gardener over real HTTP (cookies and the CSRF token, like htmx sends them)."""

    def __init__(self, base, email):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        form = {"email": email, "password": PASSWORD, "csrf_token": self.csrf_token("/auth/login")}
        self.opener.open(self.base + "/auth/login", urllib.parse.urlencode(form).encode(), timeout=10).read()
        self.token = self.csrf_token("/settings")

    def csrf_token(self, path):
        page = self.opener.open(self.base + path, timeout=10).read().decode()
        return page.split('"X-CSRFToken": "')[1].split('"')[0]

    def test_llm(self):
        request = urllib.request.Request(
            self.base + "/settings/llm/test",
            data=b"",
            headers={"X-CSRFToken": self.token, "HX-Request": "true"},
            method="POST",
        )
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code


def live_latency(base):
    started = time.monotonic()
    try:
        urllib.request.urlopen(base + "/api/health/live", timeout=5).read()
    except OSError:
        return None  # no answer within 5 s
    return time.monotonic() - started


def test_health_live_stays_fast_while_llm_tests_wait_on_a_dripping_provider(make_app, serve, drip_server):  # noqa: F811
    provider = drip_server("body", interval=0.5)  # a byte every 0.5 s: no single read ever times out
    app = make_app()
    for n in range(2):
        user_id = make_user(app, email=f"drip{n}@example.com")
        with app.app_context():
            user = db.session.get(User, user_id)
            user.llm_base_url, user.llm_model = provider.url + "/v1", "m"
            db.session.commit()
    base, _, _ = serve(
        WEB_CONCURRENCY=1,
        GUNICORN_THREADS=4,
        OUTBOUND_CONCURRENCY=2,
        PROVIDER_TIMEOUT_SECONDS=DEADLINE_SECONDS,
    )
    browsers = [Browser(base, f"drip{n}@example.com") for n in range(2)]
    statuses = []
    callers = [
        threading.Thread(target=lambda b=browsers[n % 2]: statuses.append(b.test_llm()), daemon=True) for n in range(8)
    ]
    for caller in callers:
        caller.start()
    latencies = []
    until = time.monotonic() + DEADLINE_SECONDS + 1
    while time.monotonic() < until:
        latencies.append(live_latency(base))
        time.sleep(0.1)
    for caller in callers:
        caller.join(DEADLINE_SECONDS + 5)

    assert None not in latencies
    assert max(latencies) < 0.5
    assert sorted(statuses) == [200, 200] + [503] * 6  # two waited out the deadline, six were told "busy"
    assert provider.connections == 2
    assert max(provider.held) < DEADLINE_SECONDS + 1
