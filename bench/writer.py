"""The batch writer alone: store_batch + commit per 500-reading batch, several code versions side by side.

.venv/bin/python -m bench.writer [--rev old=f0bd9eb --rev new=.] [--rounds 7] [--batches 8] [--devices 10]
                                 [--database-url postgresql://postgres@127.0.0.1:5432/test] [--sqlite]
                                 [--profile DIR]

Each --rev (label=commit, "." = this working tree) is unpacked with git archive into a
temporary folder, gets a fresh database (SQLite, or a new database on the PostgreSQL server,
migrated by that version's `flask db upgrade`) with one plant bound to each of --devices
native devices, and a worker process of its own. Rounds alternate over the versions; a
round is one untimed warm-up batch and --batches timed ones of 500 native one-reading
messages, round-robin over the devices (each device a reading a minute, so app.care's
watering detection sees a realistic hour), parsed before the clock starts. Per batch the
worker measures wall time and its own CPU time (time.process_time: Python, SQLAlchemy and
the driver, not the server) of store_batch + commit. Printed: medians over every timed
batch of every round, and each version's ratio to the first. With --profile DIR each worker
runs its timed batches under cProfile (slower; for where the time goes, not for the figures)
and writes DIR/<database>-<label>.prof (`python -m pstats`).
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from .load import ROOT, bench_env, scratch_database

BATCH = 500

WORKER = r"""
import json, os, sys, time
from datetime import UTC, datetime, timedelta

from app import create_app
from app.extensions import db
from app import models
from app.ingest import writer
from app.domain import payload as native

devices = [f"bench-{i:03d}" for i in range(int(sys.argv[1]))]
app = create_app()
NEW = hasattr(models, "PlantSensor")
with app.app_context():
    user = models.User(email="bench@example.com", password_hash="-")
    db.session.add(user)
    db.session.flush()
    if NEW:
        from app.domain.metrics import KEYS
        if hasattr(models, "Garden"):  # since gardens (0009), plants and devices belong to a garden
            from app.domain.gardens import create_personal_garden
            scope = {"garden_id": create_personal_garden(db.session, user).id}
        else:
            scope = {"user_id": user.id}
        plants = [models.Plant(name=d, **scope) for d in devices]
        device_scope = {k: v for k, v in scope.items() if k == "garden_id"}
        sensors = [models.Device(namespace="", key=d, source="native", owner_id=user.id, metrics=[], **device_scope)
                   for d in devices]
        db.session.add_all(plants + sensors)
        db.session.flush()
        db.session.add_all(models.PlantSensor(plant_id=p.id, metric=m, device_id=s.id)
                           for p, s in zip(plants, sensors) for m in KEYS)
    else:
        db.session.add_all(models.Plant(user_id=user.id, name=d, device_id=d) for d in devices)
    db.session.commit()

start = datetime.now(UTC) - timedelta(days=20)
counter = 0

def batch():
    global counter
    now = datetime.now(UTC)
    out = []
    for i in range(500):
        device = devices[counter % len(devices)]
        ts = (start + timedelta(seconds=6 * counter)).isoformat()  # each device every minute
        body = json.dumps({"ts": ts, "soil_moisture": 40.0 + i % 7, "temperature": 21.5, "humidity": 55.0,
                           "light": 1200.0, "conductivity": 800.0, "battery": 90.0}).encode()
        topic = f"plantops/{device}/telemetry"
        result = native.parse_message(topic, body, "plantops", now)
        if NEW:
            out.append(writer.Delivery(topic, counter, 1, 0, result, time.monotonic(), payload=body))
        else:
            out.append(writer.Delivery(topic, counter, 1, 0, result, time.monotonic()))
        counter += 1
    return out

def write(deliveries):
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        outcome = writer.store_batch(db.session, deliveries, datetime.now(UTC))
        db.session.commit()
    finally:
        db.session.close()
    assert outcome.stored == len(deliveries), (outcome.stored, len(deliveries))
    return time.perf_counter() - wall, time.process_time() - cpu

