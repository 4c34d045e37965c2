"""Care advice from the user's own LLM provider, grounded in the plant's readings.

`POST /plants/<id>/advice` builds the prompt, asks the provider (no database
transaction is open while it waits) and keeps the answer; `GET` shows the advice
section, which the plant page loads lazily.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, url_for
from flask_login import current_user, login_required
from sqlalchemy import case, func, select

from .. import throttle
from ..clock import utcnow
from ..crypto import DecryptionError
from ..domain.metrics import KEYS
from ..domain.readings import plant_readings
from ..extensions import db
from ..models import Advice, Alert, Plant, Task
from ..ownership import get_visible_or_404, own, visible
from ..settings.providers import ProviderError, caller_for, chat
from ..settings.secrets import KeyForAnotherOrigin, llm_provider
from ..web import is_htmx, render, see_other
from . import bp
from .advice_prompt import build_prompt, render_answer, summarise

log = logging.getLogger(__name__)

WINDOW_HOURS = 24
SHOWN_ANSWERS = 10
NOT_CONFIGURED = "No LLM provider is set up yet. Add one in Settings to ask for advice."
UNREADABLE_KEY = "Your saved LLM API key can no longer be read. Re-enter this secret in Settings."
KEY_FOR_ANOTHER_ORIGIN = "Your saved LLM API key was entered for another address. Enter it again in Settings."
STATUS_FOR = {"timeout": 504, "unreachable": 502, "busy": 503, "blocked": 422}
BUSY_RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class Answer:
    model: str
    created_at: datetime
    html: str


@bp.get("/<int:plant_id>/advice")
@login_required
def show_advice(plant_id):
    plant = get_visible_or_404(Plant, plant_id)
    return advice_section(plant)


@bp.post("/<int:plant_id>/advice")
@login_required
def ask_advice(plant_id):
    plant = get_visible_or_404(Plant, plant_id)
    user = current_user
    try:
        provider = llm_provider(user)
    except DecryptionError:
        return advice_section(plant, UNREADABLE_KEY, 422)
    except KeyForAnotherOrigin:
        return advice_section(plant, KEY_FOR_ANOTHER_ORIGIN, 422)
    if provider is None:
        return advice_section(plant, NOT_CONFIGURED, 422)

    limit = current_app.config.get("ADVICE_PER_HOUR", 20)
    decision = throttle.hit(f"advice:{user.id}", limit, 3600)
    if not decision.allowed:
        db.session.commit()
        minutes = -(-decision.retry_after // 60)
        return advice_section(plant, f"You asked for advice {limit} times this hour. Try again in {minutes} min.", 429)

    now = utcnow()
    messages = prompt_for(plant, user, now)
    plant_id, user_id = plant.id, user.id
    db.session.commit()  # the throttle count holds even if the provider fails; no lock while we wait
    try:
        answer = chat(provider, messages, caller_for(current_app.config, user_id))
    except ProviderError as error:
        log.info("advice for plant %s failed: %s", plant_id, error.kind)
        response = advice_section(plant, error.message, STATUS_FOR.get(error.kind, 502))
        if error.kind == "busy":
            response.headers["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS)
        return response
    db.session.add(Advice(user_id=user_id, plant_id=plant_id, model=provider.model, answer=answer[:20_000]))
    db.session.commit()
    if not is_htmx():
        return see_other(url_for("plants.show_advice", plant_id=plant_id))
    return advice_section(plant)


def advice_section(plant, message=None, status=200):
    """The advice section (htmx) or a page holding it (no JavaScript)."""
    rows = db.session.scalars(
        own(Advice).where(Advice.plant_id == plant.id).order_by(Advice.created_at.desc()).limit(SHOWN_ANSWERS)
    ).all()
    answers = [Answer(row.model, row.created_at, render_answer(row.answer)) for row in rows]
    return render(
        "plants/advice.html",
        "plants/_advice.html",
        status,
        plant=plant,
        advice_answers=answers,
        advice_message=message,
    )


def prompt_for(plant, user, now):
    since = now - timedelta(hours=WINDOW_HOURS)
    summaries = summarise(readings_summary(plant.id, since, now))
    alerts = db.session.scalars(
        visible(Alert, user)
        .where(Alert.plant_id == plant.id, Alert.resolved_at.is_(None))
        .order_by(Alert.opened_at)
        .limit(10)
    ).all()
    today = now.astimezone(_zone(user.timezone)).date()
    tasks = db.session.scalars(
        visible(Task, user)
        .where(Task.plant_id == plant.id, Task.completed.is_(False), Task.due_date < today)
        .order_by(Task.due_date)
        .limit(10)
    ).all()
    return build_prompt(plant, summaries, alerts, tasks, now, WINDOW_HOURS)


def readings_summary(plant_id, since, until):
    """Count, min, max, mean and the means of each half of the window, per metric, in one
    aggregate query over the bound devices' (device_id, ts) index."""
    middle = since + (until - since) / 2
    series = plant_readings(db.session, plant_id)
    columns = []
    for metric in KEYS:
        value = series.c[metric]
        columns += [
            func.count(value).label(f"{metric}_count"),
            func.min(value).label(f"{metric}_min"),
            func.max(value).label(f"{metric}_max"),
            func.avg(value).label(f"{metric}_mean"),
            func.avg(case((series.c.ts < middle, value))).label(f"{metric}_first"),
            func.avg(case((series.c.ts >= middle, value))).label(f"{metric}_second"),
        ]
    query = select(*columns).where(series.c.ts >= since, series.c.ts <= until)
    return db.session.execute(query).mappings().one()


def _zone(name):
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return UTC
