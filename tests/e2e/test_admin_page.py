"""The operator view in a real browser: disable a user with htmx, on desktop and phone."""

from datetime import UTC, datetime

import pytest

from app.extensions import db
from app.models import Device, IngestRejection

from ..conftest import make_user
from ..fixtures.browser import sign_in

pytestmark = pytest.mark.e2e


def test_administrator_disables_and_enables_a_user_without_reloading(app, live_server, page):
    make_user(app, email="admin@example.com")
    make_user(app, email="a.very.long.address.for.a.phone@community-garden.example.org")
    with app.app_context():
        now = datetime.now(UTC)
        db.session.add(IngestRejection(reason="out_of_range", count=1234, last_at=now))
        db.session.add(
            Device(namespace="", key="esp32-greenhouse-7", source="native", last_seen_at=now, message_count=42)
        )
        db.session.commit()
    sign_in(page, live_server, email="admin@example.com", then="/admin")

    page.get_by_role("button", name="Disable").click()
    page.get_by_role("button", name="Enable").wait_for()
    page.shot("admin-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    page.shot("admin-phone")
    page.get_by_role("button", name="Enable").click()
    page.get_by_role("button", name="Disable").wait_for()

    assert page.get_by_text("esp32-greenhouse-7").is_visible()
    assert page.console_errors == []
