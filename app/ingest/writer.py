"""The batch writer: parsed MQTT messages -> one transaction per batch -> acknowledgements.

A batch closes at BATCH_READINGS readings or BATCH_SECONDS after its first
message, whichever comes first. Its transaction upserts the batch's devices
(by namespace and key) with their diagnostics, stores their readings (a
redelivered (device, ts) is skipped by ON CONFLICT DO NOTHING; partial readings,
one value a message, merge into the row of their (device, ts)), moves the latest
state of the plants bound to them forward, records rejection counts (per device
and day, and globally) and evaluates alerts. Only after the commit are the
batch's MQTT messages acknowledged, so the broker keeps every message whose
readings are not safely stored. A failing database keeps the batch and retries
it with backoff; meanwhile the bounded queue fills and the broker holds the rest.
"""

import json
import logging
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC

from sqlalchemy import Float, Integer, String, bindparam, func, select, text, update

from .. import database
from ..alerts.evaluation import evaluate_plants
from ..clock import utcnow
from ..domain.metrics import KEYS as METRICS
from ..domain.payload import RANGES, detail
from ..domain.sources import suggest_metric
from ..extensions import db
from ..models import BrokerAccount, Device, DeviceRejection, IngestRejection, Plant, PlantSensor, Reading

log = logging.getLogger(__name__)

BATCH_READINGS = 500
BATCH_SECONDS = 0.2
RETRY_FIRST_DELAY = 0.2
RETRY_MAX_DELAY = 5.0
LOG_EVERY_SECONDS = 60.0
LAST_PAYLOAD_CHARS = 2000


@dataclass
class Delivery:
    """One MQTT message as the consumer callback parsed it."""

    topic: str
    mid: int
    qos: int
    generation: int  # the broker session it came in on; acks are only valid there
    result: object  # sources.base.SourceResult
    received_monotonic: float
    namespace: str = ""  # "" for the shared topics, else the broker account's username
    source: str = "native"  # the source's name (IngestSource.name)
    payload: bytes | None = None  # as received, for the device's last payload


@dataclass
class BatchOutcome:
    stored: int = 0
    duplicates: int = 0
    rejections: Counter = field(default_factory=Counter)
    plant_ids: list = field(default_factory=list)
    devices: int = 0  # devices heard from
    new_devices: list = field(default_factory=list)  # (namespace, key) first seen in this batch


@dataclass
class Heard:
    """What one batch brings about one device."""

    source: str
    messages: int = 0
    readings: list = field(default_factory=list)
    rejections: Counter = field(default_factory=Counter)  # the parser's, counted globally already
    own: Counter = field(default_factory=Counter)  # the writer's (a mapped value out of range, uncalibrated)
    details: dict = field(default_factory=dict)
    topic: str | None = None
    payload: bytes | None = None
    linkquality: float | None = None
    name: str | None = None
    model: str | None = None
    raw: dict = field(default_factory=dict)


