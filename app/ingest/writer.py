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

from sqlalchemy import Integer, String, Text, bindparam, case, cast, func, select, text, update

from .. import database
from ..alerts.evaluation import evaluate_plants
from ..clock import utcnow
from ..domain.metrics import KEYS as METRICS
from ..domain.payload import RANGES, detail
from ..domain.sources import suggest_metric
from ..extensions import db
from ..models import BrokerAccount, Device, DeviceRejection, Garden, IngestRejection, Plant, PlantSensor, Reading

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
    source: str = "native"  # the adapter's kind (app/domain/sources): "miflora" for each of its modes
    payload: bytes | None = None  # as received, for the device's last payload


@dataclass
class BatchOutcome:
    stored: int = 0
    duplicates: int = 0
    rejections: Counter = field(default_factory=Counter)
    plant_ids: list = field(default_factory=list)
    devices: int = 0  # devices heard from
    new_devices: list = field(default_factory=list)  # (namespace, key) first seen in this batch


NONE: Counter = Counter()  # no rejections: shared, never changed (a Counter per device costs a batch)


def reject(entry, reason):
    """Count one of the writer's own rejections on `entry`."""
    if entry.own is NONE:
        entry.own = Counter()
    entry.own[reason] += 1


class Heard:
    """What one batch brings about one device."""

    __slots__ = ("source", "messages", "readings", "rejections", "own", "details", "topic", "payload",
                 "linkquality", "name", "model", "raw")  # fmt: skip

    def __init__(self, source):
        self.source = source
        self.messages = 0
        self.readings = []
        self.rejections = NONE  # the parser's, counted globally already
        self.own = NONE  # the writer's (a mapped value out of range, uncalibrated)
        self.details = {}
        self.topic = self.payload = self.linkquality = self.name = self.model = None
        self.raw = {}


def store_batch(session, deliveries, now):
    """Write one batch in the session's current transaction (the caller commits)."""
    outcome = BatchOutcome()
    heard = {}  # (namespace, key) -> Heard
    for delivery in deliveries:
        result = delivery.result
        if result.ignored:
            continue
        if result.rejections:
            outcome.rejections.update(result.rejections)
        namespace, key = delivery.namespace, result.key
        entry = None
        if key is not None:
            entry = heard.get((namespace, key))
            if entry is None:
                entry = heard[namespace, key] = Heard(delivery.source)
            entry.messages += 1
            entry.topic, entry.payload = delivery.topic, delivery.payload
            if result.rejections:
                entry.rejections = entry.rejections + result.rejections
                entry.details.update(result.details)
        counted = {key}
        for reading in result.readings:
            if reading.key != key:  # a message naming several devices (a bridge's nested sensors)
                entry = heard.get((namespace, reading.key))
                if entry is None:
                    entry = heard[namespace, reading.key] = Heard(delivery.source)
                if reading.key not in counted:
                    counted.add(reading.key)
                    entry.messages += 1
                    entry.topic, entry.payload = delivery.topic, delivery.payload
            entry.readings.append(reading)
            if reading.linkquality is not None:
                entry.linkquality = reading.linkquality
            if reading.name or reading.model or reading.raw:
                entry.name = entry.name or reading.name
                entry.model = entry.model or reading.model
                entry.raw.update(reading.raw)
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
        if entry.own:
            outcome.rejections.update(entry.own)
    if device_rejections:
        record_device_rejections(session, device_rejections, now)
    if outcome.rejections:
        record_rejections(session, outcome.rejections, now)
    evaluate_plants(session, outcome.plant_ids, now)
    return outcome


# The JSON columns come as text and are parsed only when a reading needs them: a native
# reading needs none, and 500 devices' four documents would cost a batch more than its insert.
DEVICE_STATE = (
    Device.id, Device.key, Device.name, Device.model, Device.last_reading_at, Device.message_count,
    Device.battery, Device.linkquality, cast(Device.metrics, Text), cast(Device.calibration, Text),
    cast(Device.field_map, Text), cast(Device.last_raw, Text),
)  # fmt: skip
EMPTY_JSON = frozenset(("{}", "[]", "null", "", None))


