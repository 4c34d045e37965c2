"""Load GET /api/v1/tasks (5,000 tasks) and GET /api/v1/plants (500 plants) under gunicorn.

.venv/bin/python -m bench.api [--seconds 10] [--rounds 3] [--workers 2] [--threads 1] [--database-url URL]

Serves with the shipped gunicorn.conf.py; each load runs --rounds times and the round with
the median p95 is printed, with the range of p95 over the rounds.

Goals (issue #8): /api/v1/tasks p95 under 30 ms at 8 clients; /api/v1/plants at least 200 requests/s.
"""

import argparse
import random
from datetime import UTC, date, datetime, timedelta

from .load import bench_env, flask_cli, gunicorn, row, wrk

TASKS = 5_000
PLANTS = 500
CLIENTS = (8, 32)


def seed(env):
    """One gardener with PLANTS plants (with latest readings) and TASKS tasks; returns a token."""
    from app import create_app
    from app.auth import tokens
    from app.auth.users import create_user
    from app.domain.devices import bind_device, device_for_key
    from app.extensions import db
    from app.models import Plant, Task
    from app.ownership import personal_garden_id

    keys = ("PLANTOPS_ENV", "DATABASE_URL", "MQTT_ENABLED", "LOG_LEVEL", "API_RATE_LIMIT")
    app = create_app({"ENV": {k: env[k] for k in keys}, "INSTANCE_PATH": env["PLANTOPS_INSTANCE_PATH"]})
    now = datetime.now(UTC)
    rng = random.Random(8)
    with app.app_context():
        user = create_user("bench@example.com", "bench-password-1")
        garden_id = personal_garden_id(user.id)
        plants = [
            Plant(
                garden_id=garden_id,
                name=f"Plant {n:03d}",
                species="Monstera",
                location="Living room",
                soil_moisture_min=30,
                soil_moisture_max=70,
                temperature_min=10,
                temperature_max=30,
                last_reading_at=now - timedelta(minutes=rng.randint(0, 90)),
                latest_soil_moisture=rng.uniform(20, 80),
                latest_temperature=rng.uniform(15, 25),
                latest_humidity=rng.uniform(40, 60),
                latest_light=rng.uniform(100, 2000),
                latest_battery=rng.uniform(10, 100),
            )
            for n in range(PLANTS)
        ]
        db.session.add_all(plants)
        db.session.flush()
        for n, plant in enumerate(plants):
            bind_device(db.session, plant, device_for_key(db.session, user, f"bench-{n:03d}"))
        db.session.add_all(
            Task(
                garden_id=garden_id,
                plant_id=plants[n % PLANTS].id,
                title=f"Water plant {n % PLANTS:03d}",
                description="Use rain water.",
                due_date=date.today() + timedelta(days=n % 60),
                recurrence_days=7 if n % 3 == 0 else None,
                completed=n % 4 == 0,
            )
            for n in range(TASKS)
        )
        _, raw = tokens.create_token(user, "bench")
        db.session.commit()
        db.engine.dispose()
    return raw


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    env = bench_env(args.database_url, API_RATE_LIMIT=1_000_000)
    flask_cli(env, "db", "upgrade")
    token = seed(env)
    headers = {"Authorization": f"Bearer {token}"}
    results = []
    load = {"seconds": args.seconds, "rounds": args.rounds}
    with gunicorn(env, workers=args.workers, threads=args.threads) as base:
        wrk(base + "/api/v1/plants", 4, 2, headers)  # warm up every worker
        # One client: the service time itself.
        for path in ("/api/v1/tasks", "/api/v1/plants"):
            results.append((f"GET {path}, 1 client (service time)", wrk(base + path, 1, headers=headers, **load)))
        for path, label in (
            ("/api/v1/tasks", f"GET /api/v1/tasks ({TASKS} tasks)"),
            ("/api/v1/plants", f"GET /api/v1/plants ({PLANTS} plants)"),
        ):
            for clients in CLIENTS:
                result = wrk(base + path, clients, headers=headers, **load)
                results.append((f"{label}, {clients} clients", result))
        # A yardstick for how fast the machine is; last and short, as its thousands of new
        # connections a second leave the loopback's ports in TIME_WAIT.
        results.append(("GET /api/health/live, 8 clients (yardstick)", wrk(base + "/api/health/live", 8, 2)))

    print(
        f"gunicorn {args.workers} workers x {args.threads} threads, {args.rounds} rounds of {args.seconds} s, "
        f"{env['DATABASE_URL'].split(':')[0]}"
    )
    for label, result in results:
        print(row(label, result))


if __name__ == "__main__":
    main()