def store_batch(session, deliveries, now):
    """Write one batch in the session's current transaction (the caller commits)."""
    outcome = BatchOutcome()
    heard = {}  # (namespace, key) -> Heard
    for delivery in deliveries:
        result = delivery.result
        if result.ignored:
            continue
        outcome.rejections.update(result.rejections)
        keys = dict.fromkeys([result.key] if result.key is not None else [])
        keys.update(dict.fromkeys(reading.key for reading in result.readings))
        for key in keys:
            entry = heard.get((delivery.namespace, key))
            if entry is None:
                entry = heard[delivery.namespace, key] = Heard(delivery.source)
            entry.messages += 1
            entry.topic, entry.payload = delivery.topic, delivery.payload
        for reading in result.readings:
            entry = heard[delivery.namespace, reading.key]
            entry.readings.append(reading)
            entry.linkquality = reading.linkquality if reading.linkquality is not None else entry.linkquality
            entry.name = entry.name or reading.name
            entry.model = entry.model or reading.model
            entry.raw.update(reading.raw)
        if result.key is not None and result.rejections:
            entry = heard[delivery.namespace, result.key]
            entry.rejections.update(result.rejections)
            entry.details.update(result.details)
    if not heard:
        if outcome.rejections:
            record_rejections(session, outcome.rejections, now)
        return outcome

    devices = locked_devices(session, heard, now, outcome)
    outcome.devices = len(devices)
    rows, partial_rows, newest = [], {}, {}  # newest: device id -> {metric: (ts, value)}
    for address, entry in heard.items():
        device = devices[address]
        for reading in entry.readings:
            values = device_values(device, reading, entry)
            if not values:
                continue
            row = {"device_id": device.id, "ts": reading.ts, **{m: values.get(m) for m in METRICS}}
            if reading.partial:
                merged = partial_rows.setdefault((device.id, reading.ts), row)
                if merged is not row:
                    merged.update(values)
            else:
                rows.append(row)
            if device.last_reading_at is None or reading.ts > device.last_reading_at:
                latest = newest.setdefault(device.id, {})
                for metric, value in values.items():
                    if metric not in latest or latest[metric][0] <= reading.ts:
                        latest[metric] = (reading.ts, value)
    if rows:
        outcome.stored += insert_readings(session, rows)
        outcome.duplicates += len(rows) - outcome.stored
    if partial_rows:
        outcome.stored += insert_readings(session, list(partial_rows.values()), merge=True)

    update_devices(session, devices, heard, newest, now)
    outcome.plant_ids = advance_latest_states(session, newest)
    device_rejections = {devices[a].id: e.rejections + e.own for a, e in heard.items() if e.rejections or e.own}
    for entry in heard.values():
        outcome.rejections.update(entry.own)
    if device_rejections:
        record_device_rejections(session, device_rejections, now)
    if outcome.rejections:
        record_rejections(session, outcome.rejections, now)
    evaluate_plants(session, outcome.plant_ids, now)
    return outcome


DEVICE_STATE = (
    Device.id, Device.namespace, Device.key, Device.owner_id, Device.name, Device.model, Device.last_reading_at,
    Device.message_count, Device.metrics, Device.battery, Device.linkquality, Device.calibration, Device.field_map,
    Device.last_raw, Device.last_rejection, Device.last_rejection_detail, Device.last_rejection_at,
)  # fmt: skip


@dataclass
class DeviceState:
    """A locked device row as the writer reads and changes it."""

    id: int
    namespace: str
    key: str
    owner_id: int | None
    name: str
    model: str
    last_reading_at: object
    message_count: int
    metrics: list
    battery: float | None
    linkquality: float | None
    calibration: dict
    field_map: dict
    last_raw: dict
    last_rejection: str | None
    last_rejection_detail: str | None
    last_rejection_at: object
    field_map_changed: bool = False


def select_devices(session, namespace, keys):
    """The devices of `namespace` with these keys, locked (PostgreSQL) in id order so two
    writers never deadlock and move a device's latest state in turn."""
    keyed = database.equals_any(Device.key, f"keys_{len(namespace)}", sorted(keys), String, session)
    query = select(*DEVICE_STATE).where(Device.namespace == namespace, keyed).order_by(Device.id)
    return [DeviceState(*row) for row in session.execute(query.with_for_update())]


def locked_devices(session, heard, now, outcome):
    """(namespace, key) -> DeviceState for every device of the batch, made when new: owned
    by the namespace's broker account's user, or by nobody on the shared topics."""
    by_namespace = {}
    for namespace, key in heard:
        by_namespace.setdefault(namespace, []).append(key)
    devices = {}
    for namespace, keys in sorted(by_namespace.items()):
        found = {device.key: device for device in select_devices(session, namespace, keys)}
        missing = [key for key in keys if key not in found]
        if missing:
            owner = None
            if namespace:
                owner = session.scalar(select(BrokerAccount.user_id).where(BrokerAccount.username == namespace))
            new = [
                {"namespace": namespace, "key": key, "source": heard[namespace, key].source, "owner_id": owner,
                 "first_seen_at": now, "message_count": 0, "metrics": [], "calibration": {}, "field_map": {},
                 "last_raw": {}, "name": "", "model": ""}
                for key in sorted(missing)
            ]  # fmt: skip
            statement = database.insert(session, Device.__table__).on_conflict_do_nothing(
                index_elements=["namespace", "key"]
            )
            session.execute(statement, new)
            outcome.new_devices += [(namespace, key) for key in sorted(missing)]
            found.update({device.key: device for device in select_devices(session, namespace, missing)})
        devices.update({(namespace, key): found[key] for key in keys})
    return devices


