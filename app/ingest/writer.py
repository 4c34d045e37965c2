"""The batch writer: parsed MQTT messages -> one transaction per batch -> acknowledgements.

A batch closes at BATCH_READINGS readings or BATCH_SECONDS after its first
message, whichever comes first. Its transaction stores the readings (a
redelivered (device, ts) is skipped by ON CONFLICT DO NOTHING), moves each
affected plant's latest state forward, records unclaimed devices and rejection
counts and evaluates alerts. Only after the commit are the batch's MQTT
messages acknowledged, so the broker keeps every message whose readings are
not safely stored. A failing database keeps the batch and retries it with
backoff; meanwhile the bounded queue fills and the broker holds the rest.
"""

import logging
import queue
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC

from sqlalchemy import Float, String, bindparam, func, or_, select, text, update

from .. import database
from ..alerts.evaluation import evaluate_plants
from ..clock import utcnow
from ..domain.metrics import KEYS as METRICS
from ..extensions import db
from ..models import IngestRejection, Plant, Reading, UnclaimedDevice

log = logging.getLogger(__name__)

BATCH_READINGS = 500
BATCH_SECONDS = 0.2
RETRY_FIRST_DELAY = 0.2
RETRY_MAX_DELAY = 5.0
LOG_EVERY_SECONDS = 60.0


@dataclass
class Delivery:
    """One MQTT message as the consumer callback parsed it."""

    topic: str
    mid: int
    qos: int
    generation: int  # the broker session it came in on; acks are only valid there
    result: object  # payload.ParseResult
    received_monotonic: float
    namespace: str = ""  # "" for the shared topics, else the username of a per-user prefix
    source: str = "native"  # the adapter's kind (app/domain/sources)


@dataclass
class BatchOutcome:
    stored: int = 0
    duplicates: int = 0
    unclaimed: dict = field(default_factory=dict)  # device_id -> readings dropped
    rejections: Counter = field(default_factory=Counter)
    plant_ids: list = field(default_factory=list)


def store_batch(session, deliveries, now):
    """Write one batch in the session's current transaction (the caller commits)."""
    readings = [reading for d in deliveries for reading in d.result.readings]
    outcome = BatchOutcome()
    for delivery in deliveries:
        outcome.rejections.update(delivery.result.rejections)

    plants = claimed_plants(session, {r.device_id for r in readings})
    rows, by_plant = [], defaultdict(list)
    for reading in readings:
        plant = plants.get(reading.device_id)
        if plant is None:
            outcome.unclaimed[reading.device_id] = outcome.unclaimed.get(reading.device_id, 0) + 1
            continue
        rows.append(reading_row(plant.id, reading))
        by_plant[plant].append(reading)

    if rows:
        outcome.stored = insert_readings(session, rows)
        outcome.duplicates = len(rows) - outcome.stored
    advance_latest_states(session, by_plant)
    if outcome.unclaimed:
        outcome.rejections["unclaimed_device"] += sum(outcome.unclaimed.values())
        messages = Counter(d.result.device_id for d in deliveries if d.result.device_id in outcome.unclaimed)
        record_unclaimed(session, messages, now)
    if outcome.rejections:
        record_rejections(session, outcome.rejections, now)
    outcome.plant_ids = sorted(plant.id for plant in by_plant)
    evaluate_plants(session, outcome.plant_ids, now)
    return outcome


def claimed_plants(session, device_ids):
    """device_id -> (id, last_reading_at) of the plants claiming these devices.

    On PostgreSQL the rows stay locked until commit (in id order, so two writers
    never deadlock), so concurrent batches move a plant's latest state in turn.
    """
    if not device_ids:
        return {}
    claimed = database.equals_any(Plant.device_id, "device_ids", sorted(device_ids), String, session)
    query = select(Plant.id, Plant.device_id, Plant.last_reading_at).where(claimed).order_by(Plant.id)
    return {row.device_id: row for row in session.execute(query.with_for_update())}


def reading_row(plant_id, reading):
    row = {"plant_id": plant_id, "device_id": reading.device_id, "ts": reading.ts}
    row.update({metric: reading.values.get(metric) for metric in METRICS})
    return row


