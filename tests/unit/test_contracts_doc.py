"""docs/contracts.md is what a newcomer wires a sensor from: its example messages must be what
the payload parser accepts, and every rejection reason the parser counts must be explained."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.domain.payload import REASONS, parse_message

CONTRACTS = (Path(__file__).resolve().parents[2] / "docs" / "contracts.md").read_text()
MQTT = CONTRACTS[CONTRACTS.index("## MQTT telemetry") : CONTRACTS.index("## Health")]
EXAMPLES = re.findall(r"```json\n(.*?)```", MQTT, re.DOTALL)
RECEIVED = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)


def test_the_mqtt_section_shows_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("example", EXAMPLES)
def test_each_example_message_is_stored_whole(example):
    result = parse_message("plantops/balcony-basil/telemetry", example.encode(), "plantops", RECEIVED)
    assert result.readings
    assert not result.rejections


def test_every_rejection_reason_is_explained():
    explained = set(re.findall(r"`([a-z0-9_]+)`", MQTT[MQTT.index("### What is dropped") :]))
    assert set(REASONS) <= explained