def device_values(device, reading, entry):
    """The reading's values as stored: mapped fields, calibrated raw values, the temperature
    offset. A mapped or calibrated value out of its range is dropped and counted."""
    values = dict(reading.values)
    if reading.fields:
        for name, value in reading.fields.items():
            if name not in device.field_map:
                device.field_map = {**device.field_map, name: suggest_metric(name)}
                device.field_map_changed = True
            metric = device.field_map.get(name)
            if metric in RANGES and metric not in values:
                add_checked(values, metric, value, entry)
    calibration = device.calibration or {}
    for metric, raw in reading.raw.items():
        value = calibrated(metric, raw, calibration)
        if value is None:
            entry.own["uncalibrated"] += 1
            entry.details["uncalibrated"] = f"{metric.replace('_', ' ')} needs a calibration (raw {raw:g})"
        elif metric not in values:
            add_checked(values, metric, value, entry)
    offset = calibration.get("temperature_offset")
    if offset and "temperature" in values:
        values["temperature"] = values["temperature"] + float(offset)
    return values


def add_checked(values, metric, value, entry):
    low, high = RANGES[metric]
    if isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high:
        values[metric] = float(value)
    else:
        entry.own["out_of_range"] += 1
        entry.details["out_of_range"] = detail(metric, "out_of_range", value)


def calibrated(metric, raw, calibration):
    """A raw capacitive soil value as % by the device's two points (dry = 0 %, wet = 100 %),
    clamped to 0..100; None without both points."""
    if metric != "soil_moisture":
        return None
    dry, wet = calibration.get("soil_dry_raw"), calibration.get("soil_wet_raw")
    if dry is None or wet is None or dry == wet:
        return None
    return min(100.0, max(0.0, (float(dry) - raw) / (float(dry) - float(wet)) * 100.0))


READING_COLUMNS = ("device_id", "ts", *METRICS)

# PostgreSQL takes a whole batch as one array per column: one short statement, parsed once.
PG_READING_ROWS = (
    f"INSERT INTO readings ({', '.join(READING_COLUMNS)}) "
    "SELECT * FROM unnest(CAST(:device_id AS integer[]), CAST(:ts AS timestamp[]), "
    + ", ".join(f"CAST(:{metric} AS double precision[])" for metric in METRICS)
    + ") "
)
PG_INSERT_READINGS = text(PG_READING_ROWS + "ON CONFLICT (device_id, ts) DO NOTHING RETURNING id")
PG_MERGE_READINGS = text(
    PG_READING_ROWS
    + "ON CONFLICT (device_id, ts) DO UPDATE SET "
    + ", ".join(f"{m} = COALESCE(EXCLUDED.{m}, readings.{m})" for m in METRICS)
    + " RETURNING id"
)


def insert_readings(session, rows, merge=False):
    """Insert, skipping (device, ts) pairs already stored; returns how many were new. With
    `merge` (partial readings, one row per (device, ts) in `rows`) a stored row takes each
    value given for it and keeps the others (COALESCE): per-value messages make one reading."""
    if database.is_postgresql(session):
        columns = {name: [row[name] for row in rows] for name in READING_COLUMNS}
        # Stored as UTCDateTime stores it: naive UTC.
        columns["ts"] = [ts.astimezone(UTC).replace(tzinfo=None) for ts in columns["ts"]]
        return len(session.execute(PG_MERGE_READINGS if merge else PG_INSERT_READINGS, columns).all())
    table = Reading.__table__
    statement = database.insert(session, table)
    if merge:
        statement = statement.on_conflict_do_update(
            index_elements=["device_id", "ts"],
            set_={m: func.coalesce(statement.excluded[m], table.c[m]) for m in METRICS},
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=["device_id", "ts"])
    return len(session.execute(statement.returning(table.c.id), rows).all())


