"""Seven days of believable history for the demo garden, so the first look at a plant shows
what PlantOps is for: day and night light, soil drying and waterings, logged care.

`history()` is pure (a seeded generator); `seed_demo_history()` writes it for the demo
account's plants that have a device bound and no history yet, once. The simulator then
carries on live from the newest reading (`flask simulate --demo`).
"""

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ..domain.gardens import personal_garden_id
from ..domain.metrics import KEYS
from ..domain.types import DbSession
from ..models import CareEvent, Device, Plant, PlantSensor, Reading, Task, User

DAYS = 7
EVERY = timedelta(minutes=10)


@dataclass
class History:
    readings: list[dict] = field(default_factory=list)  # {"ts", metric: value}
    events: list[dict] = field(default_factory=list)  # {"kind", "at", "note", "amount", "detected"}


def history(rng: random.Random, start: datetime, end: datetime, zone, every: timedelta = EVERY) -> History:
    """Readings every `every` from `start` to `end`, with waterings when the soil gets dry."""
    out = History()
    peak = rng.uniform(15_000, 35_000)
    base_temperature = rng.uniform(18, 22)
    soil = rng.uniform(55, 70)
    dry_below = rng.uniform(28, 34)
    battery = rng.uniform(70, 95)
    cloud_by_day: dict = {}
    pending_rise = 0.0
    ts = start
    while ts <= end:
        local = ts.astimezone(zone)
        hour = local.hour + local.minute / 60
        clouds = cloud_by_day.setdefault(local.date(), rng.uniform(0.35, 1.0))
        daylight = max(0.0, math.sin(math.pi * (hour - 6.5) / 13))
        light = peak * daylight * clouds * rng.uniform(0.85, 1.0)
        warmth = math.sin(math.pi * (hour - 9) / 12)
        temperature = base_temperature + 3.5 * warmth + rng.gauss(0, 0.25)
        humidity = 58 - 2.2 * (temperature - base_temperature) + rng.gauss(0, 1.2)
        if pending_rise > 0:  # a watering soaks in over two readings
            step = min(pending_rise, rng.uniform(12, 20))
            soil += step
            pending_rise -= step
        else:
            soil -= 0.09 * (0.5 + daylight) + rng.gauss(0, 0.04)
        if soil < dry_below and pending_rise == 0 and 7 <= hour <= 21:
            pending_rise = rng.uniform(28, 38)
            manual = rng.random() < 0.6
            out.events.append(
                {
                    "kind": "watered",
                    "at": ts,
                    "note": "" if manual else "Detected: soil moisture rose.",
                    "amount": float(rng.choice((200, 250, 300, 400))) if manual else None,
                    "detected": not manual,
                }
            )
        battery -= rng.uniform(0.0, 0.004)
        out.readings.append(
            {
                "ts": ts,
                "soil_moisture": round(max(0.0, min(100.0, soil + rng.gauss(0, 0.3))), 1),
                "temperature": round(temperature, 2),
                "humidity": round(max(0.0, min(100.0, humidity)), 1),
                "light": round(light),
                "battery": round(battery, 1),
            }
        )
        ts += every
    span = end - start
    for kind, fraction, note, amount in (
        ("fertilized", 0.35, "Liquid feed, half strength.", 5.0),
        ("misted", 0.6, "", None),
        ("note", 0.8, "New leaf unfurling.", None),
    ):
        if rng.random() < 0.8:
            moment = start + span * fraction
            out.events.append(
                {
                    "kind": kind,
                    "at": moment.replace(hour=18, minute=30, second=0, microsecond=0),
                    "note": note,
                    "amount": amount,
                    "detected": False,
                }
            )
    return out


def seed_demo_history(session: DbSession, user: User, now: datetime, zone, seed: int | str = "demo") -> int:
    """Write `history()` for each of `user`'s plants with a bound device and no readings of it
    yet; returns how many plants got one. Flushes, never commits."""
    seeded = 0
    garden_id = personal_garden_id(session, user.id)
    plants = session.scalars(select(Plant).where(Plant.garden_id == garden_id).order_by(Plant.id)).all()
    for plant in plants:
        device_id = session.scalar(
            select(PlantSensor.device_id).where(PlantSensor.plant_id == plant.id).order_by(PlantSensor.metric).limit(1)
        )
        if device_id is None or session.scalar(select(func.count(Reading.id)).where(Reading.device_id == device_id)):
            continue
        rng = random.Random(f"{seed}-{plant.id}")
        start = (now - timedelta(days=DAYS)).replace(second=0, microsecond=0)
        made = history(rng, start, now - EVERY, zone)
        session.execute(
            Reading.__table__.insert(),
            [{"device_id": device_id, **{k: r.get(k) for k in ("ts", *KEYS)}} for r in made.readings],
        )
        for event in made.events:
            session.add(
                CareEvent(
                    garden_id=garden_id,
                    plant_id=plant.id,
                    by_user_id=None if event["detected"] else user.id,
                    created_at=now,
                    **event,
                )
            )
        newest = made.readings[-1]
        for key in KEYS:
            setattr(plant, f"latest_{key}", newest.get(key))
        plant.last_reading_at = newest["ts"]
        device = session.get(Device, device_id)
        if device is not None:
            device.last_reading_at = newest["ts"]
            device.last_seen_at = newest["ts"]
        last_watering = max((e["at"] for e in made.events if e["kind"] == "watered"), default=start)
        session.add(
            Task(
                garden_id=garden_id,
                plant_id=plant.id,
                title=f"Water {plant.name}"[:200],
                due_date=(last_watering + timedelta(days=4)).astimezone(zone).date(),
                recurrence_days=4,
                repeat_from="done",
                care_kind="watered",
                created_at=now,
                updated_at=now,
            )
        )
        seeded += 1
    session.flush()
    return seeded


def seed(session: DbSession, user: User) -> int:
    """`seed_demo_history` now, in the user's timezone (what `flask simulate --demo` calls)."""
    from ..clock import utcnow
    from .light import zone_of

    return seed_demo_history(session, user, utcnow(), zone_of(user.timezone))
