import json

from app.domain.payload import parse_message
from app.ingest.simulator import MALFORMED_PAYLOADS, SimulatedPlant, simulate
from tests.unit.test_payload import NOW


def run(devices=3, count=200, interval=60.0, malformed_rate=0.0, seed=7):
    sent = []
    clock = [NOW.timestamp() - count * interval]

    def sleep(seconds):
        clock[0] += seconds

    total = simulate(
        lambda device, payload: sent.append((device, payload)),
        devices,
        interval,
        count,
        malformed_rate,
        seed,
        clock=lambda: clock[0],
        sleep=sleep,
    )
    return total, sent


def test_every_simulated_reading_meets_the_payload_contract():
    total, sent = run()
    assert total == len(sent) == 600
    assert {device for device, _ in sent} == {"sim-001", "sim-002", "sim-003"}
    for device, payload in sent:
        result = parse_message(f"plantops/{device}/telemetry", payload, "plantops", NOW)
        assert not result.rejections, payload
        assert set(result.readings[0].values) == {"soil_moisture", "temperature", "humidity", "light", "battery"}


def test_soil_dries_then_jumps_back_when_watered_and_battery_drains():
    plant = SimulatedPlant.create(1, seed=1)
    readings = [plant.reading(NOW.timestamp() + 600 * n) for n in range(400)]
    moisture = [r["soil_moisture"] for r in readings]
    drops = sum(1 for a, b in zip(moisture, moisture[1:], strict=False) if b < a)
    waterings = sum(1 for a, b in zip(moisture, moisture[1:], strict=False) if b > a + 20)
    assert drops > 300
    assert waterings >= 1
    assert readings[-1]["battery"] < readings[0]["battery"]


def test_light_follows_the_day_and_is_dark_at_night():
    plant = SimulatedPlant.create(1, seed=1)
    day = [plant.reading(NOW.timestamp() + 900 * n) for n in range(96)]
    assert min(r["light"] for r in day) == 0
    assert max(r["light"] for r in day) > 1000
    temperatures = [r["temperature"] for r in day]
    assert max(temperatures) - min(temperatures) > 5


def test_malformed_rate_mixes_in_broken_messages():
    _, sent = run(devices=5, count=100, malformed_rate=0.2)
    broken = [payload for _, payload in sent if payload in MALFORMED_PAYLOADS]
    assert 50 < len(broken) < 150
    for payload in broken:
        assert parse_message("plantops/sim-001/telemetry", payload, "plantops", NOW).rejections


def test_same_seed_same_readings():
    assert run(seed=3)[1] == run(seed=3)[1]
    assert json.loads(run(seed=3)[1][0][1])["ts"] > 0
