"""The plants area's selects. User data always starts from `owned(...)` or `owned_statement(...)`."""

import hashlib
from collections import namedtuple
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import Integer, bindparam, cast, exists, func, literal, select

from ..domain.metrics import KEYS, THRESHOLD_KEYS
from ..extensions import db
from ..models import Alert, Plant, Reading, UnclaimedDevice
from ..ownership import owned, owned_statement, owner_params

# The dashboard's age texts and staleness move with the clock: a poll re-renders at
# least once per bucket even when no data changed.
CLOCK_BUCKET_SECONDS = 30


def dialect():
    return db.session.get_bind().dialect.name


def epoch_seconds(column, dialect_name=None, exact=True):
    """Unix seconds of a UTC datetime column, in SQL. PostgreSQL's extract() is an exact
    numeric; `exact=False` asks for a double instead, cheaper to fetch."""
    dialect_name = dialect_name or dialect()
    if dialect_name == "sqlite":
        return (func.julianday(column) - 2440587.5) * 86400.0
    return func.extract("epoch", column) if exact else func.date_part("epoch", column)


def floor_int(expression):
    if dialect() == "sqlite":  # values here are never negative: CAST truncates, which is floor
        return cast(expression, Integer)
    return cast(func.floor(expression), Integer)


def card_columns(dialect_name):
    """What a card shows. The reading time comes as Unix seconds, a plain float: 500 rows
    skip the datetime conversion, and the age and staleness are one subtraction."""
    return (
        Plant.id,
        Plant.name,
        Plant.species,
        Plant.location,
        Plant.device_id,
        Plant.stale_after_minutes,
        epoch_seconds(Plant.last_reading_at, dialect_name, exact=False).label("last_reading_ts"),
        *(getattr(Plant, f"latest_{metric}") for metric in KEYS),
        *(getattr(Plant, f"{metric}_{bound}") for metric in THRESHOLD_KEYS for bound in ("min", "max")),
    )


# Rows as plain named tuples: attribute access is several times cheaper than on a
# SQLAlchemy Row, and they hash, so a card's markup can be cached by its row. The column
# names are the same on every backend.
CardRow = namedtuple("CardRow", [column.key for column in card_columns("sqlite")])


# The dashboard's two statements run on every poll: they are built once per backend
# and filter, and run with the owner and location as parameters.
@cache
def card_statement(dialect_name, by_location):
    return at_location(owned_statement(Plant).with_only_columns(*card_columns(dialect_name)), by_location)


@cache
def version_statement(dialect_name, by_location):
    open_alerts = owned_statement(Alert).with_only_columns(func.count(Alert.id)).where(Alert.state == "open")
    query = owned_statement(Plant).with_only_columns(
        func.count(Plant.id),
        func.coalesce(func.sum(Plant.id), 0),
        func.max(Plant.updated_at),
        func.sum(epoch_seconds(Plant.last_reading_at, dialect_name)),
        open_alerts.scalar_subquery(),
    )
    return at_location(query, by_location)


def at_location(query, by_location):
    """The plants `query` selects, narrowed to one location when the filter asks; its
    value comes from filter_params()."""
    return query.where(Plant.location == bindparam("location")) if by_location else query


def filter_params(location):
    return {**owner_params(), "location": location} if location else owner_params()


def card_rows(location=None):
    """Each plant's latest state: one query, no readings touched."""
    # Core execution: plain tuples, without the ORM's per-row loading machinery.
    result = db.session.connection().execute(card_statement(dialect(), bool(location)), filter_params(location))
    return [CardRow._make(row) for row in result.all()]  # all(): one fetch, cheaper than iterating


def dashboard_version(user_id, filters, now):
    """A short fingerprint of everything the cards show, and the open-alert count, from one
    aggregate query.

    The sum of the reading times changes whenever any plant gets a newer reading,
    even an older one than another plant's latest; count and id sum catch deletes
    and additions, max(updated_at) catches edits. The open-alert count is part of it
    because the fragment also swaps the nav's count.
    """
    location = filters.get("location")
    query = version_statement(dialect(), bool(location))
    row = db.session.connection().execute(query, filter_params(location)).one()
    count, id_sum, updated, reading_sum, alert_count = row
    bucket = int(now.timestamp()) // CLOCK_BUCKET_SECONDS
    key = f"{user_id}|{sorted(filters.items())}|{count}|{id_sum}|{updated}|{reading_sum}|{alert_count}|{bucket}"
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest(), alert_count


def locations():
    query = owned(Plant).with_only_columns(Plant.location).where(Plant.location != "").distinct()
    return sorted(db.session.scalars(query))


def unclaimed_devices(limit=20):
    """Devices that sent readings no plant claims (instance-wide), newest first."""
    claimed = exists().where(Plant.device_id == UnclaimedDevice.device_id)
    query = select(UnclaimedDevice).where(~claimed).order_by(UnclaimedDevice.last_seen_at.desc()).limit(limit)
    return db.session.scalars(query).all()


def open_alerts(plant):
    query = owned(Alert).where(Alert.plant_id == plant.id, Alert.resolved_at.is_(None))
    return db.session.scalars(query.order_by(Alert.opened_at.desc())).all()


def bucketed_readings(plant_id, start, end, buckets):
    """Min/avg/max of every metric per time bucket between `start` and `end`.

    One grouped query over the (plant_id, ts) index: at most `buckets` rows come
    back, whatever the number of readings in the window. Returns
    [(bucket_index, {metric: (min, avg, max)})].
    """
    width = (end - start).total_seconds() / buckets
    offset = epoch_seconds(Reading.ts) - literal(start.timestamp())
    bucket = floor_int(offset / width).label("bucket")
    aggregates = []
    for metric in KEYS:
        column = getattr(Reading, metric)
        aggregates += [func.min(column), func.avg(column), func.max(column)]
    query = (
        select(bucket, *aggregates)
        .where(Reading.plant_id == plant_id, Reading.ts >= start, Reading.ts < end)
        .group_by(bucket)
        .order_by(bucket)
    )
    series = []
    for row in db.session.execute(query):
        index = min(int(row[0]), buckets - 1)
        values = {metric: tuple(row[1 + 3 * i : 4 + 3 * i]) for i, metric in enumerate(KEYS)}
        series.append((index, values))
    return series


def reading_rows(plant_id, start=None, end=None, batch=2000):
    """Readings oldest first, fetched `batch` rows at a time (a server-side cursor on
    PostgreSQL), so memory stays flat however many there are."""
    query = select(Reading.ts, *(getattr(Reading, metric) for metric in KEYS)).where(Reading.plant_id == plant_id)
    if start is not None:
        query = query.where(Reading.ts >= start)
    if end is not None:
        query = query.where(Reading.ts < end)
    result = db.session.execute(query.order_by(Reading.ts).execution_options(yield_per=batch))
    try:
        yield from result
    finally:
        result.close()  # also when the download is cut short: frees the server-side cursor


def utc_now():
    return datetime.now(UTC)
