"""Cost of accounts: a signed-in page under load, and how long one sign-in takes (scrypt).

.venv/bin/python -m bench.auth [--seconds 8] [--connections 16]
"""

import argparse
import re
import statistics
import time

import requests

from .load import bench_env, flask_cli, gunicorn, row, wrk

PASSWORD = "bench password for plants"


def login(session, base, email, password):
    page = session.get(f"{base}/auth/login", timeout=10).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    started = time.perf_counter()
    response = session.post(
        f"{base}/auth/login",
        data={"email": email, "password": password, "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    return response.status_code, (time.perf_counter() - started) * 1000


def median_ms(samples):
    return statistics.median(ms for _, ms in samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()

    env = bench_env()
    flask_cli(env, "db", "upgrade")
    flask_cli(env, "users", "create", "bench@example.com", "--password", PASSWORD)
    with gunicorn(env, workers=2) as base:
        session = requests.Session()
        cases = {
            "right password": ("bench@example.com", PASSWORD),
            "wrong password": ("bench@example.com", "not the password!"),
            "unknown email": ("nobody@example.com", PASSWORD),
        }
        timings = {name: [] for name in cases}
        for _ in range(8):  # interleaved, so load from elsewhere hits every case alike
            for name, (email, password) in cases.items():
                timings[name].append(login(requests.Session(), base, email, password))
        assert login(session, base, "bench@example.com", PASSWORD)[0] == 303
        cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
        wrk(base + "/settings", 4, 2, headers={"Cookie": cookie})  # warm up both workers
        page = wrk(base + "/settings", args.connections, args.seconds, headers={"Cookie": cookie})
        anonymous = wrk(base + "/auth/login", args.connections, args.seconds)

    print(f"gunicorn 2 workers, SQLite, {args.connections} connections, {args.seconds} s each")
    print(row("GET /settings (signed in)", page))
    print(row("GET /auth/login (anonymous)", anonymous))
    print("POST /auth/login median: " + ", ".join(f"{name} {median_ms(t):.0f} ms" for name, t in timings.items()))


if __name__ == "__main__":
    main()
