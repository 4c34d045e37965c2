"""Load the task list (page and htmx fragment) of a gardener with 5,000 tasks under gunicorn.

.venv/bin/python -m bench.tasks [--tasks 5000] [--seconds 10] [--rounds 3] [--connections 8]
    [--workers 2] [--threads 1] [--database-url URL]

Serves with the shipped gunicorn.conf.py. Each load runs --rounds times; the round with the
median p95 is printed, with the range of p95 over the rounds. The health probe at the same
connections, measured last for 2 s, is a yardstick for how fast the machine is at the time.

Goal: the list fragment's p95 under 30 ms with 8 concurrent clients.
"""

import argparse
import random
import shutil
import tempfile
from datetime import UTC, date, datetime, timedelta

import requests
from sqlalchemy import insert

from .load import bench_env, flask_cli, gunicorn, row, sign_in, wrk

EMAIL = "bench@example.com"
PASSWORD = "bench-password-123"
TITLES = ("Water", "Mist", "Feed", "Repot", "Prune", "Check the soil of", "Turn", "Wipe the leaves of")


def seed(env, count):
    """`count` tasks for the bench user: a third done, most dated within two months, some on plants."""
    from app import create_app
    from app.extensions import db
    from app.models import Plant, Task, User
    from app.ownership import personal_garden_id

    app = create_app({"ENV": env, "INSTANCE_PATH": env["PLANTOPS_INSTANCE_PATH"]})
    rng = random.Random(4)
    now = datetime.now(UTC)
    with app.app_context():
        user_id = db.session.scalar(db.select(User.id).where(User.email == EMAIL))
        garden_id = personal_garden_id(user_id)
        plants = [Plant(garden_id=garden_id, name=name) for name in ("Fern", "Basil", "Monstera", "Roses", "Tomatoes")]
        db.session.add_all(plants)
        db.session.flush()
        rows = []
        for n in range(count):
            plant = rng.choice([None, *plants])
            done = rng.random() < 0.33
            rows.append(
                {
                    "garden_id": garden_id,
                    "plant_id": plant and plant.id,
                    "source": "alert" if rng.random() < 0.05 else "user",
                    "title": f"{rng.choice(TITLES)} the {plant.name if plant else 'garden'} #{n}",
                    "description": "Use rain water, not too much." if rng.random() < 0.3 else "",
                    "due_date": None if rng.random() < 0.1 else date.today() + timedelta(days=rng.randint(-30, 60)),
                    "recurrence_days": rng.choice([None, None, None, 2, 3, 7]),
                    "completed": done,
                    "completed_at": now if done else None,
                    "created_at": now - timedelta(minutes=count - n),
                    "updated_at": now,
                }
            )
        db.session.execute(insert(Task), rows)
        db.session.commit()
        db.engine.dispose()


def check(base, path, headers, expect):
    answer = requests.get(base + path, headers=headers, allow_redirects=False, timeout=10)
    if answer.status_code != 200 or expect not in answer.text:
        raise SystemExit(f"bench: {path} answered {answer.status_code} without {expect!r}")
    return len(answer.content)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="plantops-bench-tasks-")
    try:
        run(args, bench_env(args.database_url, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(args, env):
    flask_cli(env, "db", "upgrade")
    flask_cli(env, "users", "create", EMAIL, "--password", PASSWORD)
    seed(env, args.tasks)

    with gunicorn(env, workers=args.workers, threads=args.threads) as base:
        browser = sign_in(base, EMAIL, PASSWORD)
        htmx = {**browser, "HX-Request": "true"}
        targets = [
            ("GET /tasks (full page)", "/tasks", browser, "<html"),
            ("GET /tasks (htmx fragment)", "/tasks", htmx, 'id="task-tabs"'),
            ("GET /tasks?status=pending (htmx fragment)", "/tasks?status=pending", htmx, 'id="task-tabs"'),
            ("GET /tasks?page=40 (htmx, show more)", "/tasks?page=40", {**htmx, "HX-Target": "more-tasks"}, "task"),
        ]
        sizes = [check(base, path, headers, expect) for _, path, headers, expect in targets]
        wrk(base + "/tasks", 4, 2, htmx)  # warm up every worker
        load = {"seconds": args.seconds, "rounds": args.rounds}
        results = [
            (label, wrk(base + path, args.connections, headers=headers, **load)) for label, path, headers, _ in targets
        ]
        # One client: the latency is the service time, the figure the machine's load distorts least.
        single = wrk(base + "/tasks", 1, headers=htmx, **load)
        # Last and short: thousands of new connections a second leave the loopback's ports in
        # TIME_WAIT, which would stall the rows measured after it.
        yardstick = wrk(base + "/api/health/live", args.connections, 2)

    print(
        f"{args.tasks} tasks, gunicorn {args.workers} workers x {args.threads} threads, {args.connections} "
        f"connections, {args.rounds} rounds of {args.seconds} s, {env['DATABASE_URL'].split(':')[0]}"
    )
    print(row("GET /api/health/live (yardstick)", yardstick))
    for (label, result), size in zip(results, sizes, strict=True):
        print(row(label, result), f" {size / 1024:.0f} KiB")
    print(row("GET /tasks (htmx fragment, 1 connection)", single))
    fragment_p95 = results[1][1]["p95_ms"]
    print(f"fragment p95 {fragment_p95:.1f} ms (goal: under 30 ms): {'met' if fragment_p95 < 30 else 'NOT met'}")


if __name__ == "__main__":
    main()