READING_COLUMNS = ("plant_id", "device_id", "ts", *METRICS)

# PostgreSQL takes a whole batch as one array per column: one short statement, parsed once.
PG_INSERT_READINGS = text(
    f"INSERT INTO readings ({', '.join(READING_COLUMNS)}) "
    "SELECT * FROM unnest(CAST(:plant_id AS integer[]), CAST(:device_id AS varchar[]), CAST(:ts AS timestamp[]), "
    + ", ".join(f"CAST(:{metric} AS double precision[])" for metric in METRICS)
    + ") ON CONFLICT (device_id, ts) DO NOTHING RETURNING id"
)


def insert_readings(session, rows):
    """Insert, skipping (device, ts) pairs already stored; returns how many were new."""
    if database.is_postgresql(session):
        columns = {name: [row[name] for row in rows] for name in READING_COLUMNS}
        # Stored as UTCDateTime stores it: naive UTC.
        columns["ts"] = [ts.astimezone(UTC).replace(tzinfo=None) for ts in columns["ts"]]
        return len(session.execute(PG_INSERT_READINGS, columns).all())
    table = Reading.__table__
    statement = (
        database.insert(session, table).on_conflict_do_nothing(index_elements=["device_id", "ts"]).returning(table.c.id)
    )
    return len(session.execute(statement, rows).all())


def latest_state_statement():
    """One UPDATE for every plant of a batch (executemany), moving forward in time only.

    A metric the batch did not report (NULL) keeps the plant's previous value.
    """
    plants = Plant.__table__
    values = {"last_reading_at": bindparam("p_ts"), "updated_at": plants.c.updated_at}
    for metric in METRICS:
        column = plants.c[f"latest_{metric}"]
        values[column.name] = func.coalesce(bindparam(f"p_{metric}", type_=Float), column)
    newer = or_(plants.c.last_reading_at.is_(None), plants.c.last_reading_at < bindparam("p_ts"))
    return update(plants).where(plants.c.id == bindparam("p_id"), newer).values(values)


LATEST_STATE = latest_state_statement()

PG_LATEST_STATE = text(
    "UPDATE plants SET last_reading_at = v.ts, "
    + ", ".join(f"latest_{m} = COALESCE(v.{m}, plants.latest_{m})" for m in METRICS)
    + " FROM unnest(CAST(:p_id AS integer[]), CAST(:p_ts AS timestamp[]), "
    + ", ".join(f"CAST(:p_{m} AS double precision[])" for m in METRICS)
    + f") AS v(id, ts, {', '.join(METRICS)}) "
    "WHERE plants.id = v.id AND (plants.last_reading_at IS NULL OR plants.last_reading_at < v.ts)"
)


def advance_latest_states(session, readings_by_plant):
    """Move each plant's latest state to the newest of its readings, never backwards.

    Each metric takes its newest value among the readings newer than the stored
    state, so a reading that carries only the battery keeps the other metrics.
    """
    rows = []
    for plant, readings in readings_by_plant.items():
        newer = sorted(
            (r for r in readings if plant.last_reading_at is None or r.ts > plant.last_reading_at),
            key=lambda r: r.ts,
        )
        if not newer:
            continue
        row = {"p_id": plant.id, "p_ts": newer[-1].ts, **{f"p_{metric}": None for metric in METRICS}}
        for reading in newer:
            row.update({f"p_{metric}": value for metric, value in reading.values.items()})
        rows.append(row)
    if not rows:
        return
    if database.is_postgresql(session):
        columns = {name: [row[name] for row in rows] for name in rows[0]}
        columns["p_ts"] = [ts.astimezone(UTC).replace(tzinfo=None) for ts in columns["p_ts"]]
        session.execute(PG_LATEST_STATE, columns)
    else:
        session.execute(LATEST_STATE, rows)


def record_unclaimed(session, messages, now):
    """Upsert the devices no plant claims, with how many messages each sent."""
    statement = database.insert(session, UnclaimedDevice)
    statement = statement.on_conflict_do_update(
        index_elements=["device_id"],
        set_={
            "last_seen_at": statement.excluded.last_seen_at,
            "message_count": UnclaimedDevice.message_count + statement.excluded.message_count,
        },
    )
    rows = [
        {"device_id": device, "first_seen_at": now, "last_seen_at": now, "message_count": count}
        for device, count in sorted(messages.items())
    ]
    session.execute(statement, rows)


