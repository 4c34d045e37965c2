"""MQTT ingestion throughput: PlantOps' consumer against a naive one and the broker's own limit.

.venv/bin/python -m bench.ingest [--readings 20000] [--devices 500] [--publishers 2] [--database-url URL]
                                 [--naive-readings N] [--no-half] [--health] [--profile DIR]
.venv/bin/python -m bench.ingest --parse [--seconds 1.0] [--rounds 7]   (bench.sources: per-source parse rates)

Each run gets a fresh Mosquitto started from deploy/mosquitto.conf (port and
paths changed) and empty readings; publisher processes send one QoS 1 reading
per message, round-robin over the devices, each with its publish time as `ts`.

1. broker only: a subscriber on the shared subscription that parses and counts;
2. naive: one ORM transaction per message inside on_message (select the plant,
   insert, update its latest state, commit), as a quick Flask-MQTT app does;
3. PlantOps: `flask --app wsgi ingest` in its own process, as fast as possible;
4. PlantOps again at half the rate it reached, for the latency goal.

Rates run from the first publish to the last receipt (1) or the last commit
(2-4, seen by polling the readings table every 20 ms, which adds up to 20 ms
to the latencies). Lost = published - distinct stored; duplicated = stored
rows - distinct (device, ts). PlantOps runs with the sources of app/domain/sources
as shipped (every adapter source on its default base topic; the generic one is off
until a gardener configures it), so the native messages are routed among all of them.
The last line gives PlantOps' full rate as a ratio to both baselines of the same run.

--no-half skips phase 4. --health serves the web (gunicorn.conf.py, 2 workers x 4 threads,
MQTT off, the topology with a dedicated ingest process) on the same database and probes
/api/health every 20 ms on a fresh connection, as a load balancer does, for 5 s before and
throughout phase 3; prints p50/p99/max of both. --profile DIR records PlantOps' ingest
process in phase 3 with py-spy (DIR/ingest.txt, py-spy's collapsed stacks, one line per
stack, and DIR/ingest.speedscope.json), and prints where its samples went.
"""

import argparse
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from .load import BIN, ROOT, bench_env, flask_cli, free_port, scratch_database, wait_for_port, wait_until_up

TOPIC_PREFIX = "plantops"
POLL_SECONDS = 0.02


# -- the broker ---------------------------------------------------------------------------------


