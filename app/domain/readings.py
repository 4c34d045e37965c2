"""A plant's readings: each metric from the device bound for it (docs/contracts.md, "Devices").

Readings belong to devices; a plant reads through `plant_readings`, whose columns are
`ts`, `device_id` and one per registry metric, each taken only from the device bound for
that metric (NULL in another device's rows). Charts, the CSV, the API, the advice summary,
alert evaluation and the rollups read a plant's series through it; the ingest writer's watering
detection reads one metric of all a batch's plants at once through `metric_series_of_plants`.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Float, Integer, Select, Subquery, case, cast, false, func, null, select

from ..clock import utcnow
from ..database import equals_any
from ..models import PlantSensor, Reading, ReadingHourly
from .devices import plant_bindings
from .metrics import KEYS
from .types import DbSession

# The newest readings are looked for in this window around now first. On PostgreSQL, where
# readings are partitioned by month, a query bounded on both sides reads only the one or two
# partitions of the window; an unbounded "ORDER BY ts DESC LIMIT n" would open every month's
# (and the default partition's) index. Only when the window holds too few is all history read.
RECENT_BEFORE = timedelta(days=7)
RECENT_AFTER = timedelta(days=1)  # the ingest accepts readings up to 5 minutes ahead


def newest_rows(session: DbSession, query: Select[Any], ts: Any, count: int) -> list[Any]:
    """The first `count` rows of `query` (ordered newest first on `ts`), the recent window first."""
    now = utcnow()
    rows = list(session.execute(query.where(ts >= now - RECENT_BEFORE, ts < now + RECENT_AFTER).limit(count)).all())
    if len(rows) < count:
        rows = list(session.execute(query.limit(count)).all())
    return rows


def metric_columns(table: Any, bindings: dict[str, int]) -> list[Any]:
    """One column per metric of `table` (readings or its like), each only where the row's
    device is the one bound for it."""
    devices = set(bindings.values())
    columns = []
    for metric in KEYS:
        device_id = bindings.get(metric)
        column = table.c[metric]
        if device_id is None:
            # A typed NULL: PostgreSQL sends an untyped literal NULL back as text (oid 25)
            expression: Any = cast(null(), Float)
        elif len(devices) == 1:
            expression = column
        else:
            expression = case((table.c.device_id == device_id, column))
        columns.append(expression.label(metric))
    return columns


def series_from(table: Any, bindings: dict[str, int], time_column: str = "ts") -> Any:
    """A select over `table` (readings) of the bound devices' rows: ts, device_id, metrics."""
    devices = sorted(set(bindings.values()))
    where = table.c.device_id.in_(devices) if devices else false()
    return select(table.c[time_column].label(time_column), table.c.device_id, *metric_columns(table, bindings)).where(
        where
    )


def plant_readings(session: DbSession, plant_id: int, bindings: dict[str, int] | None = None) -> Subquery:
    """The plant's readings as a subquery: `ts`, `device_id`, and one column per metric from
    the device bound for it. Filter on `.c.ts` (the (device_id, ts) index serves it).
    `bindings` ({metric: device id}) saves the lookup when the caller has them."""
    if bindings is None:
        bindings = plant_bindings(session, plant_id)
    series: Subquery = series_from(Reading.__table__, bindings).subquery("plant_readings")
    return series


def metric_series_of_plants(
    session: DbSession,
    metric: str,
    windows: dict[int, tuple[datetime, datetime]],
    bound: list[tuple[int, int]] | None = None,
) -> dict[int, list[tuple[datetime, float]]]:
    """plant id -> [(ts, value)] of `metric` from the device bound for it, ts in the plant's
    [start, end), oldest first, rows without the metric skipped: what plant_readings gives one
    plant, for many plants in a query or two (the ingest writer's after-batch work: per batch, not per plant).
    `bound` ([(plant id, device id)] bound for `metric`) saves the lookup when the caller has them."""
    if not windows:
        return {}
    if bound is None:
        bound = bound_for_metric(session, metric, windows)
    series: dict[int, list[tuple[datetime, float]]] = {plant_id: [] for plant_id in windows}
    column = Reading.__table__.c[metric]
    by_device: dict[int, dict[datetime, float]] = {}  # a device in two groups: its rows once
    for devices, start, end in window_groups(bound, windows):
        query = (
            select(Reading.device_id, Reading.ts, column)
            .where(
                equals_any(Reading.device_id, "devices", devices, Integer, session),
                Reading.ts >= start,
                Reading.ts < end,
                column.is_not(None),
            )
            .order_by(Reading.device_id, Reading.ts)
        )
        for device_id, ts, value in session.execute(query).tuples():
            by_device.setdefault(device_id, {})[ts] = value
    for plant_id, device_id in bound:
        start, end = windows[plant_id]
        rows = by_device.get(device_id, {})
        series[plant_id] = [(ts, rows[ts]) for ts in sorted(rows) if start <= ts < end]
    return series


