"""The plants area's selects. User data always starts from `visible(...)` or `visible_statement(...)`."""

import hashlib
from collections import namedtuple
from collections.abc import Generator
from datetime import datetime, timedelta
from functools import cache
from typing import NamedTuple

from sqlalchemy import bindparam, case, exists, func, literal, select

from .. import database
from ..clock import utcnow
from ..domain.devices import plant_bindings, primary_device_key_of, visible_devices
from ..domain.metrics import KEYS, THRESHOLD_KEYS
from ..domain.readings import plant_readings
from ..extensions import db
from ..models import Alert, Device, Plant, PlantSensor, ReadingHourly
from ..ownership import viewer_params, visible, visible_statement
from ..retention import hourly_series

# The dashboard's age texts and staleness move with the clock: a poll re-renders at
# least once per bucket even when no data changed.
CLOCK_BUCKET_SECONDS = 30


def dialect():
    return database.dialect_name(db.session)


def card_columns(dialect_name):
    """What a card shows. The reading time comes as Unix seconds, a plain float: 500 rows
    skip the datetime conversion, and the age and staleness are one subtraction."""
    return (
        Plant.id,
        Plant.name,
        Plant.species,
        Plant.location,
        # Shown only while a plant waits for its first reading: looked up for those alone.
        case((Plant.last_reading_at.is_(None), primary_device_key_of(Plant.id))).label("device_id"),
        Plant.stale_after_minutes,
        database.epoch_seconds(Plant.last_reading_at, dialect_name, exact=False).label("last_reading_ts"),
        *(getattr(Plant, f"latest_{metric}") for metric in KEYS),
        *(getattr(Plant, f"{metric}_{bound}") for metric in THRESHOLD_KEYS for bound in ("min", "max")),
    )


# Rows as plain named tuples: attribute access is several times cheaper than on a
# SQLAlchemy Row, and they hash, so a card's markup can be cached by its row. The column
# names are the same on every backend.
CardRow = namedtuple("CardRow", [column.key for column in card_columns(database.SQLITE)])


# The dashboard's two statements run on every poll: they are built once per backend
# and filter, and run with the viewer, the moment and the location as parameters.
@cache
def card_statement(dialect_name, by_location):
    return at_location(visible_statement(Plant).with_only_columns(*card_columns(dialect_name)), by_location)


@cache
def fingerprint_statement(dialect_name, by_location):
    open_alerts = visible_statement(Alert).with_only_columns(func.count(Alert.id)).where(Alert.state == "open")
    query = visible_statement(Plant).with_only_columns(
        func.count(Plant.id),
        func.coalesce(func.sum(Plant.id), 0),
        func.max(Plant.updated_at),
        func.sum(database.epoch_seconds(Plant.last_reading_at, dialect_name)),
        open_alerts.scalar_subquery(),
    )
    return at_location(query, by_location)


def at_location(query, by_location):
    """The plants `query` selects, narrowed to one location when the filter asks; its
    value comes from filter_params()."""
    return query.where(Plant.location == bindparam("location")) if by_location else query


def filter_params(location):
    return {**viewer_params(), "location": location} if location else viewer_params()


def card_rows(location=None):
    """Each plant's latest state: one query, no readings touched."""
    # Core execution: plain tuples, without the ORM's per-row loading machinery.
    result = db.session.connection().execute(card_statement(dialect(), bool(location)), filter_params(location))
    return [CardRow._make(row) for row in result.all()]  # all(): one fetch, cheaper than iterating


class PlantsFingerprint(NamedTuple):
    """`token` changes whenever anything a list of the user's plants shows changes."""

    token: str
    open_alerts: int


def plants_fingerprint(location: str | None = None) -> PlantsFingerprint:
    """The one change fingerprint of the current user's plants (the dashboard's ETag, the
    API list's cache), and their open-alert count, from one aggregate query.

    The sum of the reading times changes whenever any plant gets a newer reading,
    even an older one than another plant's latest; count and id sum catch deletes
    and additions, max(updated_at) catches edits. The open-alert count is part of it
    because the dashboard fragment also swaps the nav's count.
    """
    params = filter_params(location)
    row = db.session.connection().execute(fingerprint_statement(dialect(), bool(location)), params).one()
    # The moment only decides whose membership has ended: the rows it selects say that already.
    key = "|".join(map(str, (*(v for k, v in params.items() if k != "viewed_at"), *row)))
    return PlantsFingerprint(hashlib.blake2b(key.encode(), digest_size=8).hexdigest(), row[-1])


