"""Dashboard and plant page under load: seed plants and readings, serve with gunicorn, load with wrk.

.venv/bin/python -m bench.dashboard [--readings 5000000] [--small-readings 50000]
    [--plants 500] [--seconds 6] [--rounds 3] [--database-url postgresql://...]

Seeds 500 plants for one gardener (plus 50 for a second one) and the readings
straight into the database (executemany on SQLite, COPY on PostgreSQL), then
loads the dashboard fragment (50 and 500 plants), the no-change poll and a
plant page with its 7-day charts at 8 and 32 connections under gunicorn
(2 workers, 2 threads each, the shipped gunicorn.conf.py); each load runs --rounds
times and the round with the median p95 is printed. The same runs follow at --small-readings, to show
that the cost does not grow with history. The plant page's plant holds the same
30 days of readings (every 5 minutes) in both runs; the rest of the readings
are history of the other plants. With --database-url the bench empties that
database's PlantOps tables first: point it at a scratch database.
"""

import argparse
import multiprocessing
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

import requests

from .load import access_log, bench_env, flask_cli, gunicorn, logged_times, row, sign_in, wrk

PASSWORD = "bench-password-123"
STEP = timedelta(minutes=5)
CHART_PLANT_READINGS = 30 * 24 * 12  # 30 days every 5 minutes
COLUMNS = ("plant_id", "device_id", "ts", "soil_moisture", "temperature", "humidity", "light", "battery")


