"""Simulated sensors for demos and load: plausible readings, published over MQTT.

Temperature and light follow the time of day, humidity moves against the
temperature, soil moisture dries a little with every reading (faster when it
is warm and bright) and jumps back when the plant is "watered", and the
battery drains slowly. `--malformed-rate` mixes in broken messages so the
dashboard's rejection counts have something to show.
"""

import json
import math
import random
import time
from dataclasses import dataclass

MALFORMED_PAYLOADS = (
    b"{not json",
    b'{"temperature": NaN}',
    b'{"soil_moisture": 140}',
    b'{"temperature": "warm"}',
    b'{"firmware": "1.0.3"}',
    b"\xff\xfe\x00",
)


@dataclass
class SimulatedPlant:
    device_id: str
    rng: random.Random
    soil_moisture: float = 60.0
    battery: float = 100.0
    dry_per_reading: float = 0.4
    water_below: float = 22.0
    base_temperature: float = 20.0
    peak_light: float = 20_000.0

    @classmethod
    def create(cls, number, seed=None):
        rng = random.Random(f"{seed}-{number}" if seed is not None else None)
        return cls(
            device_id=f"sim-{number:03d}",
            rng=rng,
            soil_moisture=rng.uniform(35, 75),
            battery=rng.uniform(60, 100),
            dry_per_reading=rng.uniform(0.2, 0.8),
            water_below=rng.uniform(18, 28),
            base_temperature=rng.uniform(17, 23),
            peak_light=rng.uniform(5_000, 40_000),
        )

    def reading(self, ts):
        """The next reading at Unix time `ts` (local solar time taken as the machine's local time)."""
        local = time.localtime(ts)
        hour = local.tm_hour + local.tm_min / 60 + local.tm_sec / 3600
        daylight = max(0.0, math.sin(math.pi * (hour - 6) / 12))  # 0 at night, 1 at noon
        warmth = math.sin(math.pi * (hour - 9) / 12)  # coolest near 03:00, warmest near 15:00
        temperature = self.base_temperature + 5 * warmth + self.rng.gauss(0, 0.3)
        light = self.peak_light * daylight * self.rng.uniform(0.6, 1.0)
        humidity = 60 - 2.5 * (temperature - self.base_temperature) + self.rng.gauss(0, 1.5)

        self.soil_moisture -= self.dry_per_reading * (0.6 + 0.8 * daylight) + self.rng.gauss(0, 0.05)
        if self.soil_moisture < self.water_below:
            self.soil_moisture = self.rng.uniform(65, 85)  # watered
        self.battery = max(0.0, self.battery - self.rng.uniform(0.001, 0.01))

        return {
            "ts": ts,
            "soil_moisture": round(clamp(self.soil_moisture, 0, 100), 1),
            "temperature": round(clamp(temperature, -40, 85), 2),
            "humidity": round(clamp(humidity, 0, 100), 1),
            "light": round(light),
            "battery": round(self.battery, 1),
        }


def clamp(value, low, high):
    return max(low, min(high, value))


def simulate(publish, devices, interval, count=None, malformed_rate=0.0, seed=None, clock=time.time, sleep=time.sleep):
    """Publish one reading per device every `interval` seconds, `count` rounds (None: forever).

    `publish(device_id, payload_bytes)` sends one message. Returns how many
    messages were published.
    """
    plants = [SimulatedPlant.create(n, seed) for n in range(1, devices + 1)]
    rng = random.Random(seed)
    sent, done = 0, 0
    next_round = clock()
    while count is None or done < count:
        now = clock()
        for plant in plants:
            if malformed_rate and rng.random() < malformed_rate:
                publish(plant.device_id, rng.choice(MALFORMED_PAYLOADS))
            else:
                publish(plant.device_id, json.dumps(plant.reading(now)).encode())
            sent += 1
        done += 1
        if count is not None and done >= count:
            break
        next_round += interval
        sleep(max(0.0, next_round - clock()))
    return sent
