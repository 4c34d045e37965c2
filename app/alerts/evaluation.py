"""The domain's alert evaluation bound to the app: the policy from its configuration, and the
Discord outbox as what hears of each opened and resolved alert."""

from collections.abc import Iterable
from datetime import datetime

from flask import current_app

from ..domain import evaluate
from ..domain.types import DbSession
from .messages import enqueue

# Work that follows each stored batch in the same transaction, registered by the areas
# that need it (app.care: watering detected from the soil): hook(session, plant_ids, now).
AFTER_BATCH = "plantops.after_batch"
# Work of each round of the periodic check (app.care: daily light): (pending, run) pairs, where
# pending(session, now) -> bool only reads, and run(session, now, notify) -> changes writes.
PERIODIC = "plantops.periodic"


def evaluate_plants(session: DbSession, plant_ids: Iterable[int], now: datetime) -> None:
    """app.domain.evaluate.evaluate_plants in the writer's transaction, inside an app context,
    then the AFTER_BATCH hooks."""
    plant_ids = list(plant_ids)
    evaluate.evaluate_plants(session, plant_ids, now, evaluate.AlertPolicy.from_config(current_app.config), enqueue)
    for hook in current_app.extensions.get(AFTER_BATCH, ()):
        hook(session, plant_ids, now)


def periodic_pending(session: DbSession, now: datetime) -> bool:
    """Whether a PERIODIC hook has work (reads only, so the caller can stay read-only)."""
    return any(pending(session, now) for pending, _run in current_app.extensions.get(PERIODIC, ()))


def periodic(session: DbSession, now: datetime) -> int:
    """The PERIODIC hooks' work in the caller's transaction; how many changes they made."""
    return sum(run(session, now, enqueue) for _pending, run in current_app.extensions.get(PERIODIC, ()))


def check_stale(session: DbSession, now: datetime) -> tuple[int, int]:
    return evaluate.check_stale(session, now, enqueue)