def reading_values(i):
    return (30 + (i * 7) % 50, 15 + (i * 3) % 15, 40 + (i * 11) % 50, float((i * 131) % 20000), 100 - (i // 500) % 90)


def make_bench_app(env, **config):
    from app import create_app

    return create_app({"ENV": env, "INSTANCE_PATH": env["PLANTOPS_INSTANCE_PATH"], **config})


def empty_tables(db):
    from sqlalchemy import text

    tables = [t.name for t in db.metadata.sorted_tables]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
    else:
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
    db.session.commit()


def seed_plants(db, now, plants, small_plants):
    """Returns (big user's plant ids, small user's plant ids)."""
    from app.auth.users import create_user
    from app.models import Plant

    ids = {}
    for email, count in (("big@bench.example", plants), ("small@bench.example", small_plants)):
        user = create_user(email, PASSWORD)
        rows = [
            Plant(
                user_id=user.id,
                name=f"{email[:3]} plant {i:03d}",
                location=("Kitchen", "Balcony", "Greenhouse", "Office")[i % 4],
                device_id=f"{email[:3]}-dev-{i:04d}",
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
        db.session.add_all(rows)
        db.session.flush()
        ids[email] = [(p.id, p.device_id) for p in rows]
    db.session.commit()
    return ids["big@bench.example"], ids["small@bench.example"]


def reading_rows(plants, total, now):
    """The chart plant's 30 days first, then the rest spread over every plant, 5 minutes apart."""
    chart_id, chart_device = plants[0]
    for i in range(CHART_PLANT_READINGS):
        yield (chart_id, chart_device, now - STEP * i, *reading_values(i))
    rest = max(0, total - CHART_PLANT_READINGS)
    others = plants[1:]
    per_plant, extra = divmod(rest, len(others))
    for index, (plant_id, device_id) in enumerate(others):
        for i in range(per_plant + (1 if index < extra else 0)):
            yield (plant_id, device_id, now - STEP * i, *reading_values(i + index))


def sqlite_rows(rows):
    for plant_id, device_id, ts, *values in rows:
        yield (plant_id, device_id, ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"), *values)


def bulk_insert(db, rows):
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        if db.engine.dialect.name == "postgresql":
            with cursor.copy(f"COPY readings ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row_values in rows:
                    copy.write_row((*row_values[:2], row_values[2].replace(tzinfo=None), *row_values[3:]))
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
        empty_tables(db)
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


def server_times(client, url, headers, count=300):
    """Time spent serving `url` in the app (Flask test client, no network): p50, p95 in ms."""
    times, statuses = [], set()
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        statuses.add(response.status_code)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)], statuses


def unchanged_poll_times(client, headers):
    """The no-change poll; measured again if the 30 s clock bucket turned meanwhile."""
    for _ in range(3):
        html = client.get("/plants", headers=headers).text
        version = re.search(r'"X-Plants-Version": "([0-9a-f]+)"', html).group(1)
        times = server_times(client, "/plants", {**headers, "X-Plants-Version": version})
        if times[2] == {204}:
            break
    return times


def current_version(base, headers):
    html = requests.get(base + "/plants", headers=headers, timeout=10).text
    return re.search(r'"X-Plants-Version": "([0-9a-f]+)"', html).group(1)


def run(args, env, total):
    chart_plant = seed(env, total, args.plants, args.small_plants)
    results = []
    load = {"seconds": args.seconds, "rounds": args.rounds}
    with gunicorn(env, workers=2, threads=2) as base:
        big, small = sign_in(base, "big@bench.example", PASSWORD), sign_in(base, "small@bench.example", PASSWORD)
        htmx = {"HX-Request": "true"}
        wrk(base + "/api/health/live", 4, 1)  # warm up both workers
        targets = [
            (f"fragment, {args.small_plants} plants", "/plants", small, htmx),
            (f"fragment, {args.plants} plants", "/plants", big, htmx),
            ("plant page, 7-day charts", f"/plants/{chart_plant}?range=7d", big, {}),
        ]
        for label, path, browser, headers in targets:
            headers = {**headers, **browser}
            wrk(base + path, 2, 1, headers)
            for connections in (8, 32):
                result = wrk(base + path, connections, headers=headers, **load)
                results.append((f"{label}, {connections} conn", result))
        poll = {**htmx, **big, "X-Plants-Version": current_version(base, {**htmx, **big})}
        results.append(
            (f"no-change poll, {args.plants} plants, 32 conn", wrk(base + "/plants", 32, headers=poll, **load))
        )
        # One client, so no request waits for another: gunicorn's own time for each poll.
        poll["X-Plants-Version"] = current_version(base, {**htmx, **big})
        since = access_log(env).stat().st_size
        wrk(base + "/plants", 1, 3, headers=poll)
        gunicorn_poll = logged_times(env, since, 204)

    # In a new interpreter, as a gunicorn worker is: in this one, after seeding, every request
    # ran a third slower (gc.freeze() after the seeding undid it).
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        server = pool.apply(in_process_times, (env, chart_plant))
    server["gunicorn poll"] = gunicorn_poll
    return results, server


def in_process_times(env, chart_plant):
    """Time spent in the app for the 500-plant poll and fragment and the plant page."""
    app = make_bench_app(env, WTF_CSRF_ENABLED=False)
    client = signed_in_client(app, "big@bench.example")
    htmx = {"HX-Request": "true"}
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
    print(f"gunicorn's time, no-change poll, 1 conn  p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  ({count} answers 204)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=5_000_000)
    parser.add_argument("--small-readings", type=int, default=50_000)
    parser.add_argument("--plants", type=int, default=500)
    parser.add_argument("--small-plants", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    figures = []
    for total in (args.readings, args.small_readings):
        workdir = tempfile.mkdtemp(prefix="plantops-bench-dashboard-")
        env = bench_env(args.database_url, workdir)
        flask_cli(env, "db", "upgrade")
        figures.append((total, *run(args, env, total)))
    print(f"\ngunicorn 2 workers x 2 threads, wrk {args.seconds} s per row; {args.plants} + {args.small_plants} plants")
    for total, results, server in figures:
        report(total, results, server)
    (big_total, big_results, _), (small_total, small_results, _) = figures
    print(f"\nrequests/s at {big_total:,} vs {small_total:,} readings:")
    for (label, big), (_, small) in zip(big_results, small_results, strict=True):
        print(f"  {label:<44} {big['rps'] / small['rps'] - 1:+.0%}")


if __name__ == "__main__":
    main()
