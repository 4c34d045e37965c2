"""The device id: in MQTT topics (docs/contracts.md, "MQTT telemetry"), plant forms and the API."""

import re

DEVICE_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
# Anchored by fullmatch: Python's `$` also matches before a final newline.
DEVICE_ID = re.compile(DEVICE_ID_PATTERN.removeprefix("^").removesuffix("$"))
DEVICE_ID_MESSAGE = "Use 1 to 64 letters, digits, dots, dashes or underscores."
