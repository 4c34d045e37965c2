"""Load /api/health and /api/health/live under gunicorn (2 workers) and print the figures.

.venv/bin/python -m bench.health [--seconds 10] [--connections 32] [--database-url URL]

Runs twice: with the shipped default (no keep-alive: every request a new connection, as
behind a proxy that opens one per request) and with GUNICORN_KEEPALIVE=5 (a load balancer
that reuses its connections). At thousands of new connections a second over loopback the
first shows TCP's connection churn in its tail, not the endpoint's cost.
"""

import argparse

from .load import bench_env, flask_cli, gunicorn, row, wrk


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    env = bench_env(args.database_url)
    flask_cli(env, "db", "upgrade")
    print(f"gunicorn 2 workers, {args.connections} connections, {args.seconds} s each")
    for keepalive in (0, 5):
        with gunicorn({**env, "GUNICORN_KEEPALIVE": str(keepalive)}, workers=2) as base:
            wrk(base + "/api/health", 4, 2)  # warm up both workers
            live = wrk(base + "/api/health/live", args.connections, args.seconds)
            ready = wrk(base + "/api/health", args.connections, args.seconds)
        print(f"GUNICORN_KEEPALIVE={keepalive}")
        print(row("GET /api/health/live", live))
        print(row("GET /api/health", ready))
        print(f"/api/health serves {ready['rps'] / live['rps']:.0%} of /api/health/live's requests/s")


if __name__ == "__main__":
    main()
