"""Alert evaluation, called by the ingest writer inside the transaction that stored a batch."""

from flask import current_app
from sqlalchemy import select

from ..models import Plant, Reading
from .alerts import open_alert, open_alerts_by_plant, resolve_alert
from .rules import (
    STALE,
    latest_value,
    opening_candidates,
    plant_rules,
    problems_to_resolve,
    should_open,
)
from .status import is_stale


def evaluate_plants(session, plant_ids, now):
    """Open or resolve alerts for the plants whose readings were just stored.

    Runs in the writer's transaction after each plant's latest state was
    updated, so alerts, tasks, messages and readings commit together. A healthy
    plant costs no reading query; one with a value past a threshold reads only
    its newest ALERT_MIN_READINGS readings.
    """
    ids = sorted(set(plant_ids))
    if not ids:
        return
    min_readings = current_app.config["ALERT_MIN_READINGS"]
    fraction = current_app.config["ALERT_HYSTERESIS_PERCENT"] / 100
    open_by_plant = open_alerts_by_plant(session, ids)
    # populate_existing: the writer moves latest state with Core UPDATEs, which a Plant already
    # in the session would not show. Id order, like the writer's row locks, so no deadlock.
    plants = select(Plant).where(Plant.id.in_(ids)).order_by(Plant.id).execution_options(populate_existing=True)
    for plant in session.scalars(plants):
        evaluate_plant(session, plant, open_by_plant.get(plant.id, {}), now, min_readings, fraction)


def evaluate_plant(session, plant, open_alerts, now, min_readings, fraction):
    rules = plant_rules(plant, fraction)
    by_problem = {rule.problem: rule for rule in rules}
    for problem in problems_to_resolve(plant, rules, open_alerts):
        rule = by_problem.get(problem)  # None when the gardener removed the threshold
        value = latest_value(plant, rule) if rule else None
        resolve_alert(session, open_alerts[problem], value, now)
    if STALE in open_alerts and not is_stale(plant.last_reading_at, plant.stale_after_minutes, now):
        resolve_alert(session, open_alerts[STALE], None, now)
    candidates = opening_candidates(plant, rules, open_alerts)
    if not candidates:
        return
    readings = recent_readings(session, plant.id, min_readings)
    for rule in candidates:
        if should_open(rule, [getattr(r, rule.metric) for r in readings], min_readings):
            open_alert(session, plant, rule.problem, rule.metric, latest_value(plant, rule), rule.threshold, now)


def recent_readings(session, plant_id, count):
    """The plant's newest `count` readings, newest first (an index range scan, never history)."""
    query = select(Reading).where(Reading.plant_id == plant_id).order_by(Reading.ts.desc()).limit(count)
    return session.scalars(query).all()
