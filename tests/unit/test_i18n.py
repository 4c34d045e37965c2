"""Languages, formatting and the one vocabulary (issue 20)."""

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from app.config import default_public_url
from app.domain import care, device_settings, tasks
from app.domain.broker import BRIDGE_NAME_MESSAGE
from app.domain.describe import STATUS_LABELS, format_value, problem_label, status_label
from app.domain.devices import DEVICE_ID_MESSAGE, DEVICE_KEY_MESSAGE
from app.domain.metrics import BY_KEY, METRICS, PRESET_LABELS, THRESHOLD_METRICS
from app.domain.presets import matching_preset, preset_thresholds
from app.domain.tasks import MESSAGES as TASK_MESSAGES
from app.filters import cldr_pattern
from app.i18n import VOCABULARY

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "app" / "translations" / "de" / "LC_MESSAGES"


def german():
    with open(CATALOG / "messages.po", "rb") as f:
        return read_po(f, locale="de")


def test_the_german_catalog_translates_every_message_and_its_mo_file_is_compiled_from_it():
    po = german()
    untranslated = [m.id for m in po if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    assert untranslated == []
    with open(CATALOG / "messages.mo", "rb") as f:
        mo = read_mo(f)

    def entries(catalog):
        return {
            str(tuple(m.id) if isinstance(m.id, list | tuple) else m.id): tuple(m.string)
            if isinstance(m.string, list | tuple)
            else m.string
            for m in catalog
            if m.id
        }

    assert entries(po) == entries(mo)


def test_the_catalog_has_the_vocabulary_and_each_marked_string_still_exists_in_the_code():
    ids = {m.id for m in german()}
    labels = set(STATUS_LABELS.values()) | {
        problem_label(f"{m.key}_{d}") for m in THRESHOLD_METRICS for d in ("low", "high")
    }
    assert labels | {problem_label("battery_low")} <= ids
    source = "\n".join(p.read_text() for p in (ROOT / "app").rglob("*.py") if p.name != "i18n.py")
    made = set(TASK_MESSAGES.values()) | {DEVICE_ID_MESSAGE, DEVICE_KEY_MESSAGE, BRIDGE_NAME_MESSAGE}
    made |= {m.label for m in METRICS} | set(PRESET_LABELS.values()) | set(tasks.REPEAT_FROM.values())
    made |= {label for label, _ in care.KINDS.values()} | set(care.MESSAGES.values())
    made |= set(device_settings.REASON_WORDS.values()) | {device_settings.NO_RAW_SOIL, device_settings.SAME_DRY_WET}
    for text in VOCABULARY:
        assert text in labels or text == "Battery low" or text in made or text in source, text


def test_a_silent_sensor_has_one_name_everywhere():
    assert status_label("stale") == problem_label("stale") == "Sensor silent"


@pytest.mark.parametrize(
    ("metric", "unit", "text"),
    [("temperature", "C", "21.5 °C"), ("temperature", "F", "70.7 °F"), ("light", "F", "9,100 lux")],
)
def test_readings_are_written_by_the_registry_in_the_chosen_unit(metric, unit, text):
    value = {"temperature": 21.5, "light": 9100.0}[metric]
    assert BY_KEY[metric].format(value, unit) == text
    if not BY_KEY[metric].daily:
        assert format_value(metric, value, unit) == text


def test_a_daily_metrics_alert_value_is_the_days_total():
    assert format_value("light", 4.25, "F") == "4.2 mol/m²/day"
    assert format_value("light", 4.25, "C", lambda value, decimals: f"{value:.{decimals}f}".replace(".", ",")) == (
        "4,2 mol/m²/day"
    )


def test_strftime_formats_become_cldr_patterns():
    assert cldr_pattern("%Y-%m-%d %H:%M") == "yyyy-MM-dd HH:mm"
    assert cldr_pattern("%a %-d %b %Y") == "EEE d MMM yyyy"
    assert cldr_pattern("at %H:%M") == "'at' HH:mm"


def test_dates_and_numbers_in_german(app):
    from app.filters import day, localtime, number, reading

    with app.test_request_context(headers={"Accept-Language": "de-DE,de;q=0.9"}):
        assert number(9100) == "9.100"
        assert reading("temperature", 21.5) == "21,5 °C"
        assert day(date(2026, 11, 1)) == "So. 1 Nov."
        assert localtime(datetime(2026, 11, 1, 12, 0, tzinfo=UTC)) == "2026-11-01 12:00"
    with app.test_request_context(headers={"Accept-Language": "fr, en;q=0.5"}):
        assert number(9100) == "9,100"


def test_the_edit_form_shows_the_preset_the_ranges_came_from():
    class Plant:
        pass

    plant = Plant()
    for key, value in preset_thresholds("fern").items():
        setattr(plant, key, value)
    assert matching_preset(plant) == "fern"
    plant.light_max = 12_345.0
    assert matching_preset(plant) == ""


@pytest.mark.parametrize(
    ("environ", "url"),
    [
        ({}, "http://127.0.0.1:5000"),
        ({"PORT": "5001"}, "http://127.0.0.1:5001"),
        ({"BIND": "0.0.0.0:8000"}, "http://127.0.0.1:8000"),
        ({"BIND": "plants.lan:8080", "PORT": "1"}, "http://plants.lan:8080"),
        ({"BIND": "unix:/run/plantops.sock", "PORT": "8001"}, "http://127.0.0.1:8001"),
        ({"PORT": "not-a-port"}, "http://127.0.0.1:5000"),
    ],
)
def test_public_url_defaults_to_the_port_plantops_listens_on(environ, url):
    assert default_public_url(environ) == url


def test_no_template_hard_codes_a_status_word():
    templates = "\n".join(p.read_text() for p in (ROOT / "templates").rglob("*.html"))
    assert not re.search(r'\|replace\("_", " "\)', templates)


def test_a_chart_table_gives_a_charts_numbers_as_text(app):
    with app.test_request_context(headers={"Accept-Language": "de"}):
        macro = app.jinja_env.get_template("charts/_table.html").module.chart_table
        html = str(macro("light-table", "Licht", ["Zeit", "Licht"], [["01:00", "9.100 lux"]]))
    assert 'id="light-table"' in html
    assert "Licht als Tabelle" in html
    assert '<th scope="row">01:00</th><td class="num">9.100 lux</td>' in html


def test_every_message_of_the_template_has_a_german_translation_with_the_same_placeholders():
    """The .pot is what `make translations` extracts from the code; each of its messages is in
    the German catalog, translated, not fuzzy, and names the same %(placeholders)s."""
    with open(ROOT / "app" / "translations" / "messages.pot", "rb") as f:
        template = read_po(f)
    po = german()
    wanted = {(m.context, str(m.id)) for m in template if m.id}
    assert wanted - {(m.context, str(m.id)) for m in po if m.id} == set()
    problems = {}
    for message in po:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        ids = message.id if isinstance(message.id, list | tuple) else (message.id,)
        found = [str(error) for error in message.check(po)]
        if not all(strings):
            found.append("untranslated")
        if message.fuzzy:
            found.append("fuzzy")
        names = {name for text in ids for name in re.findall(r"%\((\w+)\)", text)}
        for text in strings:
            if set(re.findall(r"%\((\w+)\)", text)) - {"num"} != names - {"num"}:
                found.append(f"placeholders differ: {text!r}")
        if found:
            problems[str(message.id)] = found
    assert problems == {}
    assert len(wanted) > 650  # every template string, flash message, label and domain message