def update_devices(session, devices, heard, newest, now):
    """Each device's diagnostics and state after this batch, one statement for all."""
    rows = []
    for address, entry in heard.items():
        device = devices[address]
        latest = newest.get(device.id, {})
        sent = set(device.metrics or []) | set(latest)
        for reading in entry.readings:
            sent.update(reading.values)
        row = {
            "d_id": device.id,
            "d_last_seen_at": now,
            "d_message_count": device.message_count + entry.messages,
            "d_last_reading_at": max((ts for ts, _ in latest.values()), default=device.last_reading_at),
            "d_metrics": [m for m in METRICS if m in sent],
            "d_battery": latest["battery"][1] if "battery" in latest else device.battery,
            "d_linkquality": entry.linkquality if entry.linkquality is not None else device.linkquality,
            "d_name": device.name or (entry.name or "")[:100],
            "d_model": device.model or (entry.model or "")[:100],
            "d_field_map": device.field_map,
            "d_last_raw": {**(device.last_raw or {}), **entry.raw} if entry.raw else device.last_raw,
            "d_last_payload": shown_payload(entry.payload),
            "d_last_topic": (entry.topic or "")[:300] or None,
            "d_last_rejection": device.last_rejection,
            "d_last_rejection_detail": device.last_rejection_detail,
            "d_last_rejection_at": device.last_rejection_at,
        }
        rejections = entry.rejections + entry.own
        if rejections:
            reason = max(rejections, key=lambda r: (r in entry.details, rejections[r]))
            row["d_last_rejection"] = reason
            row["d_last_rejection_detail"] = (entry.details.get(reason) or "")[:200] or None
            row["d_last_rejection_at"] = now
        rows.append(row)
    if database.is_postgresql(session):
        columns = {name: [row[name] for row in rows] for name in rows[0]}
        for name in ("d_last_seen_at", "d_last_reading_at", "d_last_rejection_at"):
            columns[name] = [None if t is None else t.astimezone(UTC).replace(tzinfo=None) for t in columns[name]]
        for name in ("d_metrics", "d_field_map", "d_last_raw"):
            columns[name] = [json.dumps(value) for value in columns[name]]
        session.execute(PG_UPDATE_DEVICES, columns)
    else:
        session.execute(UPDATE_DEVICES, rows)


DEVICE_COLUMNS = (
    ("last_seen_at", "timestamp"), ("message_count", "bigint"), ("last_reading_at", "timestamp"),
    ("metrics", "json"), ("battery", "double precision"), ("linkquality", "double precision"),
    ("name", "varchar"), ("model", "varchar"), ("field_map", "json"), ("last_raw", "json"),
    ("last_payload", "text"), ("last_topic", "varchar"), ("last_rejection", "varchar"),
    ("last_rejection_detail", "varchar"), ("last_rejection_at", "timestamp"),
)  # fmt: skip
UPDATE_DEVICES = (
    update(Device.__table__)
    .where(Device.__table__.c.id == bindparam("d_id"))
    .values({name: bindparam(f"d_{name}", type_=Device.__table__.c[name].type) for name, _ in DEVICE_COLUMNS})
)
PG_UPDATE_DEVICES = text(
    "UPDATE devices SET "
    + ", ".join(f"{name} = v.{name}" for name, _ in DEVICE_COLUMNS)
    + " FROM unnest(CAST(:d_id AS integer[]), "
    + ", ".join(f"CAST(:d_{name} AS {'text' if kind == 'json' else kind}[])" for name, kind in DEVICE_COLUMNS)
    + f") AS u(id, {', '.join(name for name, _ in DEVICE_COLUMNS)}) "
    + "CROSS JOIN LATERAL (SELECT "
    + ", ".join(f"u.{name}{'::json' if kind == 'json' else ''} AS {name}" for name, kind in DEVICE_COLUMNS)
    + ") AS v WHERE devices.id = u.id"
)


def shown_payload(payload):
    if payload is None:
        return None
    return bytes(payload[: LAST_PAYLOAD_CHARS * 4]).decode("utf-8", errors="replace")[:LAST_PAYLOAD_CHARS]


