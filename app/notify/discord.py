"""The Discord webhook message for an alert event (content plus one embed).

https://discord.com/developers/docs/resources/webhook#execute-webhook
"""

from datetime import UTC
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

RED = 0xB3261E
GREEN = 0x1F7A35
MARKDOWN = "\\*_~`|>#[]()"


def escape_markdown(text):
    return "".join(f"\\{char}" if char in MARKDOWN else char for char in text)


def local_time(when, timezone):
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def alert_message(event, *, plant_name, label, value, threshold, when, timezone, plant_url):
    """`event` is "opened" or "resolved"; `value` ("22 %", None when unknown) is the value at that moment."""
    shown_value, shown_threshold = value or "-", threshold or "-"
    if event == "opened":
        headline = f"🚨 {escape_markdown(plant_name)}: {label.lower()} ({shown_value}, threshold {shown_threshold})"
        title, color = f"{label}: {plant_name}", RED
    else:
        back = f" ({shown_value})" if value is not None else ""
        headline = f"✅ {escape_markdown(plant_name)}: {label.lower()} is over{back}"
        title, color = f"Resolved: {label.lower()}, {plant_name}", GREEN
    return {
        "content": headline,
        "embeds": [
            {
                "title": title[:256],
                "url": plant_url,
                "color": color,
                "fields": [
                    {"name": "Plant", "value": plant_name, "inline": True},
                    {"name": "Problem", "value": label, "inline": True},
                    {"name": "Value", "value": shown_value, "inline": True},
                    {"name": "Threshold", "value": shown_threshold, "inline": True},
                    {"name": "Time", "value": local_time(when, timezone), "inline": True},
                ],
                "timestamp": when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            }
        ],
        "allowed_mentions": {"parse": []},
    }
