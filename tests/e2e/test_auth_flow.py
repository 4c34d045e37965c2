import re

import pytest

from ..conftest import PASSWORD

pytestmark = pytest.mark.e2e

EMAIL = "fern@example.com"


def unexpected(errors):
    """Console errors, less Chromium's note on the 422 that a refused form answers by design."""
    return [e for e in errors if "status of 422" not in e]


def fill_and_submit(page, email, password, button):
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name=button).click()


def test_register_sign_out_sign_in_without_console_errors_or_csp_violations(live_server, page):
    page.goto(live_server + "/auth/register")
    fill_and_submit(page, EMAIL, "short", "Create account")
    assert page.get_by_text("Use at least 10 characters.").is_visible()
    page.shot("register-error")

    fill_and_submit(page, EMAIL, PASSWORD, "Create account")
    page.wait_for_url(re.compile(r"/plants$"))
    assert page.get_by_text("Welcome to PlantOps").is_visible()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/auth/login$"))
    assert page.get_by_text("You are signed out on this device.").is_visible()

    fill_and_submit(page, EMAIL, "not the password", "Sign in")
    assert page.get_by_text("That email and password do not match an account.").is_visible()
    page.shot("login-error")

    fill_and_submit(page, EMAIL, PASSWORD, "Sign in")
    page.wait_for_url(re.compile(r"/today$"))
    assert page.get_by_role("button", name="Sign out").is_visible()
    assert unexpected(page.console_errors) == []
    assert not any("Content Security Policy" in e for e in page.console_errors)


def test_password_change_page_works_on_a_phone(live_server, page):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server + "/auth/register")
    fill_and_submit(page, EMAIL, PASSWORD, "Create account")
    page.wait_for_url(re.compile(r"/plants$"))

    page.goto(live_server + "/settings")
    page.get_by_role("link", name="Change your password").click()
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password").fill("a fresh potting mix")
    page.shot("password-phone")
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url(re.compile(r"/settings$"))
    assert page.get_by_text("Your other sessions are signed out.").is_visible()
    assert page.console_errors == []


def test_a_csp_violation_would_be_reported(live_server, page):
    """The console check above is meaningful: an inline script on our pages is blocked and logged."""
    page.goto(live_server + "/auth/login")
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.x = 1'; "
        "document.body.appendChild(s); }"
    )
    assert page.evaluate("typeof window.x") == "undefined"
    assert any("Content Security Policy" in error for error in page.console_errors)
