"""A gardener's task flow in a real Chromium: with htmx, at phone size, and with JavaScript off."""

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import Plant, Task
from app.ownership import personal_garden_id

from ..conftest import PASSWORD, make_user
from ..fixtures.browser import screenshot

pytestmark = pytest.mark.e2e


@pytest.fixture
def app(make_app):
    """CSRF on, as in production: htmx must send the token header from <body>."""
    return make_app(config={"WTF_CSRF_ENABLED": True})


@pytest.fixture
def gardener(app):
    user_id = make_user(app)
    with app.app_context():
        plant = Plant(garden_id=personal_garden_id(user_id), name="Fern")
        db.session.add(plant)
        db.session.commit()
    return user_id


def sign_in(page, base):
    page.goto(base + "/auth/login?next=/tasks")
    page.get_by_label("Email").fill("gardener@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Care tasks")).to_be_visible()


def console_errors(page):
    """Console errors apart from the 422 answer to bad input, which Chromium logs as a failed load."""
    return [error for error in page.console_errors if "status of 422" not in error]


def row(page, title):
    return page.locator("li.task").filter(has=page.locator(".task-title", has_text=re.compile(f"^{title}$")))


def tab(page, name):
    return page.get_by_role("navigation", name="Show tasks").get_by_role("link", name=re.compile(f"^{name}"))


def test_create_edit_complete_filter_and_delete_a_task(live_server, page, gardener, tmp_path):
    sign_in(page, live_server)
    expect(page.get_by_text("No care tasks yet")).to_be_visible()

    # Create, first with a blank title: the error shows under the field and the notes stay.
    page.get_by_label("Title").fill("   ")
    page.get_by_text("Notes, due date, plant, repeat").click()
    page.get_by_label("Notes").fill("Use rain water")
    page.get_by_role("button", name="Add task").click()
    expect(page.locator("#title-error")).to_have_text("Enter a title.")
    expect(page.get_by_label("Notes")).to_have_value("Use rain water")

    page.get_by_label("Title").fill("Water the fern")
    page.get_by_label("Plant").select_option(label="Fern")
    page.get_by_label("Due").fill(date.today().isoformat())
    page.get_by_label("Repeat every").fill("3")
    page.get_by_role("button", name="Add task").click()
    expect(page.get_by_text("Added “Water the fern”.")).to_be_visible()
    new_row = row(page, "Water the fern")
    expect(new_row).to_contain_text("Repeats every 3 days")
    expect(new_row).to_contain_text("Plant: Fern")
    expect(tab(page, "All")).to_contain_text("1")
    expect(page.get_by_label("Title")).to_have_value("")
    screenshot(page, tmp_path / "tasks-created.png")

    # Edit in place: the row becomes a form, saving swaps the row back.
    new_row.get_by_role("link", name="Edit").click()
    title_input = page.locator("li.task.is-editing input[name$='-title']")
    expect(title_input).to_have_value("Water the fern")
    title_input.fill("Water the ferns")
    page.get_by_role("button", name="Save").click()
    edited = row(page, "Water the ferns")
    expect(edited).to_be_visible()
    expect(page.locator("li.task.is-editing")).to_have_count(0)
    assert page.url.endswith("/tasks")

    # Complete: ticked, said in words, and the next occurrence is created.
    edited.get_by_role("checkbox").check()
    expect(edited).to_contain_text("Done")
    expect(edited).to_contain_text("Next one added, due")
    expect(tab(page, "Completed")).to_contain_text("1")
    expect(tab(page, "Pending")).to_contain_text("1")
    expect(tab(page, "All")).to_contain_text("2")
    page.reload()
    expect(row(page, "Water the ferns")).to_have_count(2)
    screenshot(page, tmp_path / "tasks-completed.png")

    # Filter: the tab swaps the list and pushes the URL; reload and back keep the filter.
    tab(page, "Completed").click()
    expect(page).to_have_url(re.compile(r"/tasks\?status=completed$"))
    expect(page.locator("li.task")).to_have_count(1)
    expect(row(page, "Water the ferns")).to_contain_text("Done")
    tab(page, "Pending").click()
    expect(page).to_have_url(re.compile(r"/tasks\?status=pending$"))
    pending = row(page, "Water the ferns")
    expect(pending).to_have_count(1)
    expect(pending).not_to_contain_text("Done")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/tasks\?status=completed$"))
    expect(tab(page, "Completed")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", name="Care tasks")).to_have_count(1)
    page.go_forward()
    expect(tab(page, "Pending")).to_have_attribute("aria-current", "page")

    # Delete after confirming: the row goes, the counts follow, the empty state shows.
    page.once("dialog", lambda dialog: dialog.accept())
    row(page, "Water the ferns").get_by_role("link", name="Delete").click()
    expect(page.locator("li.task")).to_have_count(0)
    expect(page.get_by_text("All done. Your plants are looked after.")).to_be_visible()
    expect(tab(page, "All")).to_contain_text("1")
    expect(tab(page, "Pending")).to_contain_text("0")
    screenshot(page, tmp_path / "tasks-deleted.png")

    assert console_errors(page) == []


def test_task_list_at_phone_size(live_server, browser, app, gardener, tmp_path):
    today = date.today()
    with app.app_context():
        fern = db.session.scalar(db.select(Plant.id))
        db.session.add_all(
            [
                Task(
                    garden_id=personal_garden_id(gardener),
                    title="Mist the fern leaves",
                    plant_id=fern,
                    due_date=today - timedelta(days=2),
                ),
                Task(
                    garden_id=personal_garden_id(gardener),
                    title="Water the fern",
                    plant_id=fern,
                    due_date=today,
                    recurrence_days=3,
                ),
                Task(
                    garden_id=personal_garden_id(gardener),
                    title="Check the soil",
                    source="alert",
                    description="Soil moisture was 12 %",
                ),
                Task(
                    garden_id=personal_garden_id(gardener),
                    title="Repot the basil",
                    due_date=today + timedelta(days=9),
                    completed=True,
                ),
            ]
        )
        db.session.commit()
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        sign_in(page, live_server)
        expect(row(page, "Mist the fern leaves")).to_contain_text("Overdue")
        expect(row(page, "Water the fern")).to_contain_text("Due today")
        expect(row(page, "Check the soil")).to_contain_text("From an alert")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, tmp_path / "tasks-phone.png")

        row(page, "Water the fern").get_by_role("link", name="Edit").click()
        expect(page.locator("li.task.is-editing")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, tmp_path / "tasks-phone-edit.png")
    finally:
        context.close()


