"""Proof under faults: exactly-once ingestion while gunicorn workers crash and stop.

.venv/bin/python -m bench.fault_proof [--readings 50000] [--devices 200] [--workers 4] [--no-faults]
    [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

gunicorn (gunicorn.conf.py, `--workers` workers, each with its MQTT consumer on
the shared subscription) on a scratch PostgreSQL database and a Mosquitto of its
own on a free port. A publisher sends `--readings` QoS 1 readings for
`--devices` claimed devices. When a quarter of them are stored one worker gets
SIGKILL, at a half another gets SIGTERM. Meanwhile a prober asks /api/health
every 20 ms on a fresh connection (as a load balancer does). At the end every
reading must be stored exactly once, gunicorn must run `--workers` workers again
(two of them new), and every health answer must have been 200.
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from app.domain.metrics import KEYS

from .load import BIN, ROOT, bench_env, flask_cli, free_port, scratch_database, wait_for_port

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class Figures:
    published: int = 0
    stored: int = 0
    distinct: int = 0
    seconds: float = 0.0
    killed: list = field(default_factory=list)  # (signal name, pid, stored when sent)
    workers_before: list = field(default_factory=list)
    workers_after: list = field(default_factory=list)
    health_answers: int = 0
    health_not_200: int = 0
    health_refused: int = 0
    health_p50_ms: float = 0.0
    health_p99_ms: float = 0.0
    health_max_ms: float = 0.0

    @property
    def lost(self):
        return self.published - self.distinct

    @property
    def duplicated(self):
        return self.stored - self.distinct

    @property
    def restarted(self):
        return len(set(self.workers_after) - set(self.workers_before))

    def lines(self):
        signals = ", ".join(f"{name} to worker {pid} at {at:,} stored" for name, pid, at in self.killed)
        return [
            f"readings published {self.published:,}, stored {self.stored:,}, "
            f"duplicated {self.duplicated:,}, lost {self.lost:,} "
            f"({self.seconds:.1f} s, {self.distinct / max(self.seconds, 0.001):,.0f} readings/s)",
            f"faults: {signals or 'none'}",
            f"workers: {len(self.workers_before)} before, {len(self.workers_after)} after, "
            f"{self.restarted} replaced by gunicorn",
            f"/api/health: {self.health_answers:,} answers, {self.health_not_200} not 200, "
            f"{self.health_refused} connections refused or reset; "
            f"p50 {self.health_p50_ms:.1f} ms, p99 {self.health_p99_ms:.1f} ms, max {self.health_max_ms:.1f} ms",
        ]


class Broker:
    """Mosquitto on a free port, with the queue bound raised as docs/contracts.md requires."""

    def __init__(self, workdir):
        self.port = free_port()
        config = Path(workdir) / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n"
            "max_inflight_messages 0\nmax_queued_bytes 268435456\npersistence false\n"
            f"log_dest file {workdir}/mosquitto.log\n"
        )
        mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.process = subprocess.Popen([mosquitto, "-c", str(config)], stderr=subprocess.DEVNULL)
        wait_for_port(self.port)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


class HealthProber(threading.Thread):
    """GET /api/health every `interval` seconds on a new connection; records every answer."""

    def __init__(self, port, interval=0.02, host="127.0.0.1"):
        super().__init__(daemon=True)
        self.host, self.port, self.interval = host, port, interval
        self.stop = threading.Event()
        self.latencies, self.statuses, self.refused = [], [], 0
        self.sent_at = []  # monotonic time each answered probe was sent, beside `latencies`
        self.failures = []  # (monotonic time sent, status or the error) of every answer not 200

    def run(self):
        while not self.stop.is_set():
            sent, started = time.monotonic(), time.perf_counter()
            connection = http.client.HTTPConnection(self.host, self.port, timeout=5)
            try:
                connection.request("GET", "/api/health")
                response = connection.getresponse()
                response.read()
                self.statuses.append(response.status)
                self.latencies.append((time.perf_counter() - started) * 1000)
                self.sent_at.append(sent)
                if response.status != 200:
                    self.failures.append((sent, response.status))
            except OSError as error:
                self.refused += 1
                self.failures.append((sent, repr(error)))
            finally:
                connection.close()
            self.stop.wait(self.interval)

    def fill(self, figures):
        latencies = sorted(self.latencies) or [0.0]
        figures.health_answers = len(self.statuses)
        figures.health_not_200 = sum(1 for status in self.statuses if status != 200)
        figures.health_refused = self.refused
        figures.health_p50_ms = latencies[len(latencies) // 2]
        figures.health_p99_ms = latencies[max(0, int(len(latencies) * 0.99) - 1)]
        figures.health_max_ms = latencies[-1]


def worker_pids(master_pid):
    path = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    return sorted(int(pid) for pid in path.read_text().split()) if path.exists() else []


def seed(database_url, devices):
    """One gardener whose plants claim devices fp-0000 ... ; returns the device ids."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    now = datetime.now(UTC).replace(tzinfo=None)
    device_ids = [f"fp-{n:04d}" for n in range(devices)]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (email, password_hash, session_version, is_admin, disabled, timezone, created_at) "
                "VALUES ('fault@example.com', 'x', 1, false, false, 'UTC', :now)"
            ),
            {"now": now},
        )
        garden_id = conn.execute(
            text(
                "INSERT INTO gardens (name, personal_of_id, created_at) VALUES ('Fault garden', 1, :now) RETURNING id"
            ),
            {"now": now},
        ).scalar_one()
        conn.execute(
            text("INSERT INTO garden_members (garden_id, user_id, role, joined_at) VALUES (:g, 1, 'owner', :now)"),
            {"g": garden_id, "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO plants (garden_id, name, species, location, notes, stale_after_minutes, "
                "created_at, updated_at) VALUES (:g, :device, '', '', '', 60, :now, :now)"
            ),
            [{"g": garden_id, "device": device, "now": now} for device in device_ids],
        )
        # Each plant's sensor, owned by the gardener and bound for every metric (docs/contracts.md, "Devices").
        conn.execute(
            text(
                "INSERT INTO devices (namespace, key, source, owner_id, garden_id, name, model, first_seen_at, "
                "message_count, metrics, calibration, field_map, last_raw) "
                "VALUES ('', :device, 'native', 1, :g, '', '', :now, 0, '[]', '{}', '{}', '{}')"
            ),
            [{"g": garden_id, "device": device, "now": now} for device in device_ids],
        )
        conn.execute(
            text(
                "INSERT INTO plant_sensors (plant_id, metric, device_id) "
                "SELECT plants.id, :metric, devices.id FROM plants JOIN devices ON devices.key = plants.name"
            ),
            [{"metric": metric} for metric in KEYS],
        )
    return engine, device_ids


