"""Dashboard and plant page under load: seed plants and readings, serve with gunicorn, load with wrk.

.venv/bin/python -m bench.dashboard [--readings 5000000] [--small-readings 50000]
    [--plants 500] [--seconds 4] [--rounds 3] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Seeds two scratch databases (SQLite files, or with --database-url two new databases
on that PostgreSQL server, dropped afterwards), one with --readings and one with
--small-readings: 500 plants for one gardener (plus 50 for a second one) and the
readings straight into the database (executemany on SQLite, COPY on PostgreSQL).
The plant page's plant holds the same 30 days of readings (every 5 minutes) in
both; the rest of the readings are history of the other plants. Each database is
served by its own gunicorn (2 workers, 2 threads each, the shipped gunicorn.conf.py),
and wrk loads the dashboard fragment (50 and 500 plants), a plant page with its
7-day charts and the no-change poll at 8 and 32 connections. Each row runs --rounds
rounds, the two databases taking turns round by round, so that the comparison of
their costs is not the machine's drift; the round with the median p95 is printed.
"""

import argparse
import multiprocessing
import re
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import requests

from .load import (
    ACCEPT_ENCODING,
    access_log,
    bench_env,
    flask_cli,
    gunicorn,
    logged_times,
    median_run,
    row,
    scratch_database,
    sign_in,
    wrk,
    wrk_once,
    yardstick,
)

PASSWORD = "bench-password-123"
STEP = timedelta(minutes=5)
CHART_PLANT_READINGS = 30 * 24 * 12  # 30 days every 5 minutes
COLUMNS = ("device_id", "ts", "soil_moisture", "temperature", "humidity", "light", "battery")


