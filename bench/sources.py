"""What the consumer callback spends per message, per source: routing and parsing, no broker, no database.

.venv/bin/python -m bench.sources [--repeats 200]   (also: python -m bench.ingest --parse)

Each source parses its documented messages (tests/fixtures/sources) over and over. The native
path is measured both ways in the same run, in interleaved runs of 2,000 messages so a slow
minute of the VM hits both; the best run is the figure to compare (as timeit advises: slower rounds are other
processes, not the code), the median is printed beside it. "before" is the parser the consumer
called until issue 17 (payload.parse_message at commit 54762d7, read from git: whole-item
rejection, one subscription), "after"
is today's callback work (Router.route, then the native adapter with partial acceptance).
Prints messages/s.
"""

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import importlib.util  # noqa: E402
import subprocess  # noqa: E402

from app.domain.sources.routing import Router, active_sources  # noqa: E402
from tests.fixtures.source_messages import fixtures  # noqa: E402

NOW = datetime(2026, 12, 1, 21, 30, tzinfo=UTC)
NATIVE_TOPIC = "plantops/balcony-basil/telemetry"
NATIVE_PAYLOAD = b'{"ts": 1796159100.5, "soil_moisture": 41.2, "temperature": 21.5, "battery": 87}'


def best_rate(works, repeats, calls=2000):
    """Messages/s of each `work(n)`: the best and the median of `repeats` short timed runs, interleaved."""
    timings = [[] for _ in works]
    for _ in range(repeats):
        for index, work in enumerate(works):
            started = time.perf_counter()
            done = work(calls)
            timings[index].append(done / (time.perf_counter() - started))
    return [(max(rates), statistics.median(rates)) for rates in timings]


# The native parser as it was before issue 17 (the commit the sources work started from).
BEFORE_COMMIT = "54762d7"


def load_before():
    source = subprocess.run(
        ["git", "-C", str(Path(__file__).resolve().parent.parent), "show", f"{BEFORE_COMMIT}:app/domain/payload.py"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    spec = importlib.util.spec_from_loader("app.domain.payload_before_17", loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "app.domain"
    exec(compile(source, "payload@" + BEFORE_COMMIT, "exec"), module.__dict__)  # noqa: S102 (our own history)
    return module.parse_message


parse_message = load_before()


def native_before(n):
    for _ in range(n):
        parse_message(NATIVE_TOPIC, NATIVE_PAYLOAD, "plantops", NOW)
    return n


def native_after_with(router):
    def work(n):
        for _ in range(n):
            route = router.route(NATIVE_TOPIC)
            route.source.adapter.parse(route.topic, NATIVE_PAYLOAD, NOW, route.source.options)
        return n

    return work


def source_work(fixture):
    rows = {}
    if fixture.get("base_topic") or fixture["options"]:
        rows[fixture["source"]] = {
            "kind": fixture["source"].split("-")[0],
            "enabled": True,
            "base_topic": fixture.get("base_topic", {"tasmota": "tele"}.get(fixture["source"], "")),
            "options": fixture["options"],
        }
    router = Router("plantops", active_sources("plantops", rows))
    messages = [(m["topic"], m["payload"].encode()) for m in fixture["messages"]]

    def work(n):
        count = 0
        while count < n:
            for topic, payload in messages:
                route = router.route(topic)
                if route is not None:
                    route.source.adapter.parse(route.topic, payload, NOW, route.source.options)
                count += 1
        return count

    return work


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200, help="timed runs of 2,000 messages per path")
    args = parser.parse_args(argv)

    after = native_after_with(Router("plantops", active_sources("plantops")))
    (before, before_median), (after_best, after_median) = best_rate([native_before, after], args.repeats)
    print(f"{'path':<44} {'best msg/s':>11} {'median':>9}")
    print(f"{'native before (payload.parse_message)':<44} {before:>11,.0f} {before_median:>9,.0f}")
    print(
        f"{'native after (route + native adapter)':<44} {after_best:>11,.0f} {after_median:>9,.0f}"
        f"   best {after_best / before - 1:+.1%}, median {after_median / before_median - 1:+.1%}"
    )
    others = [f for f in fixtures() if f["source"] != "native"]
    for fixture, (best, median) in zip(
        others, best_rate([source_work(f) for f in others], args.repeats // 4), strict=True
    ):
        print(f"{fixture.id:<44} {best:>11,.0f} {median:>9,.0f}")


if __name__ == "__main__":
    main()
