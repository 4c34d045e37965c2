"""Care pages: Today (the signed-in home page), logging care on a plant, the care log CSV,
the calendar feed with its done/skip links, and the feed's settings.

Every page works without JavaScript (forms post and answer 303); htmx only swaps
the part that changed.
"""

import csv
import io
from datetime import UTC, datetime

from flask import Response, abort, current_app, flash, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..clock import utcnow
from ..domain import calendar as feeds
from ..domain import care as service
from ..domain import tasks as task_service
from ..domain.alerts import acknowledge
from ..domain.errors import ValidationError
from ..domain.watering import RISE_MINUTES_RANGE, RISE_POINTS_RANGE
from ..extensions import csrf, db
from ..filters import user_zone
from ..models import Alert, Plant, Task, User
from ..ownership import get_allowed_or_404, get_visible_or_404
from ..plants.care_log import care_log_context
from ..settings import bp as settings_bp
from ..web import is_htmx, public_url, render, see_other
from . import bp, today
from .calendar import build_feed


@bp.get("/today")
@login_required
def show_today():
    """The signed-in home page: what needs doing now, in the user's timezone."""
    now = utcnow()
    return render("care/today.html", block="today", **today.today_context(current_user, now))


def back_to_today():
    """Back to Today, or to the plant page a form came from (only our own paths)."""
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return see_other(target)
    return see_other(url_for("care.show_today"))


@bp.post("/today/tasks/<int:task_id>/done")
@login_required
def today_done(task_id):
    task = get_allowed_or_404(Task, task_id, "care")
    created = task_service.set_completed(db.session, task, True, utcnow(), by=current_user)
    db.session.commit()
    flash(f"Done: {task.title}." + (f" Next one due {created.due_date:%-d %b}." if created else ""), "success")
    return back_to_today()


@bp.post("/today/tasks/<int:task_id>/snooze")
@login_required
def today_snooze(task_id):
    task = get_allowed_or_404(Task, task_id, "care")
    task_service.snooze_task(db.session, task, utcnow())
    db.session.commit()
    flash(f"Snoozed: {task.title}, due tomorrow.", "info")
    return back_to_today()


@bp.post("/today/alerts/<int:alert_id>/seen")
@login_required
def today_seen(alert_id):
    alert = get_allowed_or_404(Alert, alert_id, "care")
    acknowledge(alert, utcnow(), current_user)
    db.session.commit()
    return back_to_today()


def parse_local(value: str):
    """A datetime-local value ("2026-12-01T18:30") in the viewer's timezone; blank: None."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return "invalid"
    return moment.replace(tzinfo=user_zone()) if moment.tzinfo is None else moment


def parse_amount(value: str):
    value = (value or "").strip().replace(",", ".")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return "invalid"


@bp.post("/plants/<int:plant_id>/care")
@login_required
def log_care(plant_id):
    plant = get_allowed_or_404(Plant, plant_id, "care")
    now = utcnow()
    data = {
        "kind": request.form.get("kind", ""),
        "note": request.form.get("note", ""),
        "at": parse_local(request.form.get("at", "")),
        "amount": parse_amount(request.form.get("amount", "")),
    }
    try:
        fields = service.clean_event(data, now)
    except ValidationError as invalid:
        errors = {e["field"]: e["message"] for e in invalid.detail}
        context = care_log_context(plant, now, errors=errors, values=request.form)
        return render("care/logged.html", "care/_care_log.html", status=422, **context)
    service.log_event(db.session, plant, fields, current_user, now)
    db.session.commit()
    label = service.KINDS[fields["kind"]][0]
    if not is_htmx():
        flash(f"{label}: logged for {plant.name}.", "success")
        target = request.form.get("next", "")
        if target.startswith("/") and not target.startswith("//"):
            return see_other(target)
        return see_other(url_for("plants.show_plant", plant_id=plant.id) + "#care-log")
    return render("care/logged.html", "care/_care_log.html", **care_log_context(plant, now, logged=label))


@bp.post("/plants/<int:plant_id>/watering-detection")
@login_required
def save_watering_detection(plant_id):
    """The plant's own rise (points within minutes) for watering detected from the soil;
    empty fields take the defaults."""
    plant = get_allowed_or_404(Plant, plant_id, "edit")
    errors = {}
    values = {}
    for name, (low, high), parse in (
        ("watering_rise_points", RISE_POINTS_RANGE, float),
        ("watering_rise_minutes", RISE_MINUTES_RANGE, int),
    ):
        raw = request.form.get(name, "").strip()
        if not raw:
            values[name] = None
            continue
        try:
            number = parse(raw)
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            errors[name] = f"Enter {low:g} to {high:g}, or leave it empty for the default."
        else:
            values[name] = number
    if errors:
        context = care_log_context(plant, utcnow(), errors=errors, values=request.form)
        return render("care/logged.html", "care/_care_log.html", status=422, **context)
    for name, value in values.items():
        setattr(plant, name, value)
    db.session.commit()
    flash(f"Saved watering detection for {plant.name}.", "success")
    return see_other(url_for("plants.show_plant", plant_id=plant.id) + "#care-log")


@bp.get("/plants/<int:plant_id>/care.csv")
@login_required
def export_care(plant_id):
    plant = get_visible_or_404(Plant, plant_id)
    events = service.plant_events(db.session, plant.id, limit=100_000)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(("at", "kind", "amount", "note", "detected", "by"))
    by_ids = {e.by_user_id for e in events if e.by_user_id}
    emails = dict(db.session.execute(select(User.id, User.email).where(User.id.in_(by_ids))).tuples().all())
    for event in reversed(events):
        writer.writerow(
            (
                event.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                event.kind,
                "" if event.amount is None else f"{event.amount:g}",
                csv_safe(event.note),
                "true" if event.detected else "false",
                emails.get(event.by_user_id, "") if event.by_user_id else "",
            )
        )
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="plant-{plant.id}-care.csv"',
            "Cache-Control": "no-store",
        },
    )


def csv_safe(text: str) -> str:
    """A note that a spreadsheet would run as a formula starts with an apostrophe."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# Calendar feed -------------------------------------------------------------------------