def stored_counts(engine):
    with engine.connect() as conn:
        row = conn.execute(text("SELECT count(*), count(DISTINCT (device_id, ts)) FROM readings")).one()
    return row[0], row[1]


def publish(port, device_ids, readings, published, host="127.0.0.1"):
    """QoS 1 readings, each (device, ts) unique; `published[0]` counts the acknowledged ones."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="fault-proof-publisher", protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(500)
    client.max_queued_messages_set(0)
    client.on_publish = lambda *args: published.__setitem__(0, published[0] + 1)
    client.connect(host, port)
    client.loop_start()
    start = datetime.now(UTC) - timedelta(days=1)
    infos = []
    for i in range(readings):
        device = device_ids[i % len(device_ids)]
        ts = (start + timedelta(seconds=i // len(device_ids))).timestamp()
        payload = json.dumps({"ts": ts, "soil_moisture": 20 + i % 60, "temperature": 15 + i % 10})
        infos.append(client.publish(f"plantops/{device}/telemetry", payload, qos=1))
    for info in infos:
        info.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()


def run(readings=50_000, devices=200, workers=4, server_url=DEFAULT_SERVER, timeout=240.0, log=print, faults=True):
    """Run the proof and return its Figures."""
    figures = Figures()
    workdir = tempfile.mkdtemp(prefix="plantops-fault-")
    with scratch_database(server_url) as database_url:
        broker = Broker(workdir)
        env = bench_env(
            database_url,
            workdir,
            MQTT_ENABLED="true",
            MQTT_HOST="127.0.0.1",
            MQTT_PORT=broker.port,
            LOG_LEVEL="INFO",
            WEB_CONCURRENCY=workers,
            GUNICORN_THREADS=2,
            BIND=f"127.0.0.1:{free_port()}",
            GUNICORN_MAX_REQUESTS=0,
        )
        flask_cli(env, "db", "upgrade")
        engine, device_ids = seed(database_url, devices)
        port = int(env["BIND"].rsplit(":", 1)[1])
        with open(Path(workdir) / "gunicorn.log", "w") as gunicorn_log:
            master = subprocess.Popen(
                [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py"],
                cwd=ROOT,
                env=env,
                stdout=gunicorn_log,
                stderr=gunicorn_log,
            )
            prober = HealthProber(port)
            try:
                wait_until_consuming(port, workers, master)
                figures.workers_before = worker_pids(master.pid)
                prober.start()
                published = [0]
                started = time.monotonic()
                publisher = threading.Thread(target=publish, args=(broker.port, device_ids, readings, published))
                publisher.start()
                faults = [(readings // 4, signal.SIGKILL), (readings // 2, signal.SIGTERM)] if faults else []
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    stored, distinct = stored_counts(engine)
                    if faults and stored >= faults[0][0]:
                        _, sig = faults.pop(0)
                        victim = next(p for p in worker_pids(master.pid) if p not in [k[1] for k in figures.killed])
                        os.kill(victim, sig)
                        figures.killed.append((sig.name, victim, stored))
                        log(f"  {sig.name} -> worker {victim} at {stored:,} stored")
                    if distinct >= readings and not publisher.is_alive():
                        break
                    time.sleep(0.1)
                figures.seconds = time.monotonic() - started
                publisher.join(timeout=30)
                time.sleep(1.0)  # anything still in flight lands or never will
                figures.published = published[0]
                figures.stored, figures.distinct = stored_counts(engine)
                wait_for_workers(master, workers)
                figures.workers_after = worker_pids(master.pid)
            finally:
                prober.stop.set()
                prober.join(timeout=10)
                prober.fill(figures)
                master.send_signal(signal.SIGTERM)
                master.wait(timeout=60)
                broker.stop()
                engine.dispose()
    shutil.rmtree(workdir, ignore_errors=True)
    return figures


def wait_until_consuming(port, workers, master, timeout=60.0):
    """Every worker is up and the consumers are subscribed before the first reading goes out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if master.poll() is not None:
            raise RuntimeError("gunicorn exited; see its log")
        if len(worker_pids(master.pid)) == workers:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            try:
                connection.request("GET", "/api/health")
                body = json.loads(connection.getresponse().read())
                if body["checks"]["mqtt"]["status"] == "connected":
                    time.sleep(1.0)  # the other workers' consumers subscribe meanwhile
                    return
            except (OSError, ValueError, KeyError):
                pass
            finally:
                connection.close()
        time.sleep(0.2)
    raise TimeoutError("the consumers did not connect")


def wait_for_workers(master, workers, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(worker_pids(master.pid)) < workers:
        time.sleep(0.1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=50_000)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--no-faults", action="store_true", help="no kills: readiness under full ingestion load")
    parser.add_argument(
        "--database-url", default=DEFAULT_SERVER, help="a PostgreSQL server to make a scratch database on"
    )
    args = parser.parse_args()
    load = f"{args.readings:,} QoS 1 readings, {args.devices} devices"
    print(f"fault proof: gunicorn {args.workers} workers, PostgreSQL, {load}")
    figures = run(args.readings, args.devices, args.workers, args.database_url, faults=not args.no_faults)
    for line in figures.lines():
        print(line)
    ok = (
        figures.lost == 0
        and figures.duplicated == 0
        and figures.published == args.readings
        and len(figures.workers_after) == args.workers
        and figures.restarted == (0 if args.no_faults else 2)
        and figures.health_not_200 == 0
    )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
