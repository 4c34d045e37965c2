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
import subprocess
import sys
import tempfile
import time

from .fault_proof import Figures
from .ingest import HEALTH_BASELINE_SECONDS, served_web
from .load import ROOT, bench_env, flask_cli, scratch_database


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
        env = bench_env(database_url, tempfile.mkdtemp(prefix="plantops-ready-"))
        flask_cli(env, "db", "upgrade")
        with served_web(env, workers=args.workers) as (alone, loaded):
            started = time.monotonic()
            ingest = subprocess.run(
                [sys.executable, "-m", "bench.ingest", *ingest_args], cwd=ROOT, capture_output=True, text=True
            )
            elapsed = time.monotonic() - started

    print(ingest.stdout.strip())
    if ingest.returncode:
        print(ingest.stderr.strip()[-2000:])
    print(f"/api/health alone ({HEALTH_BASELINE_SECONDS:.0f} s): {probe_figures(alone)}")
    print(f"/api/health while bench.ingest ran ({elapsed:.0f} s): {probe_figures(loaded)}")
    return ingest.returncode


if __name__ == "__main__":
    sys.exit(main())