def dashboard_etag(fingerprint: PlantsFingerprint, filters: dict, now: datetime) -> str:
    """The dashboard fragment's entity tag: the plants, the filters, and the clock bucket
    (age texts and staleness move with the clock alone)."""
    bucket = int(now.timestamp()) // CLOCK_BUCKET_SECONDS
    key = f"{fingerprint.token}|{sorted(filters.items())}|{bucket}"
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


def locations():
    query = visible(Plant).with_only_columns(Plant.location).where(Plant.location != "").distinct()
    return sorted(db.session.scalars(query))


def unused_devices(user, limit=20):
    """The devices `user` may bind that no plant uses yet (administrators: with the discovered
    ones), most recently heard first."""
    used = exists().where(PlantSensor.device_id == Device.id)
    query = visible_devices(db.session, user, "edit").where(~used).order_by(None)
    query = query.order_by(Device.last_seen_at.desc().nulls_last(), Device.id.desc()).limit(limit)
    return db.session.scalars(query).all()


def open_alerts(plant):
    query = visible(Alert).where(Alert.plant_id == plant.id, Alert.resolved_at.is_(None))
    return db.session.scalars(query.order_by(Alert.opened_at.desc())).all()


def bucketed_readings(plant_id, start, end, buckets):
    """Min/avg/max of every metric per time bucket between `start` and `end`.

    One grouped query over the (device_id, ts) index of the bound devices: at most `buckets` rows come
    back, whatever the number of readings in the window. Returns
    [(bucket_index, {metric: (min, avg, max)})].
    """
    width = (end - start).total_seconds() / buckets
    series = plant_readings(db.session, plant_id)
    bucket = bucket_index(series.c.ts, start, width)
    aggregates = []
    for metric in KEYS:
        column = series.c[metric]
        aggregates += [func.min(column), func.avg(column), func.max(column)]
    query = select(bucket, *aggregates).where(series.c.ts >= start, series.c.ts < end).group_by(bucket).order_by(bucket)
    series = []
    for row in db.session.execute(query):
        index = min(int(row[0]), buckets - 1)
        values = {metric: tuple(row[1 + 3 * i : 4 + 3 * i]) for i, metric in enumerate(KEYS)}
        series.append((index, values))
    return series


def bucketed_rollups(plant_id: int, start: datetime, end: datetime, buckets: int) -> list[tuple[int, dict]]:
    """`bucketed_readings` for long ranges, from the hourly rollups (`readings_hourly`):
    min of the minimums, max of the maximums, mean weighted by each hour's count.

    Hours after the newest rollup (the hourly rollup keeps that to about an hour)
    come from the raw readings on the same bucket grid. Three queries and at most
    2 × `buckets` rows, however long the range and however many readings it held;
    the rollups outlive the raw readings, so a year's chart survives retention.
    """
    width = (end - start).total_seconds() / buckets
    bindings = plant_bindings(db.session, plant_id)
    devices = sorted(set(bindings.values())) or [-1]
    newest = db.session.scalar(
        select(func.min(ReadingHourly.hour)).where(
            ReadingHourly.hour.in_(
                select(func.max(ReadingHourly.hour))
                .where(ReadingHourly.device_id.in_(devices), ReadingHourly.hour < end)
                .group_by(ReadingHourly.device_id)
            )
        )
    )  # the oldest of the bound devices' newest rollups: later hours come from the raw readings
    tail_start = start if newest is None else max(start, newest + timedelta(hours=1))
    sums: dict[int, list[list]] = {}  # bucket index -> [[low, high, total, count] per metric]
    if newest is not None and newest >= start:
        rows = db.session.execute(rollup_buckets_query(bindings, start, tail_start, start, width))
        add_bucket_sums(sums, rows, buckets)
    if tail_start < end:
        add_bucket_sums(sums, db.session.execute(raw_buckets_query(bindings, tail_start, end, start, width)), buckets)
    series = []
    for index in sorted(sums):
        values = {}
        for metric, (low, high, total, count) in zip(KEYS, sums[index], strict=True):
            values[metric] = (low, total / count if count else None, high)
        series.append((index, values))
    return series


