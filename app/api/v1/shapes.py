"""The JSON shapes of the contract (docs/contracts.md, JSON API v1), one function per object."""

from datetime import UTC

from ...domain.metrics import KEYS, THRESHOLD_KEYS
from ...domain.status import plant_status


def utc(moment):
    """ISO 8601 in UTC ending in Z, or None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def task_json(task):
    return {
        "id": task.id,
        "title": task.title,
        "description": task.description,
        "completed": task.completed,
        "completed_at": utc(task.completed_at),
        "due_date": task.due_date.isoformat() if task.due_date else None,
        "plant_id": task.plant_id,
        "recurrence_days": task.recurrence_days,
        "created_at": utc(task.created_at),
        "updated_at": utc(task.updated_at),
    }


def reading_json(reading):
    return {"ts": utc(reading.ts), **{metric: getattr(reading, metric) for metric in KEYS}}


LATEST = tuple((metric, f"latest_{metric}") for metric in KEYS)
BOUNDS = tuple((metric, f"{metric}_min", f"{metric}_max") for metric in THRESHOLD_KEYS)


def plant_json(plant, now):
    """`plant` is a Plant or any row with the same columns (the list reads plain rows)."""
    status = plant_status(plant, now)
    latest = None
    if plant.last_reading_at is not None:
        latest = {"ts": utc(plant.last_reading_at)}
        latest.update({metric: getattr(plant, column) for metric, column in LATEST})
    return {
        "id": plant.id,
        "name": plant.name,
        "species": plant.species,
        "location": plant.location,
        "device_id": plant.device_id,
        "thresholds": {
            metric: {"min": getattr(plant, low), "max": getattr(plant, high)} for metric, low, high in BOUNDS
        },
        "stale_after_minutes": plant.stale_after_minutes,
        "status": status.status,
        "problems": list(status.problems),
        "latest": latest,
        "created_at": utc(plant.created_at),
        "updated_at": utc(plant.updated_at),
    }


def alert_json(alert):
    return {
        "id": alert.id,
        "plant_id": alert.plant_id,
        "problem": alert.problem,
        "metric": alert.metric,
        "value": alert.value,
        "threshold": alert.threshold,
        "state": alert.state,
        "opened_at": utc(alert.opened_at),
        "acknowledged_at": utc(alert.acknowledged_at),
        "resolved_at": utc(alert.resolved_at),
    }
