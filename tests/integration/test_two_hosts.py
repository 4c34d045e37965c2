"""Two hosts, one database, one broker: PlantOps under gunicorn (2 workers, each with its MQTT
consumer) in each of two network namespaces of this machine, against one PostgreSQL (reached
through a TCP relay on the bridge, tests/fixtures/tcp_relay.py) and one Mosquitto on the bridge.
50,000 QoS 1 readings from 200 devices; at a quarter stored every process of the first host gets
SIGKILL. Mosquitto keeps routing the dead host's share of the shared subscription to its
persistent sessions (and keeps what was in flight to them there), so the surviving host cannot
store those; the first host is then started again, as its service manager would, resumes its
sessions (same host name and instance folder: the same client ids) and drains them. Every reading
is stored exactly once, a session signed in on one host is valid on the other, and /api/health on
the surviving host answers 200 throughout (docs/architecture.md, "Several hosts")."""

import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import make_url, text

from app.auth.users import hash_password
from bench import fault_proof
from bench.load import flask_cli, scratch_database, sign_in

from .. import conftest
from ..fixtures.netns import Host, free_port_on

pytestmark = [pytest.mark.slow, pytest.mark.database, pytest.mark.timeout(300)]  # reads DATABASE_URL itself

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
READINGS, DEVICES = 50_000, 200
KILL_AT = READINGS // 4
HTTP_PORT = 8000
EMAIL, PASSWORD = "fault@example.com", "two-hosts-password-1"


@pytest.fixture
def postgres_server():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql")):
        pytest.skip("runs in the PostgreSQL pass (DATABASE_URL=postgresql://...): two hosts share one PostgreSQL")
    return url


@pytest.fixture
def processes():
    """start(argv, log_path, **popen): a process killed after the test."""
    started: list[tuple[subprocess.Popen, object]] = []

    def start(argv, log_path, **popen):
        log = open(log_path, "a")  # noqa: SIM115  (closed by the fixture)
        process = subprocess.Popen(argv, stdout=popen.pop("stdout", log), stderr=log, **popen)
        started.append((process, log))
        return process

    yield start
    # SIGKILL: nothing they hold matters once the test is over, and gunicorn's graceful stop
    # takes seconds; the hosts fixture then kills whatever is left in the namespaces.
    for process, log in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
        log.close()


def start_broker(start, gateway, workdir):
    port = free_port_on(gateway)
    config = workdir / "mosquitto.conf"
    # As in deploy/mosquitto.conf: no per-client bound on queued or in-flight messages; `user root`
    # because as root Mosquitto otherwise drops to its own user, who may not write this folder.
    config.write_text(
        f"listener {port} {gateway}\nallow_anonymous true\nuser root\nmax_queued_messages 0\n"
        f"max_queued_bytes 268435456\nmax_inflight_messages 0\npersistence false\n"
        f"log_dest file {workdir / 'mosquitto.log'}\n"
    )
    start(["mosquitto", "-c", str(config)], workdir / "mosquitto.out")
    wait_for(lambda: connectable(gateway, port), 10, "Mosquitto did not listen")
    return port


def start_relay(start, gateway, server_url, workdir):
    """The relay from the bridge to PostgreSQL; returns its port."""
    server = make_url(server_url)
    relay = start(
        [
            sys.executable,
            "-m",
            "tests.fixtures.tcp_relay",
            gateway,
            server.host or "127.0.0.1",
            str(server.port or 5432),
        ],
        workdir / "relay.log",
        stdout=subprocess.PIPE,
        cwd=ROOT,
        text=True,
    )
    return int(relay.stdout.readline())


def connectable(address, port):
    import socket

    try:
        with socket.create_connection((address, port), timeout=0.2):
            return True
    except OSError:
        return False


def stored(engine):
    """Readings stored (each (device, ts) at most once: the table's unique key)."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM readings")).scalar_one()


def wait_for(condition, timeout, message, interval=0.05):
    """Wait until condition() is true; `message` (a string, or a function making one) says what did not happen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise TimeoutError(message() if callable(message) else message)