def bucket_index(column, origin, width):
    offset = database.epoch_seconds(column, dialect()) - literal(origin.timestamp())
    return database.floor_int(offset / width, dialect()).label("bucket")


def rollup_buckets_query(bindings, since, until, origin, width):
    """Per bucket and metric: min, max, sum of mean × count, and count of the rolled-up hours,
    each metric from the rollups of the device bound for it."""
    stats_column = database.parsed_json(ReadingHourly.stats, dialect())
    devices = sorted(set(bindings.values())) or [-1]
    rows = (
        select(ReadingHourly.hour, ReadingHourly.device_id, stats_column.label("stats"))
        .where(ReadingHourly.device_id.in_(devices), ReadingHourly.hour >= since, ReadingHourly.hour < until)
        .cte("hours")
        .prefix_with("MATERIALIZED")
    )
    stats = rows.c.stats
    bucket = bucket_index(rows.c.hour, origin, width)

    def of_bound(metric, expression):
        device_id = bindings.get(metric)
        if device_id is None:
            return literal(None)
        return expression if len(devices) == 1 else case((rows.c.device_id == device_id, expression))

    aggregates = []
    for metric in KEYS:
        count = of_bound(metric, stats[(metric, "count")].as_integer())
        aggregates += [
            func.min(of_bound(metric, stats[(metric, "min")].as_float())),
            func.max(of_bound(metric, stats[(metric, "max")].as_float())),
            func.sum(of_bound(metric, stats[(metric, "mean")].as_float() * stats[(metric, "count")].as_integer())),
            func.sum(count),
        ]
    return select(bucket, *aggregates).group_by(bucket)


def raw_buckets_query(bindings, since, until, origin, width):
    """The same columns as `rollup_buckets_query`, from raw readings."""
    series = plant_readings(db.session, 0, bindings)
    bucket = bucket_index(series.c.ts, origin, width)
    aggregates = []
    for metric in KEYS:
        column = series.c[metric]
        aggregates += [func.min(column), func.max(column), func.sum(column), func.count(column)]
    return select(bucket, *aggregates).where(series.c.ts >= since, series.c.ts < until).group_by(bucket)


def add_bucket_sums(sums, rows, buckets):
    """Fold rows of (bucket, then low, high, total, count per metric) into `sums`."""
    for row in rows:
        index = min(max(int(row[0]), 0), buckets - 1)
        into = sums.setdefault(index, [[None, None, 0.0, 0] for _ in KEYS])
        for i, entry in enumerate(into):
            low, high, total, count = row[1 + 4 * i : 5 + 4 * i]
            if not count:
                continue
            entry[0] = low if entry[0] is None else min(entry[0], low)
            entry[1] = high if entry[1] is None else max(entry[1], high)
            entry[2] += float(total)
            entry[3] += int(count)


def reading_rows(plant_id, start=None, end=None, batch=2000):
    """Readings oldest first, fetched `batch` rows at a time (a server-side cursor on
    PostgreSQL), so memory stays flat however many there are."""
    series = plant_readings(db.session, plant_id)
    query = select(series.c.ts, *(series.c[metric] for metric in KEYS))
    if start is not None:
        query = query.where(series.c.ts >= start)
    if end is not None:
        query = query.where(series.c.ts < end)
    result = db.session.execute(query.order_by(series.c.ts).execution_options(yield_per=batch))
    try:
        yield from result
    finally:
        result.close()  # also when the download is cut short: frees the server-side cursor


HOURLY_STATS = ("min", "mean", "max")


def hourly_rows(plant_id: int, start: datetime, end: datetime) -> Generator[tuple, None, None]:
    """A plant's hourly summary in [start, end), oldest first: (hour, readings, then min,
    mean and max of each metric). Two queries and 24 rows a day, from the rollups plus
    the hours not rolled up yet."""
    for point in hourly_series(plant_id, start, end, db.session):
        yield (point.hour, point.count, *(point.stats.get(m, {}).get(stat) for m in KEYS for stat in HOURLY_STATS))


def utc_now():
    return utcnow()