def test_every_flow_works_with_javascript_off(live_server, browser, gardener):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, live_server)
        page.get_by_label("Title").fill("Water the fern")
        page.get_by_text("Notes, due date, plant, repeat").click()
        page.get_by_label("Repeat every").fill("2")
        page.get_by_role("button", name="Add task").click()
        expect(page.get_by_text("Added “Water the fern”.")).to_be_visible()

        row(page, "Water the fern").get_by_role("link", name="Edit").click()
        expect(page.get_by_role("heading", name="Edit task")).to_be_visible()
        page.locator("input[name$='-title']").fill("Water the ferns")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Saved “Water the ferns”.")).to_be_visible()

        ferns = row(page, "Water the ferns")
        ferns.get_by_role("checkbox").check()
        ferns.get_by_role("button", name="Save").click()
        expect(page.get_by_text(re.compile("Done. The next “Water the ferns” is due"))).to_be_visible()
        expect(tab(page, "Completed")).to_contain_text("1")

        tab(page, "Completed").click()
        expect(page).to_have_url(re.compile(r"status=completed"))
        row(page, "Water the ferns").get_by_role("link", name="Delete").click()
        expect(page.get_by_text("Delete the task “Water the ferns”? This cannot be undone.")).to_be_visible()
        page.get_by_role("button", name="Delete").click()
        expect(page).to_have_url(re.compile(r"/tasks\?status=completed$"))
        expect(page.get_by_text("Deleted “Water the ferns”.")).to_be_visible()
        expect(tab(page, "Completed")).to_contain_text("0")
        expect(tab(page, "Pending")).to_contain_text("1")
    finally:
        context.close()