def record_rejections(session, rejections, now):
    statement = database.insert(session, IngestRejection)
    statement = statement.on_conflict_do_update(
        index_elements=["reason"],
        set_={"count": IngestRejection.count + statement.excluded.count, "last_at": statement.excluded.last_at},
    )
    rows = [{"reason": reason, "count": count, "last_at": now} for reason, count in sorted(rejections.items())]
    session.execute(statement, rows)


class OncePerMinute:
    """Says whether a key may be logged now: once per key per minute."""

    def __init__(self, seconds=LOG_EVERY_SECONDS, clock=time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self.last = {}

    def __call__(self, key):
        now = self.clock()
        if now - self.last.get(key, -self.seconds) < self.seconds:
            return False
        if len(self.last) > 10_000:
            self.last = {k: t for k, t in self.last.items() if now - t < self.seconds}
        self.last[key] = now
        return True


class BatchWriter(threading.Thread):
    """Takes deliveries off `inbox`, stores them in batches, then calls `acknowledge(deliveries)`."""

    def __init__(self, app, inbox, acknowledge, state):
        super().__init__(name="plantops-ingest-writer", daemon=True)
        self.app = app
        self.inbox = inbox
        self.acknowledge = acknowledge
        self.state = state
        self.stopping = threading.Event()
        self.drain_deadline = None
        self.may_log = OncePerMinute()

    def stop(self, timeout):
        """Store what is queued (for at most `timeout` seconds), then end."""
        self.drain_deadline = time.monotonic() + timeout
        self.stopping.set()
        self.join(timeout + 1)

    def run(self):
        with self.app.app_context():
            while True:
                batch = self.next_batch()
                if batch:
                    self.write_until_committed(batch)
                elif self.stopping.is_set():
                    return

    def next_batch(self):
        try:
            first = self.inbox.get(timeout=BATCH_SECONDS)
        except queue.Empty:
            return []
        batch, count = [first], len(first.result.readings)
        closes_at = time.monotonic() + BATCH_SECONDS
        while count < BATCH_READINGS:
            try:
                delivery = self.inbox.get(timeout=max(0.0, closes_at - time.monotonic()))
            except queue.Empty:
                break
            batch.append(delivery)
            count += len(delivery.result.readings)
        return batch

    def write_until_committed(self, batch):
        delay = RETRY_FIRST_DELAY
        while True:
            try:
                outcome = self.write(batch)
            except Exception:
                db.session.rollback()
                db.session.close()
                if self.may_log("database"):
                    log.exception("ingest: storing a batch of %d message(s) failed; retrying", len(batch))
                if self.stopping.is_set() and time.monotonic() > self.drain_deadline:
                    log.warning("ingest: stopping with %d unstored message(s); the broker redelivers them", len(batch))
                    return
                time.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_DELAY)
                continue
            self.acknowledge(batch)
            self.report(batch, outcome)
            return

    def write(self, batch):
        now = utcnow()
        try:
            outcome = store_batch(db.session, batch, now)
            db.session.commit()
        finally:
            db.session.close()
        return outcome

    def report(self, batch, outcome):
        with self.state.lock:
            self.state.stored += outcome.stored
            self.state.duplicates += outcome.duplicates
            self.state.rejected.update(outcome.rejections)
            self.state.batches += 1
        for delivery in batch:
            self.log_rejections(delivery)
        for device, count in outcome.unclaimed.items():
            if self.may_log(("unclaimed", device)):
                log.warning("ingest: device %s is claimed by no plant; dropped %d reading(s)", device, count)

    def log_rejections(self, delivery):
        result = delivery.result
        if not result.rejections:
            return
        device = result.device_id
        if not self.may_log(("rejected", device)):
            return
        reasons = ", ".join(f"{reason} x{count}" for reason, count in sorted(result.rejections.items()))
        if device is None:
            log.warning("ingest: dropped a message on topic %.100r: %s", delivery.topic, reasons)
        else:
            log.warning("ingest: dropped reading(s) from device %s: %s", device, reasons)
