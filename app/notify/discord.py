"""The Discord webhook message for an alert event (content plus one embed).

https://discord.com/developers/docs/resources/webhook#execute-webhook
"""

from datetime import UTC
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import gettext

from ..filters import in_sentence
from .escaping import discord_markdown

RED = 0xB3261E
GREEN = 0x1F7A35
TITLE_LIMIT = 256
FIELD_LIMIT = 1024
NAME_IN_CONTENT_LIMIT = 300  # content may hold 2,000 characters; the rest of the line is ours


def local_time(when, timezone):
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def alert_message(event, *, plant_name, label, value, threshold, when, timezone, plant_url):
    """`event` is "opened" or "resolved"; `value` ("22 %", None when unknown) is the value at that moment.
    The plant's name is the user's text: escaped wherever it appears. Label, values and
    times are PlantOps' own, in the language in force (app.notify.language_of)."""
    shown_value, shown_threshold = value or "-", threshold or "-"
    name = discord_markdown(plant_name, NAME_IN_CONTENT_LIMIT)
    if event == "opened":
        facts = gettext(
            "%(problem)s (%(value)s, threshold %(threshold)s)",
            problem=in_sentence(label),
            value=shown_value,
            threshold=shown_threshold,
        )
        headline = f"🚨 {name}: {facts}"
        prefix, color = f"{label}: ", RED
    else:
        back = f" ({shown_value})" if value is not None else ""
        headline = f"✅ {name}: " + gettext("%(problem)s is over", problem=in_sentence(label)) + back
        prefix, color = gettext("Resolved: %(problem)s, ", problem=in_sentence(label)), GREEN
    return {
        "content": headline,
        "embeds": [
            {
                "title": prefix + discord_markdown(plant_name, TITLE_LIMIT - len(prefix)),
                "url": plant_url,
                "color": color,
                "fields": [
                    {"name": gettext("Plant"), "value": discord_markdown(plant_name, FIELD_LIMIT), "inline": True},
                    {"name": gettext("Problem"), "value": label, "inline": True},
                    {"name": gettext("Value"), "value": shown_value, "inline": True},
                    {"name": gettext("Threshold"), "value": shown_threshold, "inline": True},
                    {"name": gettext("Time"), "value": local_time(when, timezone), "inline": True},
                ],
                "timestamp": when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            }
        ],
        "allowed_mentions": {"parse": []},
    }
