"""The consumer's subscriptions: every source shared and per user, with identifiers, and a refusal logged."""

import logging
import queue

from paho.mqtt.reasoncodes import ReasonCode

from app.ingest.consumer import Consumer, shared, subscription_ids
from app.ingest.state import ConsumerState

CONFIG = {"MQTT_TOPIC_PREFIX": "plantops", "MQTT_HOST": "127.0.0.1", "MQTT_PORT": 1}


class FakeClient:
    def __init__(self):
        self.calls = []

    def subscribe(self, topics, properties=None):
        [identifier] = properties.SubscriptionIdentifier  # paho keeps the property as a list
        self.calls.append((topics[0][0], topics[0][1].QoS, identifier))
        return 0, len(self.calls)


class Flags:
    session_present = False


def test_on_connect_subscribes_every_filter_shared_at_qos_1_with_its_identifier():
    consumer = Consumer(CONFIG, ConsumerState(), queue.Queue(), "test")
    client = FakeClient()

    consumer.on_connect(client, None, Flags(), ReasonCode(2, identifier=0), None)

    assert {(topic, qos, identifier) for topic, qos, identifier in client.calls} == {
        (shared(filter_), 1, identifier) for identifier, filter_ in consumer.router.subscriptions()
    }
    assert "$share/plantops/plantops/u/+/zigbee2mqtt/#" in {topic for topic, _, _ in client.calls}


def test_a_refused_subscription_is_logged_with_its_filter(caplog):
    consumer = Consumer(CONFIG, ConsumerState(), queue.Queue(), "test")
    consumer.on_connect(FakeClient(), None, Flags(), ReasonCode(2, identifier=0), None)

    with caplog.at_level(logging.WARNING):
        consumer.on_subscribe(None, None, 1, [ReasonCode(9, identifier=0x87)], None)

    assert "refused the subscription to plantops/+/telemetry" in caplog.text


def test_subscription_identifiers_of_a_message():
    class Message:
        class properties:  # noqa: N801
            SubscriptionIdentifier = [3, 11]

    assert subscription_ids(Message()) == [3, 11]
    assert subscription_ids(object()) == []
