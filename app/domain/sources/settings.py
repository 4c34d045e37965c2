"""What an administrator may set for the sources: enabled, base topic, the generic source's fields.

Flask-free: the admin views pass the submitted form values (strings) and store what comes back;
`errors` maps a form field's name to a sentence shown beside it. The options of the generic
source come out in the shape `generic.GenericAdapter.parse` reads (its docstring), so what the
form accepts is what the adapter uses.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..metrics import METRICS
from .common import MAX_DEPTH, MAX_KEY
from .registry import SOURCES
from .routing import valid_base

MAX_BASE = 200  # IngestSource.base_topic
TEMPERATURE_UNITS = ("C", "F", "K")
WHOLE_PAYLOAD = "."  # the path of a payload that is one plain number (stored as "")
MAX_SCALE = 1e6


@dataclass
class SourceRow:
    """One source as the form shows it: the stored row's values, else the defaults."""

    name: str
    kind: str
    enabled: bool
    base: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def fixed_base(self) -> bool:
        """Native's base is always MQTT_TOPIC_PREFIX; the generic one's is its filter (its own form)."""
        return self.kind in ("native", "generic")


def source_rows(prefix: str, rows: Mapping[str, Mapping[str, Any]]) -> list[SourceRow]:
    """Every source of the registry with its stored row (name -> {"enabled", "base_topic", "options"})."""
    shown = []
    for spec in SOURCES:
        row = rows.get(spec.name) or {}
        base = prefix if spec.kind == "native" else row.get("base_topic", spec.adapter.default_base)
        stored_options = row.get("options")
        options: dict[str, Any] = stored_options if isinstance(stored_options, dict) else {}
        shown.append(SourceRow(spec.name, spec.kind, bool(row.get("enabled", spec.enabled)), base, dict(options)))
    return shown


def base_error(kind: str, base: str, prefix: str) -> str | None:
    """Why `base` cannot be this kind's base topic (the generic source's: its filter), or None."""
    if len(base) > MAX_BASE:
        return f"At most {MAX_BASE} characters."
    generic = kind == "generic"
    cleaned = valid_base(base, generic)
    if not base.strip().strip("/"):
        if generic:
            return "Give the topic filter, e.g. garden/+/data."
        default = next(s.adapter.default_base for s in SOURCES if s.kind == kind)
        return f"Give a base topic, e.g. {default}." if default else None
    if cleaned is None:
        if generic:
            return "A topic filter: levels separated by /, + for one whole level, # only as the last level."
        return "A base topic without + or #, no empty level, no level starting with $."
    if cleaned.split("/")[0] == prefix:
        return f"Topics under {prefix}/ are PlantOps' own (native sensors and the per-user prefixes)."
    return None


def apply_sources(
    prefix: str, current: list[SourceRow], form: Mapping[str, str]
) -> tuple[list[SourceRow], dict[str, str]]:
    """The rows the form sets (`enabled.<name>` present when ticked, `base.<name>`) and the errors."""
    errors: dict[str, str] = {}
    updated = []
    for row in current:
        enabled = f"enabled.{row.name}" in form
        base = row.base
        if not row.fixed_base:
            base = str(form.get(f"base.{row.name}", row.base))
            problem = base_error(row.kind, base, prefix)
            if problem:
                errors[f"base.{row.name}"] = problem
            else:
                base = valid_base(base) or ""
        if row.kind == "generic" and enabled and not row.base:
            errors[f"enabled.{row.name}"] = "Give it a topic filter and its fields below first."
        updated.append(SourceRow(row.name, row.kind, enabled, base, row.options))
    return updated, errors


def _path_error(path: str) -> str | None:
    parts = path.split(".")
    if len(path) > MAX_KEY * 4 or len(parts) > MAX_DEPTH:
        return f"At most {MAX_DEPTH} levels and {MAX_KEY * 4} characters."
    if any(not part or len(part) > MAX_KEY for part in parts):
        return 'Field names separated by dots, e.g. env.temp (digits index a list; "." for the whole payload).'
    return None


def parse_generic(
    prefix: str, form: Mapping[str, str], previous: Mapping[str, Any] | None = None
) -> tuple[str, dict[str, Any], dict[str, str]]:
    """The generic source's filter and options from its form, and the errors by field name.

    Fields: `filter`, `ts_path`, and per metric `path.<key>` (empty: not read; "." the whole
    payload), `scale.<key>` (a number, empty for 1, or "raw" for calibration) and for
    temperature `unit.temperature` (C, F or K). Options the form does not show (device_level)
    are kept from `previous`.
    """
    errors: dict[str, str] = {}
    filter_ = str(form.get("filter", "")).strip()
    problem = base_error("generic", filter_, prefix)
    if problem:
        errors["filter"] = problem
    else:
        filter_ = valid_base(filter_, generic=True) or ""
    fields: dict[str, dict[str, Any]] = {}
    for metric in METRICS:
        key = metric.key
        path = str(form.get(f"path.{key}", "")).strip()
        scale_text = str(form.get(f"scale.{key}", "")).strip()
        unit = str(form.get(f"unit.{key}", "C")).strip().upper().lstrip("°") or "C"
        if not path:
            continue
        spec: dict[str, Any] = {"path": "" if path == WHOLE_PAYLOAD else path}
        if path != WHOLE_PAYLOAD and (problem := _path_error(path)):
            errors[f"path.{key}"] = problem
        if scale_text.lower() == "raw":
            spec["raw"] = True
        elif scale_text:
            try:
                scale = float(scale_text)
            except ValueError:
                scale = math.nan
            if not math.isfinite(scale) or scale == 0 or abs(scale) > MAX_SCALE:
                errors[f"scale.{key}"] = f'A number other than 0 (at most {MAX_SCALE:,.0f}), or "raw".'
            else:
                spec["scale"] = scale
        if key == "temperature":
            if unit not in TEMPERATURE_UNITS:
                errors[f"unit.{key}"] = "C, F or K."
            elif unit != "C":
                spec["unit"] = unit
        fields[key] = spec
    if not fields and not errors:
        errors["fields"] = "Give the field path of at least one metric."
    options: dict[str, Any] = {k: v for k, v in (previous or {}).items() if k == "device_level"}
    options["fields"] = fields
    ts_path = str(form.get("ts_path", "")).strip()
    if ts_path:
        if problem := _path_error(ts_path):
            errors["ts_path"] = problem
        options["ts_path"] = ts_path
    return filter_, options, errors


def generic_form_values(row: SourceRow) -> dict[str, str]:
    """The generic form's fields as the stored options fill them."""
    values = {"filter": row.base, "ts_path": str(row.options.get("ts_path", ""))}
    stored_fields = row.options.get("fields")
    fields: dict[str, Any] = stored_fields if isinstance(stored_fields, dict) else {}
    for key, spec in fields.items():
        if not isinstance(spec, dict):
            continue
        path = spec.get("path", "")
        values[f"path.{key}"] = WHOLE_PAYLOAD if path == "" else str(path)
        if spec.get("raw"):
            values[f"scale.{key}"] = "raw"
        elif "scale" in spec:
            values[f"scale.{key}"] = f"{spec['scale']:g}" if isinstance(spec["scale"], int | float) else ""
        if "unit" in spec:
            values[f"unit.{key}"] = str(spec["unit"])
    return values
