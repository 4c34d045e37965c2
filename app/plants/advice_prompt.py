"""What PlantOps tells an LLM about a plant, and how its answer is shown.

Plain functions with no Flask import: `summarise` turns one aggregate row into
per-metric summaries, `build_prompt` writes the chat messages, `render_answer`
turns the answer's Markdown into HTML that is safe to put in a page.
"""

from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

from ..domain.metrics import BY_KEY, KEYS, THRESHOLD_METRICS

MAX_ITEMS = 10
MAX_TEXT = 200

SYSTEM_PROMPT = (
    "You are an experienced horticulturist helping a home gardener care for one plant. "
    "You get the plant's sensor data from PlantOps. Give short, specific, practical advice "
    "(at most about 200 words, Markdown lists welcome): what to do now, what to watch, and "
    "whether a reading looks like a sensor problem rather than a plant problem. "
    "Use only the data given; say so when data is missing."
)


@dataclass(frozen=True)
class MetricSummary:
    metric: str
    count: int
    minimum: float
    maximum: float
    mean: float
    first_half_mean: float | None
    second_half_mean: float | None

    @property
    def change(self):
        if self.first_half_mean is None or self.second_half_mean is None:
            return None
        return self.second_half_mean - self.first_half_mean

    @property
    def trend(self):
        change = self.change
        if change is None:
            return "unknown"
        if abs(change) < BY_KEY[self.metric].trend_tolerance:
            return "steady"
        return "rising" if change > 0 else "falling"


def summarise(row):
    """Per-metric summaries from an aggregate row holding, for each metric, the keys
    `<metric>_count`, `_min`, `_max`, `_mean`, `_first`, `_second`; metrics with no
    values are left out."""
    summaries = []
    for metric in KEYS:
        count = row[f"{metric}_count"] or 0
        if count:
            summaries.append(
                MetricSummary(
                    metric,
                    count,
                    float(row[f"{metric}_min"]),
                    float(row[f"{metric}_max"]),
                    float(row[f"{metric}_mean"]),
                    _float_or_none(row[f"{metric}_first"]),
                    _float_or_none(row[f"{metric}_second"]),
                )
            )
    return summaries


def build_prompt(plant, summaries, alerts, overdue_tasks, now, hours=24):
    """Chat messages for an OpenAI-compatible API.

    `plant` needs name, species, location and `<metric>_min/_max`; `alerts` need
    problem, value, threshold and opened_at; `overdue_tasks` need title and due_date.
    """
    lines = [
        f"Plant: {_clip(plant.name)}",
        f"Species: {_clip(plant.species) or 'not given'}",
        f"Location: {_clip(plant.location) or 'not given'}",
        f"Now: {now:%Y-%m-%d %H:%M} UTC",
        "",
        "The gardener's acceptable ranges:",
        *_threshold_lines(plant),
        "",
        f"Sensor readings over the last {hours} hours:",
        *(_summary_line(s) for s in summaries),
    ]
    if not summaries:
        lines.append("- no readings in this period")
    lines += ["", "Open alerts:"]
    lines += [_alert_line(alert) for alert in alerts[:MAX_ITEMS]] or ["- none"]
    lines += ["", "Overdue care tasks:"]
    lines += [f"- {_clip(task.title)} (due {task.due_date:%Y-%m-%d})" for task in overdue_tasks[:MAX_ITEMS]] or [
        "- none"
    ]
    lines += ["", "What should the gardener do for this plant now?"]
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "\n".join(lines)}]


def _threshold_lines(plant):
    lines = []
    for metric in THRESHOLD_METRICS:
        low, high = getattr(plant, f"{metric.key}_min"), getattr(plant, f"{metric.key}_max")
        if low is None and high is None:
            continue
        name, unit = metric.in_words, metric.unit
        if low is not None and high is not None:
            lines.append(f"- {name}: {_num(low)} to {_num(high)} {unit}")
        elif low is not None:
            lines.append(f"- {name}: at least {_num(low)} {unit}")
        else:
            lines.append(f"- {name}: at most {_num(high)} {unit}")
    return lines or ["- none set"]


def _summary_line(s):
    metric = BY_KEY[s.metric]
    unit = metric.unit
    trend = s.trend
    if s.change is not None:
        trend += f" ({'+' if s.change >= 0 else ''}{_num(s.change)} {unit} between the first and second half)"
    return (
        f"- {metric.in_words}: min {_num(s.minimum)}, max {_num(s.maximum)}, mean {_num(s.mean)} {unit}; "
        f"trend {trend}; {s.count} readings"
    )


def _alert_line(alert):
    text = f"- {alert.problem.replace('_', ' ')} since {alert.opened_at:%Y-%m-%d %H:%M} UTC"
    if alert.value is not None:
        text += f" (value {_num(alert.value)}"
        text += f", limit {_num(alert.threshold)})" if alert.threshold is not None else ")"
    return text


def _num(value):
    return f"{value:.1f}" if abs(value) < 1000 else f"{value:,.0f}"


def _clip(text):
    text = " ".join((text or "").split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _float_or_none(value):
    return None if value is None else float(value)


_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")
ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "a",
}  # fmt: skip


def render_answer(text):
    """Markdown to HTML with no raw HTML, no attributes but a link's http(s)/mailto href."""
    html = _markdown.render(text)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)  # noqa: S704  (sanitised by nh3 just above)
