import pytest

pytestmark = pytest.mark.e2e


def test_home_page_loads_htmx_without_console_errors(live_server, page):
    page.goto(live_server + "/")

    assert page.url.endswith("/auth/login?next=%2Fplants")
    assert page.get_by_role("heading", name="Sign in").is_visible()
    assert page.evaluate("typeof window.htmx === 'object' && htmx.version") == "2.0.11"
    assert page.evaluate("htmx.config.selfRequestsOnly && !htmx.config.allowEval") is True
    assert page.console_errors == []
    assert page.shot("home").stat().st_size > 0
