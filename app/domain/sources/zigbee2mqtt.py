"""zigbee2mqtt: `<base>/<friendly_name>`, one JSON object of the device's exposed state.

Read: soil_moisture, temperature (°F when the device reports `temperature_unit: fahrenheit`),
humidity, illuminance_lux or illuminance (lux), battery, linkquality, and last_seen in each of
its formats (ISO_8601 in UTC, ISO_8601_local with an offset, epoch in milliseconds) as the
reading's time. Ignored: `<base>/bridge/...`, `/availability`, `/set`, `/get`.
Key: `zigbee2mqtt:<friendly_name>` (a friendly name may hold "/").
"""

from datetime import datetime
from typing import Any

from ..payload import Rejected
from .base import DeviceReading, SourceResult
from .common import decode_object, ignored, iso_ts, new_result, number, rejected, safe_id, unix_ts

_DIRECT = (("soil_moisture", "soil_moisture"), ("humidity", "humidity"), ("battery", "battery"),
           ("conductivity", "conductivity"), ("soil_conductivity", "conductivity"))  # fmt: skip
_COMMANDS = {"set", "get"}


class Zigbee2MqttAdapter:
    kind = "zigbee2mqtt"
    default_base = "zigbee2mqtt"
    # zigbee2mqtt retains a device's state only when its `retain` option is on; the copy the
    # broker replays at subscription has no time of its own (without last_seen), so it is skipped.
    stores_retained = False

    def filters(self, base: str) -> list[str]:
        return [f"{base}/#" if base else "#"]

    def parse(self, topic: str, payload: bytes, now: datetime, options: dict[str, Any]) -> SourceResult:
        levels = topic.split("/")
        if levels[0] == "bridge" or levels[-1] == "availability":
            return ignored()
        if levels[-1] in _COMMANDS or (len(levels) > 2 and levels[-2] in _COMMANDS):
            return ignored()
        name = safe_id(topic)
        if name is None:
            return rejected(None, "bad_topic")
        key = f"zigbee2mqtt:{name}"
        try:
            state = decode_object(payload)
        except Rejected as error:
            return rejected(key, error.reason)
        result, values = new_result(key)
        for field, metric in _DIRECT:
            if field in state:
                values.metric(metric, state[field])
        unit = state.get("temperature_unit")
        fahrenheit = isinstance(unit, str) and unit.lower() in {"fahrenheit", "f", "°f"}
        values.metric("temperature", state.get("temperature"), fahrenheit=fahrenheit)
        lux = state.get("illuminance_lux", state.get("illuminance"))
        values.metric("light", lux)
        linkquality = None
        if state.get("linkquality") is not None:
            try:
                linkquality = number(state["linkquality"])
            except Rejected:
                linkquality = None
        try:
            ts = _last_seen(state.get("last_seen"), now)
        except Rejected as error:
            result.rejections[error.reason] += 1
            return result
        if not values:
            # A light, a plug, a button: nothing a plant uses, and no device worth listing.
            return result if result.rejections else ignored(key)
        device = state.get("device")
        model = device.get("model") if isinstance(device, dict) else None
        result.readings.append(
            DeviceReading(
                key,
                ts,
                values.values,
                linkquality=linkquality,
                name=name,
                model=model[:100] if isinstance(model, str) else None,
            )  # fmt: skip
        )
        return result


def _last_seen(value: object, now: datetime) -> datetime:
    if value is None:
        return now
    if isinstance(value, str):
        return iso_ts(value, now)
    return unix_ts(value, now, milliseconds=True)


ADAPTER = Zigbee2MqttAdapter()
