"""Broker accounts as facts (docs/broker-accounts.md): the name of a user's account, the topics
each kind of account may use, and the settings a gardener copies into each ecosystem.

No I/O: app/broker/ talks to Mosquitto's dynamic-security plugin with these.
"""

import re
from dataclasses import dataclass

from .sources import registry

# The sources' shared default topic filters, from the sources registry (app/domain/sources):
# a bridge account may publish on them, and the app subscribes to them (shared). The native
# `<prefix>/+/telemetry` is added with the prefix. deploy/mosquitto/accounts keeps the same list
# (tests/unit/test_broker.py holds them equal).
SHARED_FILTERS: tuple[str, ...] = tuple(
    topic_filter
    for spec in registry.SOURCES
    if spec.enabled and spec.kind != "native"
    for topic_filter in spec.adapter.filters(spec.adapter.default_base)
)
# What a bridge (zigbee2mqtt, OpenMQTTGateway) subscribes to for its own commands and Home
# Assistant's birth message. Never a `$share/...` filter: the app's shared subscription stays the app's.
BRIDGE_SUBSCRIPTIONS: tuple[str, ...] = ("zigbee2mqtt/#", "home/+/commands/#", "homeassistant/status")

# The app's consumers share their subscriptions in this group (app/ingest/consumer.py SHARE_GROUP).
SHARE_GROUP = "plantops"
APP_USERNAME = "plantops"
BRIDGE_ROLE = "plantops-bridge"
USER_ROLE_PREFIX = "plantops-user-"
BRIDGE_PREFIX = "bridge-"
# Account names Mosquitto setups already use: never made or reset from the settings page.
RESERVED = frozenset({APP_USERNAME, "admin"})

USERNAME_MAX = 48
_NOT_SAFE = re.compile(r"[^a-z0-9_-]+")
BRIDGE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
BRIDGE_NAME_MESSAGE = "Use 1 to 32 lower-case letters, digits, dashes or underscores, starting with a letter or digit."


def username_for(email: str, user_id: int) -> str:
    """The broker account name of a user: the part of the email before `@`, reduced to what
    is safe as an MQTT topic level and a Mosquitto username (a-z 0-9 _ -), then `-<user id>`.

    Stable (it depends on the user's id, and the BrokerAccount row keeps it once made) and
    unique (no two users share an id): "Ana.Lopez+plants@example.com", 3 -> "ana-lopez-plants-3".
    """
    local = email.partition("@")[0].lower()
    slug = _NOT_SAFE.sub("-", local).strip("-_")
    suffix = f"-{user_id}"
    slug = slug[: USERNAME_MAX - len(suffix)].rstrip("-_") or "user"
    return slug + suffix


def bridge_username(name: str) -> str:
    """A bridge account's name from the administrator's short name: "kitchen" -> "bridge-kitchen"."""
    return BRIDGE_PREFIX + name


def user_prefix(topic_prefix: str, username: str) -> str:
    """The topic prefix under which the account `username` publishes: `plantops/u/ana-3`."""
    return f"{topic_prefix}/u/{username}"


def user_role(username: str) -> str:
    return USER_ROLE_PREFIX + username


def user_publish_filters(topic_prefix: str, username: str) -> list[str]:
    """A user's account publishes under its own prefix only and subscribes to nothing."""
    return [f"{user_prefix(topic_prefix, username)}/#"]


def bridge_publish_filters(topic_prefix: str) -> list[str]:
    """A bridge publishes, for any number of devices, on the sources' shared topics."""
    return [*SHARED_FILTERS, f"{topic_prefix}/+/telemetry"]


def app_subscribe_filters(topic_prefix: str) -> list[str]:
    """What the app's account may subscribe to: every shared filter and everything under the
    per-user prefixes, each only as the app's shared subscription."""
    shared = [f"$share/{SHARE_GROUP}/{f}" for f in (*SHARED_FILTERS, f"{topic_prefix}/+/telemetry")]
    return [*shared, f"$share/{SHARE_GROUP}/{topic_prefix}/u/#"]


@dataclass(frozen=True)
class Example:
    ecosystem: str
    where: str  # where the setting goes on the device side
    text: str  # what to paste there


def examples(host: str, port: int, prefix: str, username: str, password: str | None) -> list[Example]:
    """The settings to copy into each ecosystem, for the account `username` under `prefix`
    (`plantops/u/ana-3`). Without the password (shown once only) a placeholder stands in."""
    secret = password or "<your broker password>"
    return [
        Example(
            "zigbee2mqtt",
            "configuration.yaml",
            f"mqtt:\n  base_topic: {prefix}/zigbee2mqtt\n  server: mqtt://{host}:{port}\n"
            f"  user: {username}\n  password: {secret}",
        ),
        Example(
            "Tasmota",
            "the console",
            f"Backlog MqttHost {host}; MqttPort {port}; MqttUser {username}; MqttPassword {secret}; "
            f"FullTopic {prefix}/%prefix%/%topic%/",
        ),
        Example(
            "ESPHome",
            "the node's YAML (discovery off: homeassistant/ is not yours to publish on)",
            f"mqtt:\n  broker: {host}\n  port: {port}\n  username: {username}\n  password: {secret}\n"
            f"  topic_prefix: {prefix}/fern-node  # your node's name\n  discovery: false",
        ),
        Example(
            "miflora-mqtt-daemon",
            "config.ini (reporting_method = mqtt-json)",
            f"[MQTT]\nhostname = {host}\nport = {port}\nusername = {username}\npassword = {secret}\n"
            f"base_topic = {prefix}/miflora",
        ),
        Example(
            "OpenMQTTGateway",
            "the setup portal (or build flags): MQTT base topic",
            f"MQTT server: {host}  port: {port}  user: {username}  password: {secret}\nMQTT base topic: {prefix}/home/",
        ),
        Example(
            "Shelly Gen2",
            "Settings > MQTT: enable RPC status notifications",
            f"Server: {host}:{port}  Username: {username}  Password: {secret}\n"
            f"MQTT prefix: {prefix}/<device id, e.g. shellyplusht-08b61fcb7f3c>",
        ),
        Example(
            "PlantOps native",
            "your sketch",
            f"mqtt://{host}:{port}  user {username}  password {secret}\npublish to {prefix}/<device id>/telemetry",
        ),
    ]