def reading_values(i):
    return (30 + (i * 7) % 50, 15 + (i * 3) % 15, 40 + (i * 11) % 50, float((i * 131) % 20000), 100 - (i // 500) % 90)


def make_bench_app(env, **config):
    from app import create_app

    return create_app({"ENV": env, "INSTANCE_PATH": env["PLANTOPS_INSTANCE_PATH"], **config})


def seed_plants(db, now, plants, small_plants):
    """Returns (big user's plant ids, small user's plant ids)."""
    from app.auth.users import create_user
    from app.domain.metrics import KEYS
    from app.models import Device, Plant, PlantSensor
    from app.ownership import personal_garden_id

    ids = {}
    for email, count in (("big@bench.example", plants), ("small@bench.example", small_plants)):
        user = create_user(email, PASSWORD)
        garden_id = personal_garden_id(user.id)
        rows = [
            Plant(
                garden_id=garden_id,
                name=f"{email[:3]} plant {i:03d}",
                location=("Kitchen", "Balcony", "Greenhouse", "Office")[i % 4],
                soil_moisture_min=30.0,
                soil_moisture_max=70.0,
                temperature_min=10.0,
                temperature_max=28.0,
                humidity_min=35.0,
                humidity_max=85.0,
                light_min=100.0,
                light_max=18000.0,
            )
            for i in range(count)
        ]
        devices = [
            Device(namespace="", key=f"{email[:3]}-dev-{i:04d}", source="native", owner_id=user.id, metrics=[])
            for i in range(count)
        ]
        db.session.add_all(rows + devices)
        db.session.flush()
        db.session.add_all(
            PlantSensor(plant_id=p.id, metric=m, device_id=d.id)
            for p, d in zip(rows, devices, strict=True)
            for m in KEYS
        )
        ids[email] = [(p.id, d.id) for p, d in zip(rows, devices, strict=True)]
    db.session.commit()
    return ids["big@bench.example"], ids["small@bench.example"]


def reading_rows(plants, total, now):
    """The chart plant's 30 days first, then the rest spread over every plant, 5 minutes apart."""
    _, chart_device = plants[0]
    for i in range(CHART_PLANT_READINGS):
        yield (chart_device, now - STEP * i, *reading_values(i))
    rest = max(0, total - CHART_PLANT_READINGS)
    others = plants[1:]
    per_plant, extra = divmod(rest, len(others))
    for index, (_, device_id) in enumerate(others):
        for i in range(per_plant + (1 if index < extra else 0)):
            yield (device_id, now - STEP * i, *reading_values(i + index))


def sqlite_rows(rows):
    for device_id, ts, *values in rows:
        yield (device_id, ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"), *values)


def bulk_insert(db, rows):
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        if db.engine.dialect.name == "postgresql":
            with cursor.copy(f"COPY readings ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row_values in rows:
                    copy.write_row((row_values[0], row_values[1].replace(tzinfo=None), *row_values[2:]))
            cursor.execute("ANALYZE")
        else:
            cursor.execute("BEGIN")
            placeholders = ", ".join("?" for _ in COLUMNS)
            cursor.executemany(
                f"INSERT INTO readings ({', '.join(COLUMNS)}) VALUES ({placeholders})", sqlite_rows(rows)
            )
            cursor.execute("COMMIT")
            cursor.execute("ANALYZE")
        connection.commit()
    finally:
        connection.close()


def set_latest_state(db, now):
    """Each plant's latest state is its newest reading (index i = 0: `now`)."""
    from app.models import Plant

    soil, temperature, humidity, light, battery = reading_values(0)
    db.session.execute(
        Plant.__table__.update().values(
            last_reading_at=now,
            latest_soil_moisture=soil,
            latest_temperature=temperature,
            latest_humidity=humidity,
            latest_light=light,
            latest_battery=battery,
        )
    )
    db.session.commit()


def seed(env, total, plants, small_plants):
    from app.extensions import db

    app = make_bench_app(env)
    now = datetime.now(UTC).replace(microsecond=0)
    with app.app_context():
        big, small = seed_plants(db, now, plants, small_plants)
        started = time.perf_counter()
        bulk_insert(db, reading_rows(big + small, total, now))
        seconds = time.perf_counter() - started
        set_latest_state(db, now)
        db.engine.dispose()
    print(f"seeded {total:,} readings in {seconds:.1f} s ({total / seconds:,.0f} rows/s)")
    return big[0][0]


def signed_in_client(app, email):
    client = app.test_client()
    assert client.post("/auth/login", data={"email": email, "password": PASSWORD}).status_code == 303
    return client


def percentiles(times):
    """p50 and p95 of `times`."""
    times = sorted(times)
    if not times:
        return float("nan"), float("nan")
    return times[len(times) // 2], times[int(len(times) * 0.95)]


def server_times(client, url, headers, count=300):
    """Time spent serving `url` in the app (Flask test client, no network): p50, p95 in ms."""
    times, statuses = [], set()
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        statuses.add(response.status_code)
    return *percentiles(times), statuses


def unchanged_poll_times(client, headers):
    """The no-change poll; measured again if the 30 s clock bucket turned meanwhile."""
    for _ in range(3):
        version = version_in(client.get("/plants", headers={**headers, "Accept-Encoding": "identity"}).text)
        times = server_times(client, "/plants", {**headers, "If-None-Match": version})
        if times[2] == {304}:
            break
    return times


def version_in(html):
    """The entity tag the dashboard's poller sends back as If-None-Match."""
    return re.search(r'"If-None-Match": "(\\"[0-9a-f]+\\")"', html).group(1).replace("\\", "")


def current_version(url, headers):
    return version_in(requests.get(url, headers=headers, timeout=10).text)


def with_version(url, headers):
    """The poll's headers with the version the page shows now: the 30 s clock bucket turns
    during a row, and a poll sending the last bucket's version gets a render."""
    return {**headers, "If-None-Match": current_version(url, headers)}


def prepare(stack, args, total):
    """A scratch database seeded with `total` readings: its bench env and the charted plant."""
    database_url = stack.enter_context(scratch_database(args.database_url))
    workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="plantops-bench-dashboard-"))
    env = bench_env(database_url, workdir)
    flask_cli(env, "db", "upgrade")
    return env, seed(env, total, args.plants, args.small_plants)


def server_loads(base, args, chart_plant):
    """The rows' (label, url, headers) on one server, warmed up, and the poll's headers."""
    big, small = sign_in(base, "big@bench.example", PASSWORD), sign_in(base, "small@bench.example", PASSWORD)
    htmx = {"HX-Request": "true"}
    wrk(base + "/api/health/live", 4, 1)  # warm up both workers
    loads = [
        (f"fragment, {args.small_plants} plants", base + "/plants", {**htmx, **small}),
        (f"fragment, {args.plants} plants", base + "/plants", {**htmx, **big}),
        ("plant page, 7-day charts", base + f"/plants/{chart_plant}?range=7d", big),
    ]
    for _, url, headers in loads:
        wrk(url, 2, 1, headers)
    return loads, {**htmx, **big}


def alternate(targets, connections, args, fresh=lambda url, headers: headers):
    """Load each (url, headers) in turn, round after round, the order reversed every other
    round (each run inherits the last one's TIME_WAIT ports); the median round of each.
    `fresh(url, headers)` gives a round's headers."""
    runs = [[] for _ in targets]
    for number in range(args.rounds):
        order = range(len(targets)) if number % 2 == 0 else reversed(range(len(targets)))
        for index in order:
            url, headers = targets[index]
            runs[index].append(wrk_once(url, connections, args.seconds, fresh(url, headers), threads=2))
    return [median_run(target_runs) for target_runs in runs]


def measure(args, datasets):
    """Every row for every dataset, the datasets taking turns: this machine's speed drifts by
    up to 2x within minutes, and taking turns gives each dataset the same minutes."""
    results = [[] for _ in datasets]
    with ExitStack() as stack:
        bases = [stack.enter_context(gunicorn(env, workers=2, threads=2)) for env, _ in datasets]
        plans = [server_loads(base, args, chart) for base, (_, chart) in zip(bases, datasets, strict=True)]
        for row_index, (label, _, _) in enumerate(plans[0][0]):
            for connections in (8, 32):
                targets = [loads[row_index][1:] for loads, _ in plans]
                for dataset_results, result in zip(results, alternate(targets, connections, args), strict=True):
                    dataset_results.append((f"{label}, {connections} conn", result))
        targets = [(base + "/plants", poll) for base, (_, poll) in zip(bases, plans, strict=True)]
        for dataset_results, result in zip(results, alternate(targets, 32, args, with_version), strict=True):
            dataset_results.append((f"no-change poll, {args.plants} plants, 32 conn", result))
        # One client, so no request waits for another: gunicorn's own time for each poll.
        gunicorn_polls = [[] for _ in datasets]
        for _ in range(args.rounds):
            for times, base, (env, _), (_, poll) in zip(gunicorn_polls, bases, datasets, plans, strict=True):
                since = access_log(env).stat().st_size
                wrk(base + "/plants", 1, 3, headers=with_version(base + "/plants", poll))
                times += logged_times(env, since, 304)

    # In a new interpreter, as a gunicorn worker is: in the one that seeded, every request
    # ran a third slower (gc.freeze() after the seeding undid it).
    servers = []
    for (env, chart), times in zip(datasets, gunicorn_polls, strict=True):
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            server = pool.apply(in_process_times, (env, chart))
        server["gunicorn poll"] = (*percentiles(times), len(times))
        servers.append(server)
    return results, servers


def in_process_times(env, chart_plant):
    """Time spent in the app for the 500-plant poll and fragment and the plant page."""
    app = make_bench_app(env, WTF_CSRF_ENABLED=False)
    client = signed_in_client(app, "big@bench.example")
    htmx = {"HX-Request": "true", "Accept-Encoding": ACCEPT_ENCODING}
    server = {"poll": unchanged_poll_times(client, htmx)}
    server["render"] = server_times(client, "/plants", htmx)
    server["chart"] = server_times(client, f"/plants/{chart_plant}?range=7d", {}, count=60)
    with app.app_context():
        from app.extensions import db

        db.engine.dispose()
    return server


def report(total, results, server):
    print(f"\n== {total:,} readings ==")
    for label, result in results:
        print(row(label, result))
    for name, label in (("render", "fragment render"), ("poll", "no-change poll"), ("chart", "plant page 7 d")):
        p50, p95, statuses = server[name]
        print(f"server time, {label:<22} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  statuses {sorted(statuses)}")
    p50, p95, count = server["gunicorn poll"]
    print(f"gunicorn's time, no-change poll, 1 conn  p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  ({count} answers 304)")


def compare(totals, results, servers):
    (big, small), (big_results, small_results), (big_server, small_server) = totals, results, servers
    print(f"\n{big:,} against {small:,} readings (requests/s, p95):")
    for (label, at_big), (_, at_small) in zip(big_results, small_results, strict=True):
        rps, p95 = at_big["rps"] / at_small["rps"] - 1, at_big["p95_ms"] / at_small["p95_ms"] - 1
        print(f"  {label:<44} {rps:+6.0%}  {p95:+6.0%}")
    for name in ("render", "poll", "chart", "gunicorn poll"):
        print(f"  server time, {name:<31} {big_server[name][0] / small_server[name][0] - 1:+6.0%} at p50")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=5_000_000)
    parser.add_argument("--small-readings", type=int, default=50_000)
    parser.add_argument("--plants", type=int, default=500)
    parser.add_argument("--small-plants", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", help="a PostgreSQL server to make the scratch databases on")
    args = parser.parse_args()

    totals = (args.readings, args.small_readings)
    with ExitStack() as stack:
        datasets = [prepare(stack, args, total) for total in totals]
        before = yardstick()
        results, servers = measure(args, datasets)
        after = yardstick()
    print(f"\ngunicorn 2 workers x 2 threads, wrk {args.seconds} s per round, {args.rounds} rounds per row")
    print(f"yardstick (pure Python, lower is faster): {before:.0f} ms before the loads, {after:.0f} ms after")
    print(f"{args.plants} + {args.small_plants} plants")
    for total, dataset_results, server in zip(totals, results, servers, strict=True):
        report(total, dataset_results, server)
    compare(totals, results, servers)


if __name__ == "__main__":
    main()
