"""Alert evaluation: after a batch is stored (the ingest writer) and for silent plants (the stale
check). Both run in their caller's transaction; `notify` queues the messages (app.domain.alerts)."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, select

from ..database import equals_any
from ..models import Alert, Plant
from .alerts import Notify, open_alert, open_alerts_by_plant, resolve_alert
from .readings import newest_rows, plant_readings, recent_values
from .rules import (
    STALE,
    latest_value,
    minutes_silent,
    opening_candidates,
    plant_rules,
    problems_to_resolve,
    should_open,
)
from .status import is_stale
from .types import DbSession


@dataclass(frozen=True)
class AlertPolicy:
    min_readings: int  # this many newest readings past a threshold open an alert
    hysteresis_fraction: float  # of the min..max range a value must be back inside to resolve

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "AlertPolicy":
        return cls(config["ALERT_MIN_READINGS"], config["ALERT_HYSTERESIS_PERCENT"] / 100)


def evaluate_plants(
    session: DbSession, plant_ids: Iterable[int], now: datetime, policy: AlertPolicy, notify: Notify
) -> None:
    """Open or resolve alerts for the plants whose readings were just stored.

    Runs in the writer's transaction after each plant's latest state was
    updated, so alerts, tasks, messages and readings commit together. A healthy
    plant costs no reading query; one with a value past a threshold reads only
    its newest `policy.min_readings` readings.
    """
    ids = sorted(set(plant_ids))
    if not ids:
        return
    open_by_plant = open_alerts_by_plant(session, ids)
    # populate_existing: the writer moves latest state with Core UPDATEs, which a Plant already
    # in the session would not show. Id order, like the writer's row locks, so no deadlock.
    of_ids = equals_any(Plant.id, "plant_ids", ids, Integer, session)
    plants = select(Plant).where(of_ids).order_by(Plant.id).execution_options(populate_existing=True)
    for plant in session.scalars(plants):
        evaluate_plant(session, plant, open_by_plant.get(plant.id, {}), now, policy, notify)


def evaluate_plant(
    session: DbSession, plant: Plant, open_alerts: dict[str, Alert], now: datetime, policy: AlertPolicy, notify: Notify
) -> None:
    rules = plant_rules(plant, policy.hysteresis_fraction)
    by_problem = {rule.problem: rule for rule in rules}
    for problem in problems_to_resolve(plant, rules, open_alerts):
        rule = by_problem.get(problem)  # None when the gardener removed the threshold
        value = latest_value(plant, rule) if rule else None
        resolve_alert(session, open_alerts[problem], value, now, notify)
    if STALE in open_alerts and not is_stale(plant.last_reading_at, plant.stale_after_minutes, now):
        resolve_alert(session, open_alerts[STALE], None, now, notify)
    candidates = opening_candidates(plant, rules, open_alerts)
    if not candidates:
        return
    for rule in candidates:
        if should_open(rule, recent_values(session, plant.id, rule.metric, policy.min_readings), policy.min_readings):
            open_alert(
                session, plant, rule.problem, rule.metric, latest_value(plant, rule), rule.threshold, now, notify
            )


def recent_readings(session: DbSession, plant_id: int, count: int) -> list[Any]:
    """The plant's newest `count` readings (plant_readings rows), newest first."""
    series = plant_readings(session, plant_id)
    return newest_rows(session, select(series).order_by(series.c.ts.desc()), series.c.ts, count)


def stale_changes(session: DbSession, now: datetime) -> list[tuple[int, int | None]]:
    """[(plant_id, open stale alert id or None)] of plants whose stale alert must open or resolve."""
    rows = session.execute(
        select(Plant.id, Plant.last_reading_at, Plant.stale_after_minutes, Alert.id)
        .outerjoin(Alert, and_(Alert.plant_id == Plant.id, Alert.problem == STALE, Alert.resolved_at.is_(None)))
        .where(Plant.last_reading_at.is_not(None))
        .order_by(Plant.id)  # the ingest writer locks plants in id order too
    )
    return [
        (plant_id, alert_id)
        for plant_id, last_reading_at, window, alert_id in rows
        if is_stale(last_reading_at, window, now) != (alert_id is not None)
    ]


def check_stale(session: DbSession, now: datetime, notify: Notify) -> tuple[int, int]:
    """Open stale alerts for silent plants, resolve those whose data returned; returns (opened, resolved)."""
    opened = resolved = 0
    for plant_id, alert_id in stale_changes(session, now):
        if alert_id is None:
            plant = session.get_one(Plant, plant_id)
            assert plant.last_reading_at is not None  # stale_changes picks plants with a reading
            silent = minutes_silent(plant.last_reading_at, now)
            alert = open_alert(session, plant, STALE, None, silent, plant.stale_after_minutes, now, notify)
            opened += alert is not None
        else:
            resolved += resolve_alert(session, session.get_one(Alert, alert_id), None, now, notify)
    return opened, resolved
