"""What the consumer callback spends per message, per source: routing and parsing, no broker, no database.

.venv/bin/python -m bench.sources [--seconds 0.3] [--rounds 21]   (also: python -m bench.ingest --parse)

Each source parses its documented messages (tests/fixtures/sources) over and over. The native
path is measured both ways in the same run, in alternating rounds so a slow minute of the VM
hits both; the best round is the figure to compare (as timeit advises: slower rounds are other
processes, not the code), the median is printed beside it. "before" is the parser the consumer
called until issue 17 (payload.parse_message: whole-item rejection, one subscription), "after"
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

from app.domain.payload import parse_message  # noqa: E402
from app.domain.sources.routing import Router, active_sources  # noqa: E402
from tests.fixtures.source_messages import fixtures  # noqa: E402

NOW = datetime(2026, 12, 1, 21, 30, tzinfo=UTC)
NATIVE_TOPIC = "plantops/balcony-basil/telemetry"
NATIVE_PAYLOAD = b'{"ts": 1796159100.5, "soil_moisture": 41.2, "temperature": 21.5, "battery": 87}'


def rate(work, seconds):
    """Calls of `work(n)` (n messages each) per second for about `seconds`."""
    done, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        done += work(200)
    return done / elapsed


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
    parser.add_argument("--seconds", type=float, default=0.3, help="per round and path")
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args(argv)

    after = native_after_with(Router("plantops", active_sources("plantops")))
    before_rates, after_rates = [], []
    for round_ in range(args.rounds):
        pair = [("before", native_before, before_rates), ("after", after, after_rates)]
        for _, work, rates in pair if round_ % 2 == 0 else reversed(pair):
            rates.append(rate(work, args.seconds))
    before, after_best = max(before_rates), max(after_rates)
    print(f"{'path':<44} {'best msg/s':>11} {'median':>9}")
    print(f"{'native before (payload.parse_message)':<44} {before:>11,.0f} {statistics.median(before_rates):>9,.0f}")
    print(
        f"{'native after (route + native adapter)':<44} {after_best:>11,.0f} {statistics.median(after_rates):>9,.0f}"
        f"   best {after_best / before - 1:+.1%}, median "
        f"{statistics.median(after_rates) / statistics.median(before_rates) - 1:+.1%}"
    )
    for fixture in fixtures():
        if fixture["source"] == "native":
            continue
        work = source_work(fixture)
        rates = [rate(work, args.seconds) for _ in range(max(3, args.rounds // 3))]
        print(f"{fixture.id:<44} {max(rates):>11,.0f} {statistics.median(rates):>9,.0f}")


if __name__ == "__main__":
    main()
