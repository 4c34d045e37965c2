import re

import pytest

from app.auth.throttling import Limit

from ..conftest import PASSWORD, make_user

pytestmark = pytest.mark.e2e


@pytest.fixture
def app(make_app):
    """CSRF on, as in production, and a small sign-in limit."""
    return make_app(config={"WTF_CSRF_ENABLED": True, "LOGIN_LIMITS": {"account": Limit(2, 900)}})


def sign_in(page, password):
    page.get_by_label("Email").fill("gardener@example.com")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_too_many_failed_sign_ins_show_a_clear_page(app, live_server, page):
    make_user(app)
    page.goto(live_server + "/auth/login")
    for _ in range(3):
        sign_in(page, "wrong password here")

    assert page.get_by_role("heading", name="Too many attempts").is_visible()
    assert page.get_by_text("Wait 15 minutes and try again.").is_visible()
    page.shot("throttled")


def test_a_form_that_cannot_be_verified_asks_to_reload(app, live_server, page):
    page.goto(live_server + "/auth/login")
    page.locator("input[name=csrf_token]").evaluate("input => input.value = 'expired-or-forged'")
    sign_in(page, "whatever password")

    assert page.get_by_text("Reload the page and try again.").is_visible()
    page.shot("csrf-refused")


def test_a_refused_htmx_request_shows_its_message_in_the_error_area(app, live_server, page):
    make_user(app)
    page.goto(live_server + "/auth/login")
    sign_in(page, PASSWORD)
    page.wait_for_url(re.compile(r"/today$"))

    page.evaluate(
        """() => {
            document.body.setAttribute('hx-headers', JSON.stringify({'X-CSRFToken': 'stale'}));
            htmx.ajax('POST', '/auth/logout', {source: document.body});
        }"""
    )

    area = page.locator("#error-area")
    area.get_by_text("Reload the page and try again.").wait_for()
    page.shot("csrf-htmx")
    page.reload()
    assert page.get_by_role("button", name="Sign out").is_visible()  # still signed in
