"""Which source a topic belongs to: one function, `Router.route`, for every message.

The consumer subscribes to every enabled source's filters twice: on the shared base topics
(namespace "") and under the per-user prefix `<prefix>/u/<username>/` (namespace = that
username; the broker lets account `ana` publish only there). A topic goes to exactly one
source: the one whose matching filter is the most specific, level by level (a literal level
beats "+", "+" beats "#"; on a tie, the order of sources.SOURCES), so ESPHome's
`+/sensor/+/state` never takes miflora's `homeassistant/sensor/<name>/state`.
"""

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .base import Adapter
from .registry import BY_NAME, SOURCES, adapter

MAX_USERNAME = 64
_WILDCARDS = ("+", "#")


@dataclass(frozen=True)
class ActiveSource:
    """An enabled source as this consumer runs it: its adapter, base topic and options."""

    name: str
    adapter: Adapter
    base: str  # "" for sources whose topics start with the device's own name (ESPHome, Shelly)
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def user_base(self) -> str:
        """The base under a user's prefix: native topics there are `<prefix>/u/<user>/<id>/telemetry`."""
        return "" if self.adapter.kind == "native" else self.base

    def filters(self, user: bool = False) -> list[str]:
        return self.adapter.filters(self.user_base if user else self.base)


@dataclass(frozen=True)
class Route:
    namespace: str  # "" for the shared topics, else the username of the prefix
    source: ActiveSource
    topic: str  # relative to the source's base (the whole topic below the prefix for a filter base)
    subscription: int  # the MQTT v5 subscription identifier of the filter that routes it


def valid_base(base: object, generic: bool = False) -> str | None:
    """A base topic an administrator may set: levels without wildcards (a generic source's is its filter)."""
    if not isinstance(base, str) or len(base) > 200:
        return None
    base = base.strip().strip("/")
    levels = base.split("/") if base else []
    if any(not level or level.startswith("$") for level in levels):
        return None
    if generic:
        if not levels or any(("#" in lv and lv != "#") or ("+" in lv and lv != "+") for lv in levels):
            return None
        if "#" in levels[:-1]:
            return None
    elif any(ch in base for ch in "+#"):
        return None
    return base


def active_sources(prefix: str, rows: dict[str, dict[str, Any]] | None = None) -> list[ActiveSource]:
    """Every enabled source: the defaults of sources.SOURCES overridden by IngestSource rows.

    `rows`: name -> {"kind", "enabled", "base_topic", "options"}. A row of an unknown name
    with kind "generic" adds a generic source (`generic-2`). Native's base is always the
    MQTT_TOPIC_PREFIX.
    """
    rows = rows or {}
    active = []
    names = [spec.name for spec in SOURCES] + sorted(n for n in rows if n not in BY_NAME)
    for name in names:
        spec, row = BY_NAME.get(name), rows.get(name) or {}
        kind = spec.kind if spec else row.get("kind")
        source_adapter = spec.adapter if spec else (adapter(kind) if kind == "generic" else None)
        if source_adapter is None:
            continue
        enabled = row.get("enabled", spec.enabled if spec else True)
        if not enabled:
            continue
        options = dict(spec.options if spec else {})
        if isinstance(row.get("options"), dict):
            options.update(row["options"])
        if kind == "native":
            base: str | None = prefix
        else:
            given = row.get("base_topic")
            base = valid_base(given, kind == "generic") if given is not None else source_adapter.default_base
            if base and base.split("/")[0] in (prefix, "+", "#") and kind != "generic":
                base = None  # under the prefix live the native and the per-user topics
            if base and kind == "generic" and base.split("/")[0] == prefix:
                base = None
        if base is None:
            base = source_adapter.default_base
        if kind == "generic":
            if not base:
                continue  # no topic filter yet
            options["filter"] = base
        active.append(ActiveSource(name, source_adapter, base, options))
    return active


def _specificity(filter_levels: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(2 if level == "#" else 1 if level == "+" else 0 for level in filter_levels)


def matches(filter_levels: tuple[str, ...], levels: list[str]) -> bool:
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(levels) or (level != "+" and level != levels[index]):
            return False
    return len(levels) == len(filter_levels)


class Router:
    """Routes topics to (namespace, source, relative topic); subscription ids 2i+1 shared, 2i+2 per user."""

    def __init__(self, prefix: str, sources: list[ActiveSource]) -> None:
        self.prefix = prefix
        self.sources = sources
        self._shared = self._table(user=False)
        self._user = self._table(user=True)
        self._cached = lru_cache(maxsize=8192)(self._route)

    def route(self, topic: str) -> Route | None:
        """The route of a topic, or None when no enabled source's filter matches it."""
        # Only short topics are cached, so a flood of long random topics stays small.
        return self._cached(topic) if len(topic) <= 256 else self._route(topic)

    def _table(self, user: bool) -> list[tuple[tuple[int, ...], int, tuple[str, ...], ActiveSource]]:
        table = []
        for index, source in enumerate(self.sources):
            for filter_ in source.filters(user):
                levels = tuple(filter_.split("/"))
                table.append((_specificity(levels), index, levels, source))
        table.sort(key=lambda row: (row[0], row[1]))
        return table

    def subscriptions(self) -> list[tuple[int, str]]:
        """(subscription identifier, topic filter) for every filter, shared and per user."""
        result: list[tuple[int, str]] = []
        for index, source in enumerate(self.sources):
            result.extend((2 * index + 1, filter_) for filter_ in source.filters())
            result.extend((2 * index + 2, f"{self.prefix}/u/+/{filter_}") for filter_ in source.filters(True))
        return result

    def _route(self, topic: str) -> Route | None:
        levels = topic.split("/")
        namespace, table, user = "", self._shared, False
        if len(levels) >= 4 and levels[0] == self.prefix and levels[1] == "u":
            username = levels[2]
            if not username or len(username) > MAX_USERNAME or any(ch in username for ch in _WILDCARDS):
                return None
            namespace, table, user, levels = username, self._user, True, levels[3:]
        if not levels[0] or levels[0].startswith("$"):
            return None
        for _, index, filter_levels, source in table:
            if matches(filter_levels, levels):
                base = source.user_base if user else source.base
                rest = "/".join(levels)
                if base and not any(ch in base for ch in _WILDCARDS):
                    rest = rest[len(base) + 1 :]
                return Route(namespace, source, rest, 2 * index + (2 if user else 1))
        return None
