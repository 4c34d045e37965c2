"""The iCal feed (RFC 5545, made with `icalendar`): a user's pending care tasks with a due date.

Each task is an all-day event on its due date (an overdue one on today, so it
stays in sight), with "Done" and "Skip" links in its description (and the done
link as its URL): signed, single-purpose links (app.domain.calendar) that open a
confirmation page, so a calendar app or link preview fetching them changes nothing.
A repeating task shows its current occurrence; the next appears once it is done.
"""

from datetime import date, datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import select

from ..clock import utcnow
from ..domain import calendar as feeds
from ..domain import gardens
from ..domain.types import DbSession
from ..models import CalendarFeed, Plant, Task, User

PAST_DAYS, FUTURE_DAYS = 30, 90  # the due dates a feed covers around today
MAX_EVENTS = 500


def feed_tasks(session: DbSession, user: User, today: date) -> list[Task]:
    query = (
        select(Task)
        .where(Task.garden_id.in_(gardens.garden_ids_of(user.id, utcnow())))
        .where(Task.completed.is_(False), Task.due_date.is_not(None))
        .where(Task.due_date >= today - timedelta(days=PAST_DAYS), Task.due_date <= today + timedelta(days=FUTURE_DAYS))
        .order_by(Task.due_date, Task.id)
        .limit(MAX_EVENTS)
    )
    return list(session.scalars(query))


def build_feed(
    session: DbSession,
    feed: CalendarFeed,
    user: User,
    today: date,
    now: datetime,
    secret_key: str,
    link,  # link(action, token) -> absolute URL
    host: str,
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//PlantOps//Care tasks//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "PlantOps care")
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    tasks = feed_tasks(session, user, today)
    plant_ids = {t.plant_id for t in tasks if t.plant_id}
    names = dict(session.execute(select(Plant.id, Plant.name).where(Plant.id.in_(plant_ids))).tuples().all())
    for task in tasks:
        assert task.due_date is not None
        day = max(task.due_date, today)
        done = link("done", feeds.action_token(secret_key, feed, task, "done"))
        skip = link("skip", feeds.action_token(secret_key, feed, task, "skip"))
        event = Event()
        event.add("uid", f"task-{task.id}@{host}")
        event.add("dtstamp", now)
        event.add("last-modified", task.updated_at)
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
        event.add("summary", task.title)
        lines = []
        if task.plant_id in names:
            lines.append(f"Plant: {names[task.plant_id]}")
        if task.due_date < today:
            lines.append(f"Overdue since {task.due_date:%-d %b}.")
        if task.description:
            lines.append(task.description)
        lines += [f"Done: {done}", f"Skip: {skip}"]
        event.add("description", "\n".join(lines))
        event.add("url", done)
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    return calendar.to_ical()
