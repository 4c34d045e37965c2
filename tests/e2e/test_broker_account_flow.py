"""The "Connect sensors" panel in a real browser: a gardener makes a broker account with htmx and sees
its password once, with the settings for each ecosystem, on desktop and phone."""

import pytest

from ..conftest import make_user
from ..fixtures.browser import sign_in
from ..fixtures.shipped_broker import ADMIN_PASSWORD, connect, shipped_broker

pytestmark = pytest.mark.e2e


@pytest.fixture
def broker():
    with shipped_broker() as running:
        yield running


@pytest.fixture
def app(make_app, broker):
    return make_app(MQTT_PORT=broker.port, MQTT_ADMIN_PASSWORD=ADMIN_PASSWORD, MQTT_PUBLIC_HOST="mqtt.example.com")


def test_a_gardener_makes_a_broker_account_and_copies_the_settings(app, live_server, page, broker):
    make_user(app, email="admin@example.com")
    uid = make_user(app, email="ana@example.com")
    sign_in(page, live_server, email="ana@example.com", then="/settings")
    assert page.get_by_text("Bridge accounts").count() == 0  # administrators only

    page.get_by_role("button", name="Create my broker account").click()
    page.get_by_text("Copy your broker password now").wait_for()
    password = page.locator("#broker-password").inner_text().strip()
    name = page.locator("#broker-username").inner_text().strip()

    assert name == f"ana-{uid}"
    assert page.locator("#broker-prefix").inner_text() == f"plantops/u/{name}/"
    assert f"base_topic: plantops/u/{name}/zigbee2mqtt" in page.locator("pre").first.inner_text()
    page.shot("broker-account-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    page.shot("broker-account-phone")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    connect(broker.port, name, password).close()

    page.reload()
    assert page.locator("#broker-password").count() == 0  # shown once
    assert page.get_by_role("button", name="Reset password").is_visible()
    assert page.console_errors == []
