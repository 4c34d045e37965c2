"""`flask --app wsgi ingest` and `flask --app wsgi simulate`."""

import os
import secrets
import signal
import threading

import click
import paho.mqtt.client as mqtt
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from ..auth.users import create_user, hash_password
from ..care.demo import seed
from ..domain.devices import bind_device
from ..domain.gardens import personal_garden_id
from ..extensions import db
from ..models import Device, Plant, PlantSensor, User
from ..workers import background_services
from .simulator import simulate

DEMO_EMAIL = "demo@plantops.local"
DEMO_PLANTS = (
    ("Monstera", "Monstera deliciosa", "Living room"),
    ("Basil", "Ocimum basilicum", "Kitchen window"),
    ("Tomato", "Solanum lycopersicum", "Balcony"),
    ("Fern", "Nephrolepis exaltata", "Bathroom"),
    ("Lemon tree", "Citrus limon", "Conservatory"),
)


@click.command("ingest")
@with_appcontext
def ingest_command():
    """Run the MQTT consumer in the foreground until SIGTERM or Ctrl+C."""

    app = current_app._get_current_object()
    if not app.config["MQTT_ENABLED"]:
        raise click.ClickException("MQTT_ENABLED is false: there is nothing to consume")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    services = background_services(app)
    services.start()
    click.echo(f"ingesting from {app.config['MQTT_HOST']}:{app.config['MQTT_PORT']}; Ctrl+C stops")
    while not stop.wait(1.0):
        pass
    services.stop()
    state = services.consumer_state
    click.echo(f"stopped: {state.received} messages received, {state.stored} readings stored")


@click.command("simulate")
@click.option("--devices", default=5, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--interval", default=10.0, show_default=True, type=click.FloatRange(0.0), help="Seconds between rounds.")
@click.option("--count", type=click.IntRange(1), help="Rounds to publish (default: until Ctrl+C).")
@click.option("--malformed-rate", default=0.0, type=click.FloatRange(0.0, 1.0), help="Share of broken messages.")
@click.option("--seed", type=int, help="Make the readings repeatable.")
@click.option("--demo", is_flag=True, help=f"First create {DEMO_EMAIL} with plants claiming the simulated devices.")
@with_appcontext
def simulate_command(devices, interval, count, malformed_rate, seed, demo):
    """Publish realistic readings from simulated sensors sim-001, sim-002, ..."""

    config = current_app.config
    if demo:
        if config["PLANTOPS_ENV"] == "production":
            raise click.ClickException("--demo creates a demo account: not in production")
        ensure_demo_garden(devices)
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"plantops-simulator-{os.getpid()}", protocol=mqtt.MQTTv5
    )
    if config.get("MQTT_USERNAME"):
        client.username_pw_set(config["MQTT_USERNAME"], config.get("MQTT_PASSWORD"))
    if config.get("MQTT_TLS"):
        client.tls_set()
    client.max_queued_messages_set(0)
    try:
        client.connect(config["MQTT_HOST"], config["MQTT_PORT"])
    except OSError as error:
        where = f"{config['MQTT_HOST']}:{config['MQTT_PORT']}"
        raise click.ClickException(f"cannot reach the broker {where}: {error}") from None
    client.loop_start()
    prefix = config["MQTT_TOPIC_PREFIX"]
    last = []

    def publish(device_id, payload):
        last[:] = [client.publish(f"{prefix}/{device_id}/telemetry", payload, qos=1)]

    click.echo(f"simulating {devices} device(s) every {interval:g} s on {config['MQTT_HOST']}:{config['MQTT_PORT']}")
    try:
        sent = simulate(publish, devices, interval, count, malformed_rate, seed)
        if last:
            last[0].wait_for_publish(30)
    except KeyboardInterrupt:
        sent = None
    finally:
        client.disconnect()
        client.loop_stop()
    if sent is not None:
        click.echo(f"published {sent} message(s)")


def ensure_demo_garden(devices):
    """The demo account and one plant per simulated device, created if missing.

    The account gets a fresh random password each time, printed with the login.
    """

    password = secrets.token_urlsafe(12)
    user = db.session.scalar(select(User).where(User.email == DEMO_EMAIL))
    if user is None:
        user = create_user(DEMO_EMAIL, password)
    else:
        user.password_hash = hash_password(password)
    garden_id = personal_garden_id(db.session, user.id)
    # The simulator publishes on the shared native topics: its devices are namespace "" ones.
    shared = {d.key: d for d in db.session.scalars(select(Device).where(Device.namespace == ""))}
    used = set(db.session.scalars(select(PlantSensor.device_id).distinct()))
    for number in range(1, devices + 1):
        device_id = f"sim-{number:03d}"
        device = shared.get(device_id)
        if device is not None and device.id in used:
            continue
        if device is None:
            device = Device(namespace="", key=device_id, source="native", owner_id=user.id, metrics=[])
            db.session.add(device)
        device.owner_id, device.garden_id = user.id, garden_id
        name, species, location = DEMO_PLANTS[(number - 1) % len(DEMO_PLANTS)]
        if number > len(DEMO_PLANTS):
            name = f"{name} {number}"
        plant = Plant(
            garden_id=garden_id,
            name=name,
            species=species,
            location=location,
            soil_moisture_min=25,
            soil_moisture_max=90,
            temperature_min=10,
            temperature_max=30,
            stale_after_minutes=10,
        )
        db.session.add(plant)
        db.session.flush()
        bind_device(db.session, plant, device)
    seed(db.session, user)  # seven days of believable history (app.care.demo)
    db.session.commit()
    click.echo(f"demo login: {DEMO_EMAIL} / {password}")