profile_to = os.environ.get("BENCH_WRITER_PROFILE")
if profile_to:
    import cProfile
    profiler = cProfile.Profile()
    timed = write
    def write(deliveries):
        profiler.enable()
        try:
            return timed(deliveries)
        finally:
            profiler.disable()

with app.app_context():
    print("ready", flush=True)
    for line in sys.stdin:
        count = int(line)
        write(batch())
        timings = [write(b) for b in [batch() for _ in range(count)]]
        print(json.dumps(timings), flush=True)
if profile_to:
    profiler.dump_stats(profile_to)
"""


def unpack(rev, folder):
    if rev == ".":
        return ROOT
    target = Path(folder) / rev
    target.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def start_worker(tree, env, devices, script):
    migrate = subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "db", "upgrade"], cwd=tree, env=env,
                             capture_output=True, text=True)  # fmt: skip
    if migrate.returncode:
        raise SystemExit(f"bench: db upgrade in {tree} failed:\n{migrate.stderr}")
    worker = subprocess.Popen([str(ROOT / ".venv/bin/python"), script, str(devices)], cwd=tree, env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    if worker.stdout.readline().strip() != "ready":
        raise SystemExit(f"bench: the worker in {tree} did not start")
    return worker


def run(args, url, label):
    with tempfile.TemporaryDirectory(prefix="plantops-bench-writer-") as folder, ExitStack() as stack:
        script = Path(folder) / "worker.py"
        script.write_text(WORKER)
        workers = {}
        for name, rev in args.rev:
            tree = unpack(rev, folder)
            database_url = stack.enter_context(scratch_database(url))
            workdir = Path(folder) / f"instance-{name}"
            workdir.mkdir()
            env = bench_env(database_url, str(workdir), PYTHONPATH=str(tree))
            if args.profile:
                Path(args.profile).mkdir(parents=True, exist_ok=True)
                env["BENCH_WRITER_PROFILE"] = str(Path(args.profile).resolve() / f"{label}-{name}.prof")
            workers[name] = start_worker(tree, env, args.devices, str(script))
        timings = {name: [] for name in workers}
        try:
            for round_ in range(args.rounds):
                order = list(workers) if round_ % 2 == 0 else list(reversed(workers))
                for name in order:
                    workers[name].stdin.write(f"{args.batches}\n")
                    workers[name].stdin.flush()
                    line = workers[name].stdout.readline()
                    if not line:
                        raise SystemExit(f"bench: the {name} worker stopped")
                    timings[name] += json.loads(line)
        finally:
            for worker in workers.values():
                worker.stdin.close()
                worker.wait(30)
        first = None
        for name, values in timings.items():
            wall = statistics.median(v[0] for v in values) * 1000
            cpu = statistics.median(v[1] for v in values) * 1000
            first = first or (wall, cpu)
            print(
                f"{label:10} {name:8} batches {len(values):3}  wall {wall:7.1f} ms  cpu {cpu:6.1f} ms"
                f"  ({wall / first[0]:.2f}x / {cpu / first[1]:.2f}x)  {BATCH * 1000 / wall:7.0f} readings/s",
                flush=True,
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", action="append", help="label=commit ('.' = the working tree)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--devices", type=int, default=10)
    parser.add_argument("--database-url", help="PostgreSQL server URL (a fresh database per version)")
    parser.add_argument("--sqlite", action="store_true", help="SQLite too (always, without --database-url)")
    parser.add_argument("--profile", metavar="DIR", help="cProfile the timed batches: DIR/<database>-<label>.prof")
    args = parser.parse_args()
    args.rev = [tuple(r.split("=", 1)) for r in (args.rev or ["old=f0bd9eb", "new=."])]
    if args.database_url:
        run(args, args.database_url, "postgresql")
    if args.sqlite or not args.database_url:
        run(args, None, "sqlite")


if __name__ == "__main__":
    sys.exit(main())