def metric_spread_of_plants(
    session: DbSession, metric: str, windows: dict[int, tuple[datetime, datetime]], bound: list[tuple[int, int]]
) -> dict[int, float]:
    """plant id -> highest minus lowest value of `metric` from its bound device (`bound`:
    [(plant id, device id)]) within at least its window (the group's span, which holds it);
    plants without a value are left out. One aggregate row per device instead of its series:
    what tells the watering detection which plants cannot have risen at all."""
    column = Reading.__table__.c[metric]
    spread: dict[int, float] = {}  # device id -> max - min, the widest over its groups
    for devices, start, end in window_groups(bound, windows):
        query = (
            select(Reading.device_id, func.max(column) - func.min(column))
            .where(
                equals_any(Reading.device_id, "devices", devices, Integer, session),
                Reading.ts >= start,
                Reading.ts < end,
                column.is_not(None),
            )
            .group_by(Reading.device_id)
        )
        for device_id, width in session.execute(query).tuples():
            spread[device_id] = max(width, spread.get(device_id, width))
    return {plant_id: spread[device_id] for plant_id, device_id in bound if device_id in spread}


def bound_for_metric(session: DbSession, metric: str, plant_ids: Iterable[int]) -> list[tuple[int, int]]:
    """[(plant id, device id)] of the plants' devices bound for `metric`."""
    query = select(PlantSensor.plant_id, PlantSensor.device_id).where(
        PlantSensor.metric == metric, PlantSensor.plant_id.in_(sorted(plant_ids))
    )
    return [(plant_id, device_id) for plant_id, device_id in session.execute(query).tuples()]


def window_groups(
    bound: list[tuple[int, int]], windows: dict[int, tuple[datetime, datetime]]
) -> list[tuple[list[int], datetime, datetime]]:
    """(device ids, start, end) per group of the plants' windows that lie close together (a
    batch's plants, as a rule, all end near now): one query each, of one statement shape, cached."""
    if not bound:
        return []
    span = 2 * max(end - start for start, end in windows.values())
    groups: list[list[tuple[int, int]]] = []
    for row in sorted(bound, key=lambda row: windows[row[0]][0]):
        if groups and windows[row[0]][1] - windows[groups[-1][0][0]][0] <= span:
            groups[-1].append(row)
        else:
            groups.append([row])
    return [
        (
            sorted({device_id for _plant_id, device_id in group}),
            min(windows[plant_id][0] for plant_id, _device_id in group),
            max(windows[plant_id][1] for plant_id, _device_id in group),
        )
        for group in groups
    ]


def bound_device_ids(session: DbSession, plant_id: int) -> list[int]:
    return sorted(set(plant_bindings(session, plant_id).values()))


def recent_values(session: DbSession, plant_id: int, metric: str, count: int) -> list[float]:
    """The newest `count` values of `metric` from the device bound for it, newest first."""
    device_id = plant_bindings(session, plant_id).get(metric)
    if device_id is None:
        return []
    column = getattr(Reading, metric)
    query = select(column).where(Reading.device_id == device_id, column.is_not(None)).order_by(Reading.ts.desc())
    return [row[0] for row in newest_rows(session, query, Reading.ts, count)]


def rollup_rows(bindings: dict[str, int]) -> Any:
    """The bound devices' hourly rollup rows: hour, device_id, stats, count."""
    devices = sorted(set(bindings.values()))
    table = ReadingHourly.__table__
    return select(table.c.hour, table.c.device_id, table.c.stats, table.c.count).where(
        table.c.device_id.in_(devices) if devices else false()
    )
