"""Shared pieces of the benchmarks: serve PlantOps under gunicorn, load it with wrk.

wrk (Debian package `wrk`) generates the load from C, so the Python load
generator does not compete with the server for the machine's two cores.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

WRK_REPORT = """
done = function(summary, latency, requests)
  io.write(string.format('{"requests": %d, "seconds": %f, "bytes": %d, "errors": %d, "non2xx": %d, '
    .. '"p50_ms": %f, "p95_ms": %f, "p99_ms": %f}\\n',
    summary.requests, summary.duration / 1e6, summary.bytes,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


# wrk replays one browser's requests, so they carry the User-Agent it signed in with:
# Flask-Login's session protection hashes it, and a different one (wrk sends none) marks
# the session non-fresh on every request, which re-signs and re-sends the cookie each time.
# They also accept what Chromium accepts over plain HTTP (br and zstd only over HTTPS).
USER_AGENT = "PlantOps-bench"
ACCEPT_ENCODING = "gzip, deflate"


def sign_in(base, email, password):
    """Sign in like a browser (CSRF token from the form); returns the headers that replay
    that browser: its cookies and its User-Agent."""
    browser = requests.Session()
    browser.headers["User-Agent"] = USER_AGENT
    page = browser.get(base + "/auth/login", timeout=10).text
    token = re.search(r'name="csrf_token"[^>]* value="([^"]+)"', page).group(1)
    answer = browser.post(
        base + "/auth/login",
        data={"email": email, "password": password, "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    if answer.status_code != 303:
        raise SystemExit(f"bench: sign-in as {email} failed with {answer.status_code}")
    browser.get(base + "/plants", timeout=10)  # the first page gives the session its CSRF token
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
    headers = {"Cookie": cookie, "User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING}
    if "Set-Cookie" in requests.get(base + "/plants", headers=headers, timeout=10).headers:
        raise SystemExit("bench: replaying the signed-in browser changes its session on every request")
    return headers


def yardstick():
    """This machine's speed right now: ms for a fixed piece of pure Python, best of 5. The
    VM's speed moves by 2x and more between runs; figures of two runs compare at equal ones."""
    times = []
    for _ in range(5):
        started = time.perf_counter()
        sum(i * i for i in range(1_000_000))
        times.append((time.perf_counter() - started) * 1000)
    return min(times)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


def bench_env(database_url=None, workdir=None, **extra):
    workdir = workdir or tempfile.mkdtemp(prefix="plantops-bench-")
    env = {
        **os.environ,
        "PLANTOPS_ENV": "development",
        "PLANTOPS_INSTANCE_PATH": str(workdir),
        "DATABASE_URL": database_url or f"sqlite:///{workdir}/bench.db",
        "MQTT_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


def flask_cli(env, *args):
    command = [str(BIN / "flask"), "--app", "wsgi", *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"bench: flask {' '.join(args)} failed:\n{done.stderr.strip()}")


@contextmanager
def scratch_database(server_url=None):
    """A new, empty database for one bench run, removed afterwards: a SQLite file in a
    temporary folder, or with a PostgreSQL server URL a database of its own on that server."""
    if server_url and not server_url.startswith(("postgres://", "postgresql")):
        raise SystemExit("bench: --database-url names a PostgreSQL server; leave it out for SQLite")
    if not server_url:
        with tempfile.TemporaryDirectory(prefix="plantops-bench-db-") as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    from sqlalchemy import create_engine, make_url, text

    from app.config import database_url

    server = make_url(database_url(server_url))
    name = f"plantops_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# Status, then gunicorn's own time for the request in microseconds (from the parsed
# request to the response written), then the request line.
ACCESS_LOG_FORMAT = '%(s)s %(D)s "%(r)s"'


def access_log(env):
    return Path(env["PLANTOPS_INSTANCE_PATH"]) / "access.log"


def logged_times(env, since, status):
    """gunicorn's times in ms of the `status` answers logged after byte `since`."""
    with access_log(env).open() as log:
        log.seek(since)
        return [int(line.split()[1]) / 1000 for line in log if line.startswith(f"{status} ")]


@contextmanager
def gunicorn(env, workers=2, threads=1):
    """Serve wsgi:app with the shipped gunicorn.conf.py on a free port; yields the base URL.

    The access log goes to a file in the instance folder, as a production log goes to
    its journal, rather than through this process's terminal, in ACCESS_LOG_FORMAT.
    """
    port = free_port()
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--config",
            str(ROOT / "gunicorn.conf.py"),
            "--access-logfile",
            str(access_log(env)),
            "--access-logformat",
            ACCESS_LOG_FORMAT,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/api/health/live")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_until_up(url, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not come up")


def wrk(url, connections, seconds, headers=None, threads=2, rounds=1):
    """Load `url` and return requests/s, p50/p95/p99 in ms, errors.

    With `rounds` > 1 the load runs that many times and the run with the median p95
    is returned, with the lowest and highest p95 seen: this machine is a VM whose
    speed swings by up to a factor of two from one minute to the next.
    """
    return median_run([wrk_once(url, connections, seconds, headers, threads) for _ in range(rounds)])


def median_run(runs):
    """The run with the median p95; with several, also the lowest and highest p95 seen."""
    runs = sorted(runs, key=p95)
    result = runs[len(runs) // 2]
    if len(runs) > 1:
        result["p95_range"] = (p95(runs[0]), p95(runs[-1]))
    return result


def p95(result):
    return result["p95_ms"]


def wrk_once(url, connections, seconds, headers, threads):
    if not shutil.which("wrk"):
        sys.exit("bench: wrk is missing: apt-get install -y wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_REPORT)
    command = ["wrk", "-t", str(min(threads, connections)), "-c", str(connections), "-d", f"{seconds}s"]
    command += ["-s", script.name, "--timeout", "5s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    result = json.loads(output.strip().splitlines()[-1])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def row(label, result):
    spread = ""
    if "p95_range" in result:
        spread = "  (p95 of the rounds: {:.1f} to {:.1f} ms)".format(*result["p95_range"])
    return (
        f"{label:<44} {result['rps']:>9.0f} req/s  {result['bytes'] / max(result['requests'], 1) / 1000:6.1f} kB  "
        f"p50 {result['p50_ms']:6.2f} ms  "
        f"p95 {result['p95_ms']:6.2f} ms  p99 {result['p99_ms']:6.2f} ms  errors {result['errors'] + result['non2xx']}"
        + spread
    )
