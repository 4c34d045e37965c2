"""ESPHome's MQTT client: `<node>/sensor/<object_id>/state`, one plain number per topic.

`<node>` is the node's topic_prefix (its name by default). Each state is a source field named
by its object id (the writer maps it through Device.field_map, suggested by
sources.suggest_metric on first sight, editable); one value per message, so readings are
merged per node (base.MERGE_SECONDS). `nan`, or `None` with `publish_nan_as_none`, means
"no value now". Key: `esphome:<node>`.
"""

from datetime import datetime
from typing import Any

from ..payload import Rejected
from .base import DeviceReading, SourceResult
from .common import decode_text, floor_ts, new_result, rejected, safe_id


class EsphomeAdapter:
    kind = "esphome"
    default_base = ""  # ESPHome's topics start with the node's own name
    # ESPHome retains every state by default. The live message is stored; the retained copy the
    # broker replays at subscription is a value of unknown age (it carries no time), so skipped.
    stores_retained = False

    def filters(self, base: str) -> list[str]:
        return [f"{base}/+/sensor/+/state" if base else "+/sensor/+/state"]

    def parse(self, topic: str, payload: bytes, now: datetime, options: dict[str, Any]) -> SourceResult:
        levels = topic.split("/")
        if len(levels) != 4 or levels[1] != "sensor" or levels[3] != "state":
            return rejected(None, "bad_topic")
        node, object_id = safe_id(levels[0]), safe_id(levels[2])
        if node is None or object_id is None:
            return rejected(None, "bad_topic")
        key = f"esphome:{node}"
        try:
            text = decode_text(payload)
        except Rejected as error:
            return rejected(key, error.reason)
        result, values = new_result(key)
        values.field(object_id, text, text=True)
        if values:
            result.readings.append(DeviceReading(key, floor_ts(now), {}, fields=values.fields, partial=True, name=node))
        return result


ADAPTER = EsphomeAdapter()
