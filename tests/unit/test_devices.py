"""Devices as records on a plain session: keys, who sees what, binding per metric."""

from datetime import UTC, datetime, timedelta

import flask
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from app.domain import devices, plants
from app.domain.errors import NotFoundError, ValidationError
from app.domain.gardens import create_personal_garden, personal_garden_id
from app.models import BrokerAccount, Device, Plant, PlantSensor, Reading, User
from app.orm import db

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    db.metadata.create_all(engine)
    with Session(engine) as session:
        assert not flask.has_app_context()
        yield session
    engine.dispose()


def person(session, email, admin=False):
    user = User(email=email, password_hash="x", timezone="UTC", is_admin=admin)
    session.add(user)
    session.flush()
    create_personal_garden(session, user)
    return user


@pytest.fixture
def ana(session):
    return person(session, "ana@example.com")


@pytest.fixture
def ben(session):
    return person(session, "ben@example.com")


@pytest.fixture
def admin(session):
    return person(session, "admin@example.com", admin=True)


def discovered(session, key="zigbee2mqtt:Fern soil", namespace="", owner=None):
    garden = None if owner is None else personal_garden_id(session, owner)
    device = Device(
        namespace=namespace, key=key, source=devices.source_of(key), owner_id=owner, garden_id=garden, metrics=[]
    )
    session.add(device)
    session.flush()
    return device


@pytest.mark.parametrize(
    "key",
    ["fern-1", "a.b_c", "zigbee2mqtt:Fern soil", "openmqttgateway:C47C8D6AB3C1", "esphome:x", "s:" + "y" * 198],
)
def test_native_ids_and_adapter_keys_are_keys(key):
    assert devices.valid_key(key)


@pytest.mark.parametrize(
    "key",
    ["", "has space", "a/b", "d" * 65, "abc\n", "plänt", "zigbee2mqtt:", "zigbee2mqtt: x", "zigbee2mqtt:x ",
     "zigbee2mqtt:a\nb", "zigbee2mqtt:a\x00b", "zigbee2mqtt:a\u200bb", "Z:x", "s:" + "y" * 199, 42],
)  # fmt: skip
def test_what_is_not_a_key(key):
    assert not devices.valid_key(key)


def test_a_user_sees_only_their_devices_and_an_administrator_also_the_discovered_ones(session, ana, ben, admin):
    mine = discovered(session, "fern-1", "ana", ana.id)
    theirs = discovered(session, "fern-1", "ben", ben.id)
    shared = discovered(session)
    assert session.scalars(devices.visible_devices(session, ana)).all() == [mine]
    assert session.scalars(devices.visible_devices(session, admin)).all() == [shared]
    assert devices.device_for(session, ana, mine.id) is mine
    for device in (theirs, shared):
        with pytest.raises(NotFoundError):
            devices.device_for(session, ana, device.id)
    with pytest.raises(NotFoundError):
        devices.device_for(session, admin, theirs.id)


def test_a_typed_key_makes_a_device_in_the_users_own_namespace_so_nobody_pre_claims_a_shared_one(session, ana, ben):
    shared = discovered(session, "fern-1")
    session.add(BrokerAccount(username="ana", user_id=ana.id))
    session.flush()
    device = devices.device_for_key(session, ana, "fern-1")
    assert (device.namespace, device.owner_id, device.source) == ("ana", ana.id, "native")
    assert devices.device_for_key(session, ana, "fern-1") is device
    other = devices.device_for_key(session, ben, "fern-1")
    assert (other.namespace, other.owner_id) == (f"user-{ben.id}", ben.id)
    assert shared.owner_id is None
    assert devices.device_for_key(session, ben, "zigbee2mqtt:Fern soil").source == "zigbee2mqtt"


def test_an_administrator_binding_a_discovered_device_makes_it_theirs(session, admin):
    shared = discovered(session)
    assert devices.device_for_key(session, admin, "zigbee2mqtt:Fern soil") is shared
    assert shared.owner_id == admin.id


def test_another_administrators_shared_device_is_refused_without_saying_it_exists(session, admin):
    other = person(session, "root@example.com", admin=True)
    discovered(session, "fern-1", owner=other.id)
    with pytest.raises(ValidationError) as raised:
        devices.device_for_key(session, admin, "fern-1")
    assert raised.value.detail == [{"field": "device_id", "message": devices.DEVICE_UNAVAILABLE}]
    assert devices.key_problems(session, admin, "fern-1") == raised.value.detail
    assert devices.key_problems(session, admin, "a/b") == [
        {"field": "device_id", "message": devices.DEVICE_KEY_MESSAGE}
    ]


def test_one_device_serves_two_plants_and_a_plant_takes_metrics_from_two_devices(session, ana):
    flora = devices.device_for_key(session, ana, "miflora:Fern")
    room = devices.device_for_key(session, ana, "zigbee2mqtt:Room")
    session.add_all(
        [
            Reading(device_id=flora.id, ts=NOW, soil_moisture=31.0, temperature=19.0),
            Reading(device_id=room.id, ts=NOW - timedelta(minutes=5), temperature=21.5, humidity=48.0),
        ]
    )
    flora.last_reading_at, room.last_reading_at = NOW, NOW - timedelta(minutes=5)
    session.flush()
    fern = plants.create_plant(session, ana, {"name": "Fern", "device_id": "miflora:Fern"})
    palm = plants.create_plant(session, ana, {"name": "Palm", "device_id": "zigbee2mqtt:Room"})
    devices.bind_sensors(session, fern, {"temperature": room, "humidity": room})
    assert (fern.latest_soil_moisture, fern.latest_temperature, fern.latest_humidity) == (31.0, 21.5, 48.0)
    assert fern.last_reading_at == NOW - timedelta(minutes=5)  # the older of the two devices
    assert devices.primary_device_key(fern) == "miflora:Fern"
    devices.bind_sensors(session, palm, {"soil_moisture": flora})
    assert palm.latest_soil_moisture == 31.0
    assert palm.latest_humidity == 48.0
    bound = session.scalars(select(PlantSensor.plant_id).where(PlantSensor.device_id == room.id)).all()
    assert sorted(bound) == sorted([fern.id, fern.id, palm.id, palm.id, palm.id, palm.id, palm.id])


def test_unbinding_every_metric_leaves_the_readings_with_the_device(session, ana):
    plant = plants.create_plant(session, ana, {"name": "Fern", "device_id": "fern-1"})
    device = session.scalar(select(Device))
    session.add(Reading(device_id=device.id, ts=NOW, soil_moisture=40.0))
    device.last_reading_at = NOW
    devices.bind_device(session, plant, device)
    assert plant.latest_soil_moisture == 40.0
    plants.update_plant(session, plant, {"device_id": None})
    assert plant.latest_soil_moisture is None
    assert plant.last_reading_at is None
    assert devices.primary_device_key(plant) is None
    assert session.scalar(select(Reading.soil_moisture)) == 40.0
    assert session.scalar(select(Plant.id)) == plant.id
