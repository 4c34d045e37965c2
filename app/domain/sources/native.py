"""PlantOps native telemetry (docs/contracts.md, "MQTT telemetry"): `<prefix>/<device_id>/telemetry`.

The contract itself lives in app/domain/payload.py (with partial acceptance: a bad metric is
dropped and counted, the good metrics of the same reading kept; a bad `ts` drops the reading);
this adapter gives it the topic relative to the prefix. The key is the plain device id.
"""

from collections import Counter
from datetime import datetime
from typing import Any

from ..devices import DEVICE_ID
from ..payload import parse_payload
from .base import SourceResult


class NativeAdapter:
    kind = "native"
    default_base = "plantops"  # the consumer passes MQTT_TOPIC_PREFIX
    # A native sensor publishes each reading once; a retained copy replayed at subscription is a
    # reading already stored, or one without ts that would be stored again with a new time.
    stores_retained = False

    def filters(self, base: str) -> list[str]:
        return [f"{base}/+/telemetry" if base else "+/telemetry"]

    def parse(self, topic: str, payload: bytes, now: datetime, options: dict[str, Any]) -> SourceResult:
        device_id, _, rest = topic.partition("/")
        if rest != "telemetry" or not DEVICE_ID.fullmatch(device_id):
            return SourceResult(None, [], Counter(bad_topic=1))
        return parse_payload(device_id, payload, now)


ADAPTER = NativeAdapter()
