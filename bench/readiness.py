"""Readiness under load: /api/health latency while `bench.ingest` ingests at full rate.

.venv/bin/python -m bench.readiness [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
    [--workers 2] [-- ARGS FOR bench.ingest]

Serves the web (gunicorn.conf.py, `--workers` workers, MQTT off: the topology with a
dedicated ingest process) on a scratch database of the same server that
`bench.ingest` uses, probes /api/health every 20 ms on a fresh connection as a
load balancer does, first for 5 s alone, then for as long as `bench.ingest`
runs. Prints the probe's p50/p99/max for both periods and bench.ingest's own
report. Goal: p99 under 50 ms while ingesting.
"""

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .fault_proof import Figures, HealthProber
from .load import BIN, ROOT, bench_env, flask_cli, free_port, scratch_database, wait_until_up

BASELINE_SECONDS = 5.0


def probe_figures(prober):
    figures = Figures()
    prober.fill(figures)
    return (
        f"{figures.health_answers:,} answers, {figures.health_not_200} not 200, {figures.health_refused} refused; "
        f"p50 {figures.health_p50_ms:.1f} ms, p99 {figures.health_p99_ms:.1f} ms, max {figures.health_max_ms:.1f} ms"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server (default: SQLite files)")
    parser.add_argument("--workers", type=int, default=2)
    args, ingest_args = parser.parse_known_args()
    ingest_args = [a for a in ingest_args if a != "--"]
    if args.database_url:
        ingest_args += ["--database-url", args.database_url]

    with scratch_database(args.database_url) as database_url:
        port = free_port()
        env = bench_env(database_url, tempfile.mkdtemp(prefix="plantops-ready-"), BIND=f"127.0.0.1:{port}")
        env.update(WEB_CONCURRENCY=str(args.workers), GUNICORN_THREADS="4", LOG_LEVEL="WARNING")
        flask_cli(env, "db", "upgrade")
        with open(Path(env["PLANTOPS_INSTANCE_PATH"]) / "gunicorn.log", "w") as log:
            web = subprocess.Popen(
                [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py"], cwd=ROOT, env=env, stdout=log, stderr=log
            )
            try:
                wait_until_up(f"http://127.0.0.1:{port}/api/health")
                alone = HealthProber(port)
                alone.start()
                time.sleep(BASELINE_SECONDS)
                alone.stop.set()
                alone.join()

                loaded = HealthProber(port)
                loaded.start()
                started = time.monotonic()
                ingest = subprocess.run(
                    [sys.executable, "-m", "bench.ingest", *ingest_args], cwd=ROOT, capture_output=True, text=True
                )
                elapsed = time.monotonic() - started
                loaded.stop.set()
                loaded.join()
            finally:
                web.send_signal(signal.SIGTERM)
                web.wait(timeout=60)

    print(ingest.stdout.strip())
    if ingest.returncode:
        print(ingest.stderr.strip()[-2000:])
    print(f"/api/health alone ({BASELINE_SECONDS:.0f} s): {probe_figures(alone)}")
    print(f"/api/health while bench.ingest ran ({elapsed:.0f} s): {probe_figures(loaded)}")
    return ingest.returncode


if __name__ == "__main__":
    sys.exit(main())