def start_host(start, host: Host, env, log_path, workers=2):
    """gunicorn in `host`'s namespace; returns once each worker's consumer has connected and subscribed."""
    start([*host.command(str(BIN / "gunicorn"), "--config", "gunicorn.conf.py")], log_path, cwd=ROOT, env=env)
    wait_for(
        lambda: log_path.read_text().count("ingest: connected to") >= workers, 45, f"{host.hostname} did not consume"
    )
    time.sleep(0.5)  # each consumer subscribes right after it connects


def counts_by_device(engine):
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT device_id, count(*) FROM readings GROUP BY device_id")).all())


def signed_in_on(base, headers):
    """Whether the browser with `headers` sees its plants on `base` (not sent to the login page)."""
    answer = requests.get(base + "/plants", headers=headers, allow_redirects=False, timeout=10)
    return answer.status_code == 200 and "fp-0000" in answer.text


def percentiles(latencies):
    if not latencies:
        return "-"
    p50, p99 = latencies[len(latencies) // 2], latencies[max(0, int(len(latencies) * 0.99) - 1)]
    return f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms"


def test_two_hosts_store_every_reading_once_when_one_dies_and_the_other_stays_healthy(
    postgres_server, hosts, processes, tmp_path
):
    network = hosts(2)
    doomed, survivor = network.hosts
    broker_port = start_broker(processes, network.gateway, tmp_path)
    with scratch_database(postgres_server) as database_url:
        root_env = {"PATH": os.environ["PATH"], **conftest.test_env(database_url)}
        flask_cli(root_env, "db", "upgrade")
        engine, device_ids = fault_proof.seed(database_url, DEVICES)
        prober = fault_proof.HealthProber(HTTP_PORT, interval=0.05, host=survivor.address)
        try:
            with engine.begin() as conn:
                conn.execute(text("UPDATE users SET password_hash = :hash"), {"hash": hash_password(PASSWORD)})
            relay_port = start_relay(processes, network.gateway, database_url, tmp_path)
            over_relay = make_url(database_url).set(host=network.gateway, port=relay_port)

            def env_of(host):
                instance = tmp_path / host.hostname  # a host's own disk: secrets in the environment
                instance.mkdir(exist_ok=True)
                return {
                    "PATH": os.environ["PATH"],
                    **conftest.test_env(
                        over_relay.render_as_string(hide_password=False),
                        PLANTOPS_INSTANCE_PATH=instance,
                        MQTT_ENABLED="true",
                        MQTT_HOST=network.gateway,
                        MQTT_PORT=broker_port,
                        BIND=f"{host.address}:{HTTP_PORT}",
                        WEB_CONCURRENCY=2,
                        GUNICORN_THREADS=2,
                        LOG_LEVEL="INFO",
                    ),
                }

            with ThreadPoolExecutor(2) as boot:  # both hosts boot at once
                booted = [
                    boot.submit(start_host, processes, host, env_of(host), tmp_path / f"{name}-1.log")
                    for host, name in ((doomed, "doomed"), (survivor, "survivor"))
                ]
                for host in booted:
                    host.result()
            doomed_base = f"http://{doomed.address}:{HTTP_PORT}"
            survivor_base = f"http://{survivor.address}:{HTTP_PORT}"
            assert "session resumed: True" not in (tmp_path / "doomed-1.log").read_text()

            browser = sign_in(doomed_base, EMAIL, PASSWORD)
            assert signed_in_on(survivor_base, browser), "a session signed in on one host is not valid on the other"

            prober.start()
            published = [0]
            publisher = threading.Thread(
                target=fault_proof.publish,
                args=(broker_port, device_ids, READINGS, published),
                kwargs={"host": network.gateway},
                daemon=True,
            )
            started = time.monotonic()
            publisher.start()
            wait_for(lambda: stored(engine) >= KILL_AT, 90, "the hosts stored too little", interval=0.2)
            published_at_kill, stored_at_kill = published[0], stored(engine)
            killed_at = time.monotonic()
            killed = doomed.kill_everything()
            still_signed_in = signed_in_on(survivor_base, browser)

            publisher.join(timeout=60)
            last, steady_since = -1, time.monotonic()
            while time.monotonic() - steady_since < 2.0:  # the survivor stores all it was given
                now_stored = stored(engine)
                if now_stored != last:
                    last, steady_since = now_stored, time.monotonic()
                time.sleep(0.2)
            stored_before_restart = last
            held = published[0] - stored_before_restart

            restarted_at = time.monotonic()
            start_host(processes, doomed, env_of(doomed), tmp_path / "doomed-2.log")
            wait_for(
                lambda: stored(engine) >= READINGS,
                90,
                lambda: (
                    f"the restarted host did not drain: {READINGS:,} published, "
                    f"{stored(engine):,} stored 90 s after it started"
                ),
                interval=0.2,
            )
            drained = time.monotonic() - restarted_at
            total = time.monotonic() - started
            other_way = signed_in_on(doomed_base, sign_in(survivor_base, EMAIL, PASSWORD))
            time.sleep(1.0)  # anything still in flight lands now or never
            prober.stop.set()
            prober.join(timeout=10)  # before the answers are read
            figures = fault_proof.Figures(published=published[0], seconds=total)
            prober.fill(figures)
            figures.stored, figures.distinct = fault_proof.stored_counts(engine)
            per_device = counts_by_device(engine)
            resumed = re.findall(r"session resumed: (\w+)", (tmp_path / "doomed-2.log").read_text())
        finally:
            prober.stop.set()
            engine.dispose()

    phases = {"before the kill": (0, killed_at), "host down": (killed_at, restarted_at),
              "restart and drain": (restarted_at, float("inf"))}  # fmt: skip
    by_phase = {
        name: sorted(ms for sent, ms in zip(prober.sent_at, prober.latencies, strict=True) if start <= sent < end)
        for name, (start, end) in phases.items()
    }
    rate_two_hosts = stored_at_kill / max(killed_at - started, 0.001)
    in_flight = published_at_kill - stored_at_kill  # acknowledged by the broker, not yet committed
    lines = [
        f"two hosts: {figures.published:,} published, {figures.stored:,} stored, {figures.distinct:,} distinct "
        f"in {total:.1f} s ({figures.distinct / total:,.0f} readings/s overall, "
        f"{rate_two_hosts:,.0f}/s on both hosts before the kill)",
        f"SIGKILL to {len(killed)} processes of {doomed.hostname} at {killed_at - started:.1f} s: "
        f"{stored_at_kill:,} stored, {published_at_kill:,} published ({in_flight:,} in flight)",
        f"held for the killed host until it came back: {held:,} (the survivor had stored {stored_before_restart:,}); "
        f"restarted at {restarted_at - started:.1f} s, all stored {drained:.1f} s later (sessions resumed: {resumed})",
        f"/api/health on {survivor.hostname}: {figures.health_answers:,} answers, {figures.health_not_200} not 200, "
        f"{figures.health_refused} refused or reset; p50 {figures.health_p50_ms:.1f} ms, "
        f"p99 {figures.health_p99_ms:.1f} ms, max {figures.health_max_ms:.1f} ms",
        *(f"  {name}: {len(ms)} answers, {percentiles(ms)}" for name, ms in by_phase.items()),
        *(f"  not 200 at {sent - started:.1f} s: {what}" for sent, what in prober.failures),
    ]
    print("\n" + "\n".join(lines))
    assert figures.published == READINGS
    assert (figures.stored, figures.distinct) == (READINGS, READINGS)
    assert sorted(per_device.values()) == [READINGS // DEVICES] * DEVICES
    assert len(killed) >= 3  # the master and both workers
    assert resumed == ["True", "True"]  # the restarted host took up its own sessions again
    assert still_signed_in, "the session stopped being valid on the survivor when the other host died"
    assert other_way, "a session signed in on the survivor is not valid on the restarted host"
    assert figures.health_answers > 0
    assert (figures.health_not_200, figures.health_refused) == (0, 0)