@contextmanager
def broker(workdir):
    """Mosquitto with the shipped settings on a free port."""
    port = free_port()
    directory = Path(tempfile.mkdtemp(prefix="broker-", dir=workdir))
    directory.chmod(0o777)  # mosquitto drops root to its own user and must write its files here
    shipped = (ROOT / "deploy" / "mosquitto.conf").read_text()
    config = re.sub(r"(?m)^listener 1883 ", f"listener {port} ", shipped)
    config = re.sub(r"(?m)^persistence_location .*$", f"persistence_location {directory}/", config)
    (directory / "mosquitto.conf").write_text(config)
    process = subprocess.Popen(
        [shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(directory / "mosquitto.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    try:
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def mqtt_client(client_id, **kwargs):
    import paho.mqtt.client as mqtt

    return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, **kwargs)


# -- publishers ---------------------------------------------------------------------------------


def device_ids(count):
    return [f"bench-{n:04d}" for n in range(count)]


def publisher(port, devices, count, rate, go, results):
    """Publish `count` readings round-robin over `devices` at `rate` msg/s (0: as fast as possible)."""
    client = mqtt_client(f"bench-pub-{os.getpid()}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    refused = [0]

    def on_publish(client, userdata, mid, reason_code, properties):
        if reason_code.is_failure or reason_code.value == 16:  # 16: no matching subscribers
            refused[0] += 1

    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    go.wait()
    started = time.time()
    info = None
    for n in range(count):
        if rate:
            delay = started + n / rate - time.time()
            if delay > 0:
                time.sleep(delay)
        device = devices[n % len(devices)]
        # A sensor's jitter (within a point), not a sawtooth: 40 + n % 20 rose by up to 19 points
        # from one reading of a device to its next, so every plant logged a detected watering in
        # the run's first seconds and the run measured 500 waterings rather than ingestion.
        soil = 40.0 + (n % 7) * 0.1
        payload = {"ts": time.time(), "soil_moisture": soil, "temperature": 21.5, "battery": 80}
        info = client.publish(f"{TOPIC_PREFIX}/{device}/telemetry", json.dumps(payload), qos=1)
    if info is not None:
        info.wait_for_publish(120)
    time.sleep(0.2)
    client.disconnect()
    client.loop_stop()
    results.put({"started": started, "finished": time.time(), "refused": refused[0]})


def publish(port, devices, readings, publishers, rate=0.0):
    """Start the publisher processes; returns (first publish time, their reports) once all are done."""
    go = multiprocessing.Event()
    results = multiprocessing.Queue()
    share = readings // publishers
    processes = []
    for index in range(publishers):
        mine = devices[index::publishers]
        count = share + (readings % publishers if index == 0 else 0)
        args = (port, mine, count, rate / publishers, go, results)
        processes.append(multiprocessing.Process(target=publisher, args=args))
    for process in processes:
        process.start()
    time.sleep(0.5)
    go.set()
    reports = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join()
    return min(r["started"] for r in reports), reports


# -- subscribers --------------------------------------------------------------------------------


def broker_only_subscriber(port, expected, ready, results):
    """Parse and count, acknowledging at once: the most a QoS 1 subscriber can take here."""
    client = mqtt_client(f"bench-count-{os.getpid()}")
    latencies, last = [], [0.0]

    def on_connect(client, userdata, flags, reason_code, properties):
        client.subscribe(f"$share/plantops/{TOPIC_PREFIX}/+/telemetry", qos=1)

    def on_message(client, userdata, message):
        now = time.time()
        latencies.append(now - json.loads(message.payload)["ts"])
        last[0] = now

    client.on_connect = on_connect
    client.on_subscribe = lambda *args: ready.set()
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    deadline = time.time() + 600
    while len(latencies) < expected and time.time() < deadline:
        if last[0] and time.time() - last[0] > 10:
            break
        time.sleep(0.05)
    client.disconnect()
    client.loop_stop()
    results.put({"received": len(latencies), "last": last[0], "latencies": latencies})


def naive_subscriber(env, port, ready):
    """One ORM transaction per message, inside on_message (what the quick Flask-MQTT apps do)."""
    os.environ.update(env)
    from sqlalchemy import select

    from app import create_app
    from app.extensions import db
    from app.models import Device, Plant, PlantSensor, Reading

    app = create_app()
    client = mqtt_client(f"bench-naive-{os.getpid()}")

    def on_connect(client, userdata, flags, reason_code, properties):
        client.subscribe(f"$share/plantops/{TOPIC_PREFIX}/+/telemetry", qos=1)

    def on_message(client, userdata, message):
        with app.app_context():
            data = json.loads(message.payload)
            device_id = message.topic.split("/")[1]
            device = db.session.scalar(select(Device).where(Device.namespace == "", Device.key == device_id))
            plant = db.session.scalar(
                select(Plant)
                .join(PlantSensor, PlantSensor.plant_id == Plant.id)
                .where(PlantSensor.device_id == device.id, PlantSensor.metric == "soil_moisture")
            )
            ts = datetime.fromtimestamp(data["ts"], UTC)
            db.session.add(Reading(device_id=device.id, ts=ts, soil_moisture=data["soil_moisture"]))
            device.last_reading_at = ts
            plant.last_reading_at, plant.latest_soil_moisture = ts, data["soil_moisture"]
            db.session.commit()

    client.on_connect = on_connect
    client.on_subscribe = lambda *args: ready.set()
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_forever()


@contextmanager
def plantops_consumer(env, port, profile=None):
    process = subprocess.Popen(
        [str(BIN / "flask"), "--app", "wsgi", "ingest"],
        cwd=ROOT,
        env={**env, "MQTT_ENABLED": "true", "MQTT_PORT": str(port), "LOG_LEVEL": "WARNING"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    process.stdout.readline()  # "ingesting from ..."
    time.sleep(1.0)  # connected and subscribed
    recorders = []
    if profile:
        Path(profile).mkdir(parents=True, exist_ok=True)
        for name, kind in (("ingest.txt", "raw"), ("ingest.speedscope.json", "speedscope")):
            command = [str(BIN / "py-spy"), "record", "--pid", str(process.pid), "--rate", "200", "--threads",
                       "--format", kind, "--output", str(Path(profile) / name)]  # fmt: skip
            recorders.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(1.0)  # attached
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)
        for recorder in recorders:
            recorder.wait(timeout=60)


@contextmanager
def naive_consumer(env, port):
    ready = multiprocessing.Event()
    process = multiprocessing.Process(target=naive_subscriber, args=(env, port, ready), daemon=True)
    process.start()
    ready.wait(30)
    try:
        yield process
    finally:
        process.terminate()
        process.join()


# -- the database -------------------------------------------------------------------------------


class Database:
    def __init__(self, env):
        os.environ.update(env)
        from app import create_app

        self.app = create_app()

    def prepare(self, devices):
        from app.domain.gardens import create_personal_garden
        from app.domain.metrics import KEYS
        from app.extensions import db
        from app.models import Device, Plant, PlantSensor, User

        with self.app.app_context():
            user = User(email="bench@example.com", password_hash="-")
            db.session.add(user)
            db.session.flush()
            garden = create_personal_garden(db.session, user)
            plants = [Plant(garden_id=garden.id, name=d) for d in devices]
            sensors = [
                Device(namespace="", key=d, source="native", owner_id=user.id, garden_id=garden.id, metrics=[])
                for d in devices
            ]
            db.session.add_all(plants + sensors)
            db.session.flush()
            db.session.add_all(
                PlantSensor(plant_id=p.id, metric=m, device_id=s.id)
                for p, s in zip(plants, sensors, strict=True)
                for m in KEYS
            )
            db.session.commit()

    def empty(self):
        from sqlalchemy import text

        from app.extensions import db

        with self.app.app_context():
            if db.engine.dialect.name == "postgresql":
                db.session.execute(text("TRUNCATE readings, ingest_rejections, device_rejections"))
            else:
                db.session.execute(text("DELETE FROM readings"))
            db.session.execute(text("UPDATE plants SET last_reading_at = NULL"))
            db.session.execute(text("UPDATE devices SET last_reading_at = NULL"))
            db.session.commit()

    def watch(self, expected, stall_seconds=10.0, timeout=900.0):
        """Poll new readings until `expected` are stored or nothing new arrives for a while.

        Returns (time of the last new reading, publish-to-commit latencies).
        """
        from sqlalchemy import select

        from app.extensions import db
        from app.models import Reading

        latencies, last_id, last_seen = [], 0, time.time()
        deadline = time.time() + timeout
        with self.app.app_context():
            while len(latencies) < expected and time.time() < deadline:
                rows = db.session.execute(
                    select(Reading.id, Reading.ts).where(Reading.id > last_id).order_by(Reading.id)
                ).all()
                db.session.rollback()
                now = time.time()
                if rows:
                    last_id, last_seen = rows[-1].id, now
                    latencies.extend(now - row.ts.timestamp() for row in rows)
                elif now - last_seen > stall_seconds:
                    break
                time.sleep(POLL_SECONDS)
        return last_seen, latencies

    def counts(self):
        from sqlalchemy import func, select

        from app.extensions import db
        from app.models import Reading

        with self.app.app_context():
            rows = db.session.scalar(select(func.count(Reading.id)))
            distinct = select(Reading.device_id, Reading.ts).distinct().subquery()
            return rows, db.session.scalar(select(func.count()).select_from(distinct))


@contextmanager
def database(url):
    """A fresh database (SQLite, or a new database on the PostgreSQL server) and a work folder."""
    postgres = url if url and not url.startswith("sqlite") else None
    with (
        scratch_database(postgres) as database_url,
        tempfile.TemporaryDirectory(prefix="plantops-bench-ingest-", ignore_cleanup_errors=True) as workdir,
    ):
        yield bench_env(database_url, workdir), workdir


# -- /api/health while ingesting, and where the consumer's time goes ----------------------------------

HEALTH_BASELINE_SECONDS = 5.0


@contextmanager
def served_web(env, workers=2):
    """gunicorn with the shipped configuration on `env`'s database, MQTT off, probed on
    /api/health: yields (the prober of HEALTH_BASELINE_SECONDS alone, the prober running while
    the caller works). bench.readiness serves its web the same way."""
    from .fault_proof import HealthProber

    port = free_port()
    web_env = {**env, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers), "GUNICORN_THREADS": "4",
               "MQTT_ENABLED": "false", "LOG_LEVEL": "WARNING"}  # fmt: skip
    with open(Path(env["PLANTOPS_INSTANCE_PATH"]) / "gunicorn.log", "w") as log:
        web = subprocess.Popen(
            [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py"], cwd=ROOT, env=web_env, stdout=log, stderr=log
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}/api/health")
            alone = HealthProber(port)
            alone.start()
            time.sleep(HEALTH_BASELINE_SECONDS)
            alone.stop.set()
            alone.join()
            loaded = HealthProber(port)
            loaded.start()
            try:
                yield alone, loaded
            finally:
                loaded.stop.set()
                loaded.join()
        finally:
            web.send_signal(signal.SIGTERM)
            web.wait(timeout=60)


def health_line(label, prober):
    latencies = sorted(prober.latencies) or [float("nan")]
    not_200 = sum(1 for status in prober.statuses if status != 200)
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    return (
        f"/api/health {label:<26} {len(prober.statuses):>6} answers  not 200 {not_200:>3}  "
        f"refused {prober.refused:>3}  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  max {latencies[-1]:6.1f} ms"
    )


# Where a sample of the ingest process went: its innermost frame that one of these matches
# (commit first, wherever it is in the stack). py-spy names a frame "function (file:line)" and
# the stack's root "thread (id): name"; a sample whose innermost frame waits (a condition,
# select) is idle, py-spy's own idle detection misses some under load.
COMMIT_MARKS = ("commit (sqlalchemy/", "commit (psycopg/", "Session.commit")
PROFILE_PARTS = (
    ("routing and adapters", ("app/domain/sources/", "app/domain/payload")),
    ("writer SQL (SQLAlchemy, driver, server)", ("sqlalchemy/", "psycopg/", "sqlite3")),
    ("writer Python (store_batch, evaluation, detection)", ("app/ingest/writer.py", "app/alerts/", "app/care/",
                                                            "app/domain/")),
    ("JSON", ("json/",)),
    ("consumer callback (Delivery, queue, state)", ("app/ingest/consumer.py", "app/ingest/state.py")),
    ("MQTT client (paho: socket, packets, acks)", ("paho/",)),
    ("locks and queues (threading, queue)", ("threading.py", "queue.py")),
)  # fmt: skip
IDLE_MARKS = ("Condition.wait (threading.py", "Event.wait (threading.py", "select (selectors.py", "_sleep", "sleep (")


def sample_part(frames):
    if any(mark in frame for frame in frames for mark in COMMIT_MARKS):
        return "commit"
    for frame in reversed(frames):
        for name, marks in PROFILE_PARTS:
            if any(mark in frame for mark in marks):
                return name
    return "other"


def profile_summary(path):
    """Lines of where the busy samples went (share by part, then by thread) from py-spy's collapsed stacks."""
    parts, threads, busy, idle = {}, {}, 0, 0
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        thread, *frames = stack.split(";")
        if not frames or any(mark in frames[-1] for mark in IDLE_MARKS):
            idle += int(count)
            continue
        part = sample_part(frames)
        parts[part] = parts.get(part, 0) + int(count)
        name = thread.partition(": ")[2] or thread
        threads[name] = threads.get(name, 0) + int(count)
        busy += int(count)
    lines = [f"  busy samples {busy}, idle {idle}; by part:"]
    lines += [f"    {part:<52} {n / max(busy, 1):6.1%}" for part, n in sorted(parts.items(), key=lambda i: -i[1])]
    lines.append("  by thread:")
    lines += [f"    {name:<52} {n / max(busy, 1):6.1%}" for name, n in sorted(threads.items(), key=lambda i: -i[1])]
    return lines


# -- runs ---------------------------------------------------------------------------------------


def percentile(values, fraction):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(label, readings, started, finished, latencies, stored=None, duplicated=0, refused=0):
    stored = len(latencies) if stored is None else stored
    return {
        "label": label,
        "rate": stored / max(finished - started, 1e-9),
        "seconds": finished - started,
        "lost": readings - stored,
        "duplicated": duplicated,
        "refused": refused,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


def run_broker_only(args, workdir, devices):
    with broker(workdir) as port:
        ready, results = multiprocessing.Event(), multiprocessing.Queue()
        counter = multiprocessing.Process(target=broker_only_subscriber, args=(port, args.readings, ready, results))
        counter.start()
        ready.wait(30)
        started, reports = publish(port, devices, args.readings, args.publishers)
        report = results.get(timeout=900)
        counter.join()
    refused = sum(r["refused"] for r in reports)
    latencies = report["latencies"]
    return summary("broker only (parse + count)", args.readings, started, report["last"], latencies, refused=refused)


def run_consumer(label, args, env, workdir, devices, db, consumer, rate=0.0, **options):
    db.empty()
    with broker(workdir) as port, consumer(env, port, **options):
        seen = {}

        def watch():
            seen["last"], seen["latencies"] = db.watch(args.readings)

        watcher = threading.Thread(target=watch)
        watcher.start()
        started, reports = publish(port, devices, args.readings, args.publishers, rate)
        watcher.join()
    rows, distinct = db.counts()
    refused = sum(r["refused"] for r in reports)
    latencies = seen["latencies"]
    return summary(label, args.readings, started, seen["last"], latencies, distinct, rows - distinct, refused)


def line(result):
    return (
        f"{result['label']:<36} {result['rate']:>8.0f} readings/s  lost {result['lost']:>5}  "
        f"dup {result['duplicated']:>3}  refused {result['refused']:>4}  "
        f"p50 {result['p50_ms']:7.1f} ms  p99 {result['p99_ms']:7.1f} ms"
    )


def main():
    if "--parse" in sys.argv[1:]:
        from .sources import main as parse_rates

        parse_rates([arg for arg in sys.argv[1:] if arg != "--parse"])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=20_000)
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--naive-readings", type=int, help="readings for the naive run (default: --readings)")
    parser.add_argument("--database-url", help="PostgreSQL server URL (a fresh database is created on it)")
    parser.add_argument("--no-half", action="store_true", help="skip phase 4 (half rate)")
    parser.add_argument("--health", action="store_true", help="probe /api/health of a served web during phase 3")
    parser.add_argument("--profile", metavar="DIR", help="record the ingest process of phase 3 with py-spy")
    args = parser.parse_args()
    devices = device_ids(args.devices)

    with database(args.database_url) as (env, workdir):
        flask_cli(env, "db", "upgrade")
        db = Database(env)
        db.prepare(devices)
        backend = db.app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0]
        print(f"{args.readings} readings, {args.devices} devices, {args.publishers} publishers, QoS 1, {backend}")

        broker_only = run_broker_only(args, workdir, devices)
        print(line(broker_only), flush=True)
        naive_args = argparse.Namespace(**{**vars(args), "readings": args.naive_readings or args.readings})
        naive = run_consumer("naive (commit per message)", naive_args, env, workdir, devices, db, naive_consumer)
        print(line(naive), flush=True)
        with ExitStack() as stack:
            probes = stack.enter_context(served_web(env)) if args.health else None
            plantops = run_consumer(
                "PlantOps (flask ingest)", args, env, workdir, devices, db, plantops_consumer, profile=args.profile
            )
        print(line(plantops), flush=True)
        half = None
        if not args.no_half:
            half = run_consumer(
                f"PlantOps at {plantops['rate'] / 2:.0f}/s (half)",
                args,
                env,
                workdir,
                devices,
                db,
                plantops_consumer,
                rate=plantops["rate"] / 2,
            )
            print(line(half), flush=True)

    if probes:
        print(health_line(f"alone ({HEALTH_BASELINE_SECONDS:.0f} s)", probes[0]))
        print(health_line("while PlantOps ingested", probes[1]))
    if args.profile:
        print(f"where PlantOps' ingest process spent its samples (py-spy, {args.profile}/ingest.txt):")
        print("\n".join(profile_summary(Path(args.profile) / "ingest.txt")))
    print(
        f"PlantOps: {plantops['rate'] / broker_only['rate']:.2f}x the parse-and-count subscriber, "
        f"{plantops['rate'] / naive['rate']:.1f}x the naive one (same run)"
        + (f"; p99 {half['p99_ms']:.0f} ms at half its maximum rate" if half else "")
    )


if __name__ == "__main__":
    sys.exit(main())
