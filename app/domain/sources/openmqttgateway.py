"""OpenMQTTGateway's BLE gateway: `home/<gateway>/BTtoMQTT/<MAC>`, adverts decoded by Theengs.

Each advert is one JSON object with the measurement it carried (a Mi Flora sends `moi`, `lux`,
`tempc`/`tempf`, `fer` and `batt` in separate adverts), so readings are merged per device
(base.MERGE_SECONDS). `hum` is air humidity. An advert with none of these (a phone, a beacon)
is ignored. Key: `openmqttgateway:<MAC, 12 hex digits, upper case>`, whichever gateway heard it.
"""

import re
from datetime import datetime
from typing import Any

from ..payload import Rejected
from .base import DeviceReading, SourceResult
from .common import decode_object, floor_ts, ignored, new_result, rejected

FIELDS = {"moi": "soil_moisture", "hum": "humidity", "lux": "light", "fer": "conductivity", "batt": "battery"}
_HEX12 = re.compile(r"[0-9A-F]{12}")


def mac_key(value: object) -> str | None:
    """ "C4:7C:8D:6A:3B:2C", "c47c8d6a3b2c" -> "C47C8D6A3B2C"; anything else -> None."""
    if not isinstance(value, str) or len(value) > 17:
        return None
    mac = value.replace(":", "").replace("-", "").upper()
    return mac if _HEX12.fullmatch(mac) else None


class OpenMqttGatewayAdapter:
    kind = "openmqttgateway"
    default_base = "home"
    # Adverts are published live, not retained; a retained copy would be an advert of unknown age.
    stores_retained = False

    def filters(self, base: str) -> list[str]:
        return [f"{base}/+/BTtoMQTT/+" if base else "+/BTtoMQTT/+"]

    def parse(self, topic: str, payload: bytes, now: datetime, options: dict[str, Any]) -> SourceResult:
        levels = topic.split("/")
        if len(levels) != 3 or levels[1] != "BTtoMQTT":
            return rejected(None, "bad_topic")
        mac = mac_key(levels[2])
        try:
            advert = decode_object(payload)
        except Rejected as error:
            return rejected(f"openmqttgateway:{mac}" if mac else None, error.reason)
        mac = mac or mac_key(advert.get("id"))
        if mac is None:
            return ignored()  # the gateway's own messages under BTtoMQTT
        key = f"openmqttgateway:{mac}"
        if not any(field in advert for field in ("tempc", "tempf", *FIELDS)):
            return ignored(key)
        result, values = new_result(key)
        for field, metric in FIELDS.items():
            values.metric(metric, advert.get(field))
        if "tempc" in advert:
            values.metric("temperature", advert["tempc"])
        elif "tempf" in advert:
            values.metric("temperature", advert["tempf"], fahrenheit=True)
        if values:
            name, model = advert.get("name"), advert.get("model_id") or advert.get("model")
            result.readings.append(
                DeviceReading(
                    key,
                    floor_ts(now),
                    values.values,
                    partial=True,
                    name=name[:100] if isinstance(name, str) else None,
                    model=model[:100] if isinstance(model, str) else None,
                )  # fmt: skip
            )
        return result


ADAPTER = OpenMqttGatewayAdapter()