def object_of(text):
    """A JSON object column's value as read raw from the database ({} for an empty one)."""
    return {} if text in EMPTY_JSON else json.loads(text)


class DeviceState:
    """A locked device row as the writer reads and changes it."""

    __slots__ = ("id", "key", "name", "model", "last_reading_at", "message_count", "battery", "linkquality",
                 "metrics_text", "calibration_text", "field_map_text", "last_raw_text", "_calibration", "_field_map",
                 "field_map_text_loaded")  # fmt: skip

    def __init__(self, row):
        (self.id, self.key, self.name, self.model, self.last_reading_at, self.message_count, self.battery,
         self.linkquality, self.metrics_text, self.calibration_text, self.field_map_text,
         self.last_raw_text) = row  # fmt: skip
        self._calibration = self._field_map = None
        self.field_map_text_loaded = self.field_map_text

    @property
    def calibration(self):
        if self._calibration is None:
            self._calibration = object_of(self.calibration_text)
        return self._calibration

    @property
    def field_map(self):
        if self._field_map is None:
            self._field_map = object_of(self.field_map_text)
        return self._field_map

    def map_field(self, name, metric):
        self._field_map = {**self.field_map, name: metric}
        self.field_map_text = json.dumps(self._field_map)


def select_devices(session, namespace, keys):
    """The devices of `namespace` with these keys, locked (PostgreSQL) in id order so two
    writers never deadlock and move a device's latest state in turn."""
    keyed = database.equals_any(Device.key, "device_keys", sorted(keys), String, session)
    query = select(*DEVICE_STATE).where(Device.namespace == namespace, keyed).order_by(Device.id)
    return [DeviceState(row) for row in session.execute(query.with_for_update()).tuples()]


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
            owner = garden = None
            if namespace:
                owner, garden = session.execute(
                    select(BrokerAccount.user_id, Garden.id)
                    .outerjoin(Garden, Garden.personal_of_id == BrokerAccount.user_id)
                    .where(BrokerAccount.username == namespace)
                ).one_or_none() or (None, None)
            new = [
                {"namespace": namespace, "key": key, "source": heard[namespace, key].source, "owner_id": owner,
                 "garden_id": garden,
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
    if not reading.fields and not reading.raw and device.calibration_text in EMPTY_JSON:
        return reading.values  # a native reading: as parsed
    values = dict(reading.values)
    if reading.fields:
        for name, value in reading.fields.items():
            if name not in device.field_map:
                device.map_field(name, suggest_metric(name) or "")
            metric = device.field_map.get(name)
            if metric in RANGES and metric not in values:
                add_checked(values, metric, value, entry)
    calibration = device.calibration
    for metric, raw in reading.raw.items():
        value = calibrated(metric, raw, calibration)
        if value is None:
            reject(entry, "uncalibrated")
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
        reject(entry, "out_of_range")
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
SQLITE_INSERT_READINGS = (
    f"INSERT INTO readings ({', '.join(READING_COLUMNS)}) VALUES ({', '.join('?' for _ in READING_COLUMNS)}) "
    "ON CONFLICT (device_id, ts) DO NOTHING"
)
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
        # As array literals (times as UTCDateTime stores them: naive UTC).
        columns = {name: database.pg_array_text([row[name] for row in rows]) for name in READING_COLUMNS}
        return len(session.execute(PG_MERGE_READINGS if merge else PG_INSERT_READINGS, columns).all())
    if not merge:
        rows = [(row["device_id"], database.sqlite_time(row["ts"]), *(row[m] for m in METRICS)) for row in rows]
        return database.sqlite_executemany(session, SQLITE_INSERT_READINGS, rows)
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
    """Each device's state and diagnostics after this batch: one statement for what every
    message changes, one more for the devices whose metrics, names, field map, raw values or
    rejections changed."""
    hot, rare = [], []
    for address, entry in heard.items():
        device = devices[address]
        latest = newest.get(device.id, {})
        hot.append(
            {
                "d_id": device.id,
                "d_last_seen_at": now,
                "d_message_count": device.message_count + entry.messages,
                "d_last_reading_at": max((ts for ts, _ in latest.values()), default=device.last_reading_at),
                "d_battery": latest["battery"][1] if "battery" in latest else device.battery,
                "d_linkquality": entry.linkquality if entry.linkquality is not None else device.linkquality,
                "d_last_payload": shown_payload(entry.payload),
                "d_last_topic": (entry.topic or "")[:300] or None,
            }
        )
        changes = rare_changes(device, entry, latest, now)
        if changes is not None:
            rare.append(changes)
    if database.is_postgresql(session):
        columns = {}
        for name in hot[0]:
            values = [row[name] for row in hot]
            text_column = name in ("d_last_payload", "d_last_topic")
            columns[name] = json.dumps(values) if text_column else database.pg_array_text(values)
        session.execute(PG_UPDATE_DEVICES, columns)
    else:
        time = database.sqlite_time
        rows = [
            (time(r["d_last_seen_at"]), r["d_message_count"], time(r["d_last_reading_at"]), r["d_battery"],
             r["d_linkquality"], r["d_last_payload"], r["d_last_topic"], r["d_id"])
            for r in hot
        ]  # fmt: skip
        database.sqlite_executemany(session, SQLITE_UPDATE_DEVICES, rows)
    if rare:
        for columns in {tuple(sorted(row)) for row in rare}:
            rows = [row for row in rare if tuple(sorted(row)) == columns]
            session.execute(rare_update(columns), rows)


def rare_changes(device, entry, latest, now):
    """The columns besides the hot ones that this batch changes for `device`, or None."""
    row = {}
    sent = set(latest)
    for reading in entry.readings:
        sent.update(reading.values)
    text = device.metrics_text or "[]"
    if any(f'"{metric}"' not in text for metric in sent):
        known = set(json.loads(text) or []) | sent
        row["metrics"] = [m for m in METRICS if m in known]
    if not device.name and entry.name:
        row["name"] = entry.name[:100]
    if not device.model and entry.model:
        row["model"] = entry.model[:100]
    if device._field_map is not None and device.field_map_text != device.field_map_text_loaded:
        row["field_map"] = device.field_map
    if entry.raw:
        last_raw = object_of(device.last_raw_text)
        row["last_raw"] = {**last_raw, **entry.raw}
    if entry.rejections or entry.own:
        rejections = entry.rejections + entry.own
        reason = max(rejections, key=lambda r: (r in entry.details, rejections[r]))
        row["last_rejection"] = reason
        row["last_rejection_detail"] = (entry.details.get(reason) or "")[:200] or None
        row["last_rejection_at"] = now
    if not row:
        return None
    return {"r_id": device.id, **{f"r_{name}": value for name, value in row.items()}}


def rare_update(columns):
    table = Device.__table__
    names = [column.removeprefix("r_") for column in columns if column != "r_id"]
    values = {name: bindparam(f"r_{name}", type_=table.c[name].type) for name in names}
    return update(table).where(table.c.id == bindparam("r_id")).values(values)


HOT_COLUMNS = (
    ("last_seen_at", "timestamp"), ("message_count", "bigint"), ("last_reading_at", "timestamp"),
    ("battery", "double precision"), ("linkquality", "double precision"), ("last_payload", "text"),
    ("last_topic", "varchar"),
)  # fmt: skip
SQLITE_UPDATE_DEVICES = f"UPDATE devices SET {', '.join(f'{name} = ?' for name, _ in HOT_COLUMNS)} WHERE id = ?"
# Text goes in as one JSON array per column: psycopg escapes every element of a text[] one by one.
PG_UPDATE_DEVICES = text(
    "UPDATE devices SET "
    + ", ".join(f"{name} = v.{name}" for name, _ in HOT_COLUMNS)
    + " FROM ROWS FROM (unnest(CAST(:d_id AS integer[])), "
    + ", ".join(
        f"json_array_elements_text(CAST(:d_{name} AS json))" if kind in ("text", "varchar")
        else f"unnest(CAST(:d_{name} AS {kind}[]))"
        for name, kind in HOT_COLUMNS
    )
    + f") AS v(id, {', '.join(name for name, _ in HOT_COLUMNS)}) WHERE devices.id = v.id"
)  # fmt: skip


def shown_payload(payload):
    if payload is None:
        return None
    return bytes(payload[: LAST_PAYLOAD_CHARS * 4]).decode("utf-8", errors="replace")[:LAST_PAYLOAD_CHARS]


# One UPDATE per plant of a batch (executemany): each metric bound to a device that sent a
# newer value takes it (NULL keeps the previous value), and the plant's reading time.
SQLITE_LATEST_STATE = (
    "UPDATE plants SET last_reading_at = ?, "
    + ", ".join(f"latest_{m} = COALESCE(?, latest_{m})" for m in METRICS)
    + " WHERE id = ?"
)

PG_LATEST_STATE = text(
    "UPDATE plants SET last_reading_at = v.ts, "
    + ", ".join(f"latest_{m} = COALESCE(v.{m}, plants.latest_{m})" for m in METRICS)
    + " FROM unnest(CAST(:p_id AS integer[]), CAST(:p_ts AS timestamp[]), "
    + ", ".join(f"CAST(:p_{m} AS double precision[])" for m in METRICS)
    + f") AS v(id, ts, {', '.join(METRICS)}) "
    "WHERE plants.id = v.id"
)
# Which metrics a device is bound for, as one number per (plant, device): bit i = METRICS[i].
METRIC_BITS = func.sum(case(*((PlantSensor.metric == m, 1 << i) for i, m in enumerate(METRICS)), else_=0))


def advance_latest_states(session, newest):
    """Move the latest state of the plants bound to devices with newer readings; returns
    their ids. `newest`: device id -> {metric: (ts, value)} of readings newer than the
    device's stored state (whose last_reading_at update_devices already moved).

    Each bound metric takes its device's newest value; the plant's last_reading_at is the
    oldest newest reading among its bound devices, so one silent sensor makes it stale.
    On PostgreSQL the plants are locked in id order first, so two writers never deadlock
    and move a plant's state in turn.
    """
    if not newest:
        return []
    bound = database.equals_any(PlantSensor.device_id, "bound_devices", sorted(newest), Integer, session)
    affected = select(PlantSensor.plant_id).where(bound)
    if not database.has_single_writer(session):
        session.execute(select(Plant.id).where(Plant.id.in_(affected)).order_by(Plant.id).with_for_update())
    query = (
        select(PlantSensor.plant_id, PlantSensor.device_id, Device.last_reading_at, METRIC_BITS)
        .join(Device, Device.id == PlantSensor.device_id)
        .where(PlantSensor.plant_id.in_(affected))
        .group_by(PlantSensor.plant_id, PlantSensor.device_id, Device.last_reading_at)
        .order_by(PlantSensor.plant_id)
    )
    rows = {}
    for plant_id, device_id, last_reading_at, bits in session.execute(query).tuples():
        row = rows.get(plant_id)
        if row is None:
            row = rows[plant_id] = {"p_id": plant_id, "p_ts": last_reading_at, **{f"p_{m}": None for m in METRICS}}
        elif last_reading_at is not None and (row["p_ts"] is None or last_reading_at < row["p_ts"]):
            row["p_ts"] = last_reading_at
        sent = newest.get(device_id)
        if sent:
            for i, metric in enumerate(METRICS):
                if bits >> i & 1 and metric in sent:
                    row[f"p_{metric}"] = sent[metric][1]
    if not rows:
        return []
    rows = list(rows.values())
    if database.is_postgresql(session):
        columns = {name: database.pg_array_text([row[name] for row in rows]) for name in rows[0]}
        session.execute(PG_LATEST_STATE, columns)
    else:
        time = database.sqlite_time
        values = [(time(row["p_ts"]), *(row[f"p_{m}"] for m in METRICS), row["p_id"]) for row in rows]
        database.sqlite_executemany(session, SQLITE_LATEST_STATE, values)
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
