"""The domain's alert evaluation bound to the app: the policy from its configuration, and the
Discord outbox as what hears of each opened and resolved alert."""

from collections.abc import Iterable
from datetime import datetime

from flask import current_app

from ..domain import evaluate
from ..domain.types import DbSession
from .messages import enqueue


def evaluate_plants(session: DbSession, plant_ids: Iterable[int], now: datetime) -> None:
    """app.domain.evaluate.evaluate_plants in the writer's transaction, inside an app context."""
    evaluate.evaluate_plants(session, plant_ids, now, evaluate.AlertPolicy.from_config(current_app.config), enqueue)


def check_stale(session: DbSession, now: datetime) -> tuple[int, int]:
    return evaluate.check_stale(session, now, enqueue)
