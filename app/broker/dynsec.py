"""A small client of Mosquitto's dynamic-security plugin, over MQTT.

The plugin takes a JSON list of commands on `$CONTROL/dynamic-security/v1` and answers on
`$CONTROL/dynamic-security/v1/response` (mosquitto's plugins/dynamic-security/README.md). Each
call opens its own connection as the plugin's admin account (MQTT_ADMIN_USERNAME /
MQTT_ADMIN_PASSWORD), sends one batch and waits for the answer carrying its correlation data,
all within one total deadline; every failure is a BrokerError with a sentence for the page.
"""

import json
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt

COMMAND_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = COMMAND_TOPIC + "/response"
DEADLINE_SECONDS = 5.0

# Errors the plugin answers that mean "it is already as you want it".
ALREADY = ("already exists", "already has")


class BrokerError(Exception):
    """The broker could not be reached, refused the admin account, did not answer in time,
    or answered an error; `message` is one sentence for the person who clicked."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NameTaken(BrokerError):
    """The broker already has an account of that name that PlantOps did not make."""


@dataclass(frozen=True)
class AdminSettings:
    host: str
    port: int
    username: str
    password: str
    tls: bool = False
    deadline: float = DEADLINE_SECONDS

    @classmethod
    def from_config(cls, config: Any) -> "AdminSettings | None":
        """The admin account from the app's config, or None when MQTT_ADMIN_PASSWORD is unset."""
        if not config.get("MQTT_ADMIN_PASSWORD"):
            return None
        return cls(
            host=config["MQTT_HOST"],
            port=config["MQTT_PORT"],
            username=config.get("MQTT_ADMIN_USERNAME") or "admin",
            password=config["MQTT_ADMIN_PASSWORD"],
            tls=bool(config.get("MQTT_TLS")),
            deadline=float(config.get("MQTT_ADMIN_TIMEOUT_SECONDS") or DEADLINE_SECONDS),
        )


@dataclass
class Response:
    command: str
    error: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def already(self) -> bool:
        return self.error is not None and any(words in self.error.lower() for words in ALREADY)


def run(settings: AdminSettings, commands: list[dict[str, Any]]) -> list[Response]:
    """Send `commands` in one batch; their responses in the same order. Never waits longer
    than `settings.deadline` in all (connecting included)."""
    deadline = time.monotonic() + settings.deadline
    token = secrets.token_hex(8)
    batch = [{**command, "correlationData": f"{token}-{n}"} for n, command in enumerate(commands)]
    answers: dict[str, dict[str, Any]] = {}
    connected = threading.Event()
    subscribed = threading.Event()
    answered = threading.Event()
    failure: dict[str, str] = {}

    def on_connect(_client, _userdata, _flags, reason_code, _properties):
        if reason_code.is_failure:
            failure["connect"] = str(reason_code)
        connected.set()

    def on_subscribe(_client, _userdata, _mid, reason_codes, _properties):
        if reason_codes and reason_codes[0].is_failure:
            failure["subscribe"] = str(reason_codes[0])
        subscribed.set()

    def on_message(_client, _userdata, message):
        try:
            responses = json.loads(message.payload).get("responses", [])
        except (ValueError, AttributeError):
            return
        for response in responses if isinstance(responses, list) else []:
            correlation = response.get("correlationData") if isinstance(response, dict) else None
            if isinstance(correlation, str) and correlation.startswith(token + "-"):
                answers[correlation] = response
        if len(answers) == len(batch):
            answered.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"plantops-admin-{token}", protocol=mqtt.MQTTv5)
    client.username_pw_set(settings.username, settings.password)
    if settings.tls:
        client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    where = f"{settings.host}:{settings.port}"

    def remaining() -> float:
        return max(0.0, deadline - time.monotonic())

    client.connect_timeout = max(0.1, remaining())
    try:
        client.connect(settings.host, settings.port, keepalive=max(5, int(settings.deadline) + 5))
    except (OSError, ValueError) as error:
        raise BrokerError(f"Cannot reach the MQTT broker at {where}: {error}.") from None
    client.loop_start()
    try:
        if not connected.wait(remaining()):
            raise BrokerError(f"The MQTT broker at {where} did not answer within {settings.deadline:g} s.")
        if "connect" in failure:
            raise BrokerError(
                f"The MQTT broker at {where} refused PlantOps's admin account ({failure['connect']}): "
                "check MQTT_ADMIN_USERNAME and MQTT_ADMIN_PASSWORD."
            )
        client.subscribe(RESPONSE_TOPIC, qos=1)
        if not subscribed.wait(remaining()):
            raise BrokerError(f"The MQTT broker at {where} did not answer within {settings.deadline:g} s.")
        if "subscribe" in failure:
            raise BrokerError(
                f"The MQTT broker at {where} does not let {settings.username} manage accounts "
                f"({failure['subscribe']}): is the dynamic-security plugin loaded, and is this its admin account?"
            )
        client.publish(COMMAND_TOPIC, json.dumps({"commands": batch}), qos=1)
        if not answered.wait(remaining()):
            raise BrokerError(
                f"The MQTT broker at {where} did not answer the account commands within {settings.deadline:g} s: "
                "is the dynamic-security plugin loaded?"
            )
    finally:
        client.disconnect()
        client.loop_stop()
    results = []
    for command in batch:
        answer = answers[command["correlationData"]]
        problem = answer.get("error")
        data = answer.get("data")
        results.append(
            Response(
                command=command["command"],
                error=str(problem) if problem else None,
                data=data if isinstance(data, dict) else {},
            )
        )
    return results


def check(responses: list[Response], *, tolerate_already: bool = True) -> list[Response]:
    """Raise a BrokerError for the first failed response (those saying "already exists" pass
    when `tolerate_already`)."""
    for response in responses:
        if response.error and not (tolerate_already and response.already):
            raise BrokerError(f"The broker refused {response.command}: {response.error}.")
    return responses


# The commands PlantOps sends, as the plugin names them.


def create_role(rolename: str) -> dict[str, Any]:
    return {"command": "createRole", "rolename": rolename}


def add_role_acl(rolename: str, acltype: str, topic: str, allow: bool = True) -> dict[str, Any]:
    return {"command": "addRoleACL", "rolename": rolename, "acltype": acltype, "topic": topic, "allow": allow}


def create_client(username: str, password: str, roles: list[str]) -> dict[str, Any]:
    return {
        "command": "createClient",
        "username": username,
        "password": password,
        "roles": [{"rolename": role} for role in roles],
    }


def set_client_password(username: str, password: str) -> dict[str, Any]:
    return {"command": "setClientPassword", "username": username, "password": password}


def add_client_role(username: str, rolename: str) -> dict[str, Any]:
    return {"command": "addClientRole", "username": username, "rolename": rolename}


def delete_client(username: str) -> dict[str, Any]:
    return {"command": "deleteClient", "username": username}


def delete_role(rolename: str) -> dict[str, Any]:
    return {"command": "deleteRole", "rolename": rolename}


def get_client(username: str) -> dict[str, Any]:
    return {"command": "getClient", "username": username}


def disable_client(username: str) -> dict[str, Any]:
    return {"command": "disableClient", "username": username}


def enable_client(username: str) -> dict[str, Any]:
    return {"command": "enableClient", "username": username}