@bp.get("/calendar/<secret>.ics")
def calendar_feed(secret):
    feed = feeds.feed_for_secret(db.session, secret)
    if feed is None:
        abort(404)
    user = db.session.get(User, feed.user_id)
    if user is None or user.disabled:
        abort(404)
    now = utcnow()
    host = current_app.config["PUBLIC_URL"].split("://", 1)[-1].split("/", 1)[0]

    def link(action, token):
        return public_url("care.calendar_action", action=action, token=token)

    body = build_feed(
        db.session,
        feed,
        user,
        task_service.user_today(user, now),
        now,
        current_app.config["SECRET_KEY"],
        link,
        host,
    )
    return Response(body, mimetype="text/calendar", headers={"Cache-Control": "no-store"})


@bp.route("/calendar/<any(done, skip):action>/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed link is the authority, not an ambient cookie
def calendar_action(action, token):
    """GET: a page with one button (calendar apps and link previews fetch links); POST: do it."""
    now = utcnow()
    try:
        checked = feeds.check_action(db.session, current_app.config["SECRET_KEY"], token, action, now)
    except feeds.LinkProblem as problem:
        return render(
            "care/calendar_action.html", status=410 if str(problem) == "expired" else 404, problem=str(problem)
        )
    task = checked.task
    if request.method == "GET" or task.completed:
        return render("care/calendar_action.html", task=task, action=action, token=token, done=task.completed)
    task_service.set_completed(db.session, task, True, now, log_care=action == "done", by=checked.user)
    if action == "skip":
        task.completion_note = "Skipped from the calendar."
    db.session.commit()
    return render("care/calendar_action.html", task=task, action=action, token=token, done=True, just_now=True)


# The feed's settings live on the settings page: its blueprint (context, no-store) serves them.
@settings_bp.post("/calendar")
@login_required
def new_calendar_feed():
    """The settings page with the new URL, shown this once (never put in a flash: the cookie)."""
    from ..settings.views import page

    feed, secret = feeds.create_feed(db.session, current_user, utcnow())
    db.session.commit()
    url = public_url("care.calendar_feed", secret=secret)
    return page(calendar_url=url, calendar_feed=feed)


@settings_bp.post("/calendar/revoke")
@login_required
def revoke_calendar_feed():
    feeds.revoke_feeds(db.session, current_user, utcnow())
    db.session.commit()
    flash("Calendar feed revoked: its URL and its done/skip links no longer work.", "info")
    return see_other(url_for("settings.show_settings") + "#calendar")
