"""axe-core on every page, at phone (390x844) and desktop (1280x900), light and dark: no
violations. axe-core is vendored in tests/fixtures/axe-core-4.14.1 (from the npm package,
MPL-2.0): no CDN and nothing downloaded at test time.

The walk signs in as a gardener with plants in each status, open, acknowledged and resolved
alerts, pending, overdue and completed tasks, and an API token, so every badge, band and
faded row is on screen when axe checks contrast.
"""

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.clock import utcnow
from app.domain.invitations import hash_secret, new_secret
from app.extensions import db
from app.models import Alert, Garden, GardenInvitation, GardenMember, PlantSensor, Task
from app.ownership import personal_garden_id
from tests.fixtures.browser import sign_in

from ..conftest import make_user
from ..fixtures.browser import screenshot
from ..integration.alerting import add_plant, store

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parent.parent / "fixtures" / "axe-core-4.14.1" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# WCAG 2.1 A and AA plus axe's best practices (landmarks, headings, skip link targets).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@pytest.fixture
def app(make_app):
    return make_app(config={"WTF_CSRF_ENABLED": True})


def seed(app):
    """A gardener's instance with something of every kind on screen; returns the plant ids."""
    user_id = make_user(app, is_admin=True)
    basil = add_plant(app, user_id, name="Basil", location="Kitchen", species="Ocimum basilicum")
    fern = add_plant(app, user_id, name="Fern", location="Bathroom", light_min=4.0, light_max=20.0)
    cactus = add_plant(app, user_id, name="Cactus", stale_after_minutes=5)
    add_plant(app, user_id, name="Orchid, waiting for its first reading")
    store(app, basil, 45.0, 25.0, 24.0)  # dry: an open alert and a water task
    store(app, fern, {"soil_moisture": 55.0, "temperature": 21.5, "humidity": 70.0, "light": 9100.0, "battery": 80.0})
    store(app, cactus, 35.0, now=utcnow() - timedelta(hours=2))  # silent sensor
    now = utcnow()
    with app.app_context():
        home = personal_garden_id(user_id)
        db.session.add_all(
            [
                Alert(garden_id=home, plant_id=fern, problem="temperature_high", metric="temperature", value=33.0,
                      threshold=30.0, state="acknowledged", opened_at=now - timedelta(hours=3),
                      acknowledged_at=now - timedelta(hours=2)),
                Alert(garden_id=home, plant_id=fern, problem="soil_moisture_low", metric="soil_moisture", value=20.0,
                      threshold=30.0, state="resolved", opened_at=now - timedelta(days=2),
                      resolved_at=now - timedelta(days=1)),
                Task(garden_id=home, title="Repot the fern", plant_id=fern, due_date=date.today() - timedelta(days=2)),
                Task(garden_id=home, title="Mist the orchid", due_date=date.today(), recurrence_days=3),
                Task(garden_id=personal_garden_id(user_id), title="Buy compost", completed=True, completed_at=now),
            ]
        )  # fmt: skip
        db.session.commit()
        device = db.session.scalar(select(PlantSensor.device_id).where(PlantSensor.plant_id == fern).limit(1))
    garden, invitation = shared_garden(app, user_id)
    return {"basil": basil, "fern": fern, "device": device, "garden": garden, "invitation": invitation}


def shared_garden(app, user_id):
    """A garden shared with a plant-sitter, a pending invitation, a task assigned to the gardener
    and one the sitter did; the garden's id and the invitation's path."""
    sitter = make_user(app, email="bea@example.com")
    secret = new_secret()
    now = utcnow()
    with app.app_context():
        garden = Garden(name="Allotment 7")
        garden.members.append(GardenMember(user_id=user_id, role="owner"))
        garden.members.append(GardenMember(user_id=sitter, role="sitter", until=now + timedelta(days=10)))
        db.session.add(garden)
        db.session.flush()
        db.session.add_all(
            [
                GardenInvitation(garden_id=garden.id, role="viewer", email="cem@example.com",
                                 token_hash=hash_secret(secret), expires_at=now + timedelta(days=7)),
                Task(garden_id=garden.id, title="Tie up the tomatoes", due_date=date.today(), assignee_id=user_id),
                Task(garden_id=garden.id, title="Weed the bed", completed=True, completed_at=now,
                     completed_by_id=sitter),
            ]
        )  # fmt: skip
        db.session.commit()
        return garden.id, f"/invitations/{secret}"


def pages(plants):
    fern = plants["fern"]
    return [
        "/today",
        "/plants",
        "/plants?status=alert",
        "/plants/new",
        f"/plants/{fern}",
        f"/plants/{fern}?range=7d",
        f"/plants/{fern}/edit",
        f"/plants/{fern}/delete",
        "/gardens",
        f"/gardens/{plants['garden']}",
        f"/gardens/{plants['garden']}/delete",
        plants["invitation"],
        "/devices",
        f"/devices/{plants['device']}",
        "/tasks",
        "/tasks?status=completed",
        "/alerts",
        "/alerts?state=acknowledged",
        "/alerts?state=resolved",
        "/settings",
        "/auth/password",
        "/admin",
        "/offline",
        "/no-such-page",
    ]


ANONYMOUS_PAGES = ["/auth/login", "/auth/register", "/offline", "/no-such-page"]


def violations(page):
    """axe's violations on the page as it is now, one line each."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", TAGS
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(" ".join(node["target"]) + " " + (node.get("failureSummary") or "").replace("\n", " ")
                    for node in v["nodes"][:4])
        for v in result["violations"]
    ]  # fmt: skip


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_every_page_has_no_axe_violations(app, live_server, browser, tmp_path, viewport, scheme):
    plants = seed(app)
    # The page's own CSP forbids the injected axe script: bypass_csp for this audit only.
    context = browser.new_context(viewport=viewport, color_scheme=scheme, bypass_csp=True, service_workers="block")
    context.set_default_timeout(10_000)
    page = context.new_page()
    found = {}
    try:
        for path in [*ANONYMOUS_PAGES, plants["invitation"]]:
            page.goto(live_server + path)
            found[f"anonymous {path}"] = violations(page)
        sign_in(page, live_server)
        for path in pages(plants):
            page.goto(live_server + path)
            wide = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            found[path] = violations(page) + ([f"page is {wide} px wider than the screen"] if wide > 0 else [])
        name = "phone" if viewport is PHONE else "desktop"
        page.goto(live_server + "/plants")
        screenshot(page, tmp_path / f"a11y-dashboard-{scheme}-{name}.png")
    finally:
        context.close()
    problems = {path: lines for path, lines in found.items() if lines}
    assert problems == {}, "\n".join(f"{path}:\n  " + "\n  ".join(lines) for path, lines in problems.items())
