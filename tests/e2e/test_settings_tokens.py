import re

import pytest

from ..conftest import make_user
from ..fixtures.browser import screenshot, sign_in

pytestmark = pytest.mark.e2e


def test_create_copy_and_revoke_a_token_with_htmx(app, live_server, page, tmp_path):
    make_user(app)
    sign_in(page, live_server)
    page.goto(live_server + "/settings")
    page.get_by_label("Token name").fill("Home Assistant")
    page.get_by_role("button", name="Create token").click()

    token = page.locator("#new-token")
    token.wait_for()
    raw = token.text_content().strip()
    assert re.fullmatch(r"po_[A-Za-z0-9_-]{43}", raw)
    assert page.url.endswith("/settings")  # swapped in place
    assert screenshot(page, tmp_path / "token-created-desktop.png").stat().st_size > 0
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, tmp_path / "token-created-phone.png")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke").click()
    page.get_by_text("No tokens yet.").wait_for()
    assert page.locator("#new-token").count() == 0
    assert page.console_errors == []


def test_create_and_revoke_without_javascript(app, live_server, browser):
    make_user(app)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server)
    page.goto(live_server + "/settings")
    page.get_by_label("Token name").fill("cron")
    page.get_by_role("button", name="Create token").click()
    assert re.fullmatch(r"po_[A-Za-z0-9_-]{43}", page.locator("#new-token").text_content().strip())
    page.get_by_role("button", name="Revoke").click()
    page.wait_for_url(re.compile(r".*/settings#api-tokens$"))
    assert page.get_by_text("No tokens yet.").is_visible()
    context.close()
