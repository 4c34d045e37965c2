"""The consumer's ack_many queues exactly the PUBACKs paho's ack does, one by one."""

import paho.mqtt.client as mqtt

from app.ingest.consumer import Client


def queued(client):
    return [dict(packet) for packet in client._out_packet]


def test_ack_many_queues_the_packets_ack_queues():
    one_by_one = Client(mqtt.CallbackAPIVersion.VERSION2, client_id="a", protocol=mqtt.MQTTv5, manual_ack=True)
    for mid in (1, 2, 65535):
        one_by_one.ack(mid, 1)
    batched = Client(mqtt.CallbackAPIVersion.VERSION2, client_id="b", protocol=mqtt.MQTTv5, manual_ack=True)
    batched.ack_many([1, 2, 65535])
    assert queued(batched) == queued(one_by_one)
    assert [packet["packet"] for packet in queued(batched)] == [
        b"\x40\x02\x00\x01",
        b"\x40\x02\x00\x02",
        b"\x40\x02\xff\xff",
    ]


def test_ack_many_of_nothing_queues_nothing():
    client = Client(mqtt.CallbackAPIVersion.VERSION2, client_id="c", protocol=mqtt.MQTTv5, manual_ack=True)
    client.ack_many([])
    assert queued(client) == []