def latest_state_statement():
    """One UPDATE per plant of a batch (executemany): each metric bound to a device that sent
    a newer value takes it (NULL keeps the previous value); last_reading_at is the oldest
    newest reading among the plant's bound devices, so one silent sensor makes it stale."""
    plants = Plant.__table__
    values = {"last_reading_at": OLDEST_DEVICE_READING, "updated_at": plants.c.updated_at}
    for metric in METRICS:
        column = plants.c[f"latest_{metric}"]
        values[column.name] = func.coalesce(bindparam(f"p_{metric}", type_=Float), column)
    return update(plants).where(plants.c.id == bindparam("p_id")).values(values)


OLDEST_DEVICE_READING = (
    select(func.min(Device.last_reading_at))
    .join(PlantSensor, PlantSensor.device_id == Device.id)
    .where(PlantSensor.plant_id == Plant.__table__.c.id)
    .correlate(Plant.__table__)
    .scalar_subquery()
)
LATEST_STATE = latest_state_statement()

PG_LATEST_STATE = text(
    "UPDATE plants SET last_reading_at = (SELECT min(d.last_reading_at) FROM plant_sensors s "
    "JOIN devices d ON d.id = s.device_id WHERE s.plant_id = plants.id), "
    + ", ".join(f"latest_{m} = COALESCE(v.{m}, plants.latest_{m})" for m in METRICS)
    + " FROM unnest(CAST(:p_id AS integer[]), "
    + ", ".join(f"CAST(:p_{m} AS double precision[])" for m in METRICS)
    + f") AS v(id, {', '.join(METRICS)}) "
    "WHERE plants.id = v.id"
)


def advance_latest_states(session, newest):
    """Move the latest state of the plants bound to devices with newer readings; returns
    their ids. `newest`: device id -> {metric: (ts, value)} of readings newer than the
    device's stored state. The plants are locked in id order (PostgreSQL) first."""
    if not newest:
        return []
    bound = database.equals_any(PlantSensor.device_id, "bound_devices", sorted(newest), Integer, session)
    query = (
        select(PlantSensor.plant_id, PlantSensor.metric, PlantSensor.device_id)
        .join(Plant, Plant.id == PlantSensor.plant_id)
        .where(bound)
        .order_by(PlantSensor.plant_id)
        .with_for_update(of=Plant)
    )
    rows = {}
    for plant_id, metric, device_id in session.execute(query):
        row = rows.setdefault(plant_id, {"p_id": plant_id, **{f"p_{m}": None for m in METRICS}})
        sent = newest[device_id].get(metric)
        if sent is not None:
            row[f"p_{metric}"] = sent[1]
    if not rows:
        return []
    rows = [rows[plant_id] for plant_id in sorted(rows)]
    if database.is_postgresql(session):
        columns = {name: [row[name] for row in rows] for name in rows[0]}
        session.execute(PG_LATEST_STATE, columns)
    else:
        session.execute(LATEST_STATE, rows)
    return [row["p_id"] for row in rows]


def record_device_rejections(session, by_device, now):
    """Per device, UTC day and reason: "3 rejected today"."""
    statement = database.insert(session, DeviceRejection)
    statement = statement.on_conflict_do_update(
        index_elements=["device_id", "day", "reason"],
        set_={"count": DeviceRejection.count + statement.excluded.count, "last_at": statement.excluded.last_at},
    )
    day = now.astimezone(UTC).date()
    rows = [
        {"device_id": device_id, "day": day, "reason": reason, "count": count, "last_at": now}
        for device_id, rejections in sorted(by_device.items())
        for reason, count in sorted(rejections.items())
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
        for namespace, key in outcome.new_devices:
            if self.may_log(("new", namespace, key)):
                log.info("ingest: a new device %r (namespace %r)", key, namespace)

    def log_rejections(self, delivery):
        result = delivery.result
        if not result.rejections:
            return
        device = result.key
        if not self.may_log(("rejected", device)):
            return
        reasons = ", ".join(f"{reason} x{count}" for reason, count in sorted(result.rejections.items()))
        if device is None:
            log.warning("ingest: dropped a message on topic %.100r: %s", delivery.topic, reasons)
        else:
            log.warning("ingest: dropped reading(s) or values from device %s: %s", device, reasons)
