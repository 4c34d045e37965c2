"""/admin "Sensor sources": an administrator switches sources and sets their base topics and
the generic source's fields; the consumer reads the stored rows (app.ingest.consumer.load_sources)."""

import json
from datetime import UTC, datetime

import pytest

from app.domain.sources import generic
from app.domain.sources.registry import SOURCES
from app.domain.sources.routing import active_sources
from app.extensions import db
from app.ingest.consumer import load_sources
from app.models import IngestSource

from ..conftest import PASSWORD, make_user


def stored(app):
    with app.app_context():
        rows = {row.name: row for row in db.session.scalars(db.select(IngestSource))}
        result = {n: (r.kind, r.enabled, r.base_topic, dict(r.options or {})) for n, r in rows.items()}
        db.session.remove()
        return result


def defaults_form(**changes):
    """The sources form as the page fills it with the defaults, then `changes`."""
    form = {}
    for spec in SOURCES:
        if spec.enabled:
            form[f"enabled.{spec.name}"] = "1"
        if spec.kind not in ("native", "generic"):
            form[f"base.{spec.name}"] = spec.adapter.default_base
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def test_the_section_shows_every_source_with_its_defaults(client, user_id):
    page = client.get("/admin").get_data(as_text=True)

    assert "Sensor sources" in page
    assert "apply when the MQTT consumers restart" in page
    for spec in SOURCES:
        assert f'id="source-{spec.name}"' in page
    assert 'name="base.zigbee2mqtt" value="zigbee2mqtt"' in page
    assert 'name="base.tasmota" value="tele"' in page
    assert 'id="enabled-zigbee2mqtt" name="enabled.zigbee2mqtt" value="1" checked' in page
    assert 'id="enabled-generic" name="enabled.generic" value="1">' in page  # off until set up


def test_admin_switches_zigbee2mqtt_off_and_rebases_tasmota(app, client, user_id):
    response = client.post(
        "/admin/sources", data=defaults_form(**{"enabled.zigbee2mqtt": None, "base.tasmota": "/house/tele/"})
    )

    assert response.status_code == 303
    rows = stored(app)
    assert rows["zigbee2mqtt"][:3] == ("zigbee2mqtt", False, "zigbee2mqtt")
    assert rows["tasmota"][:3] == ("tasmota", True, "house/tele")
    page = client.get("/admin").get_data(as_text=True)
    assert "Sources saved" in page
    assert 'name="base.tasmota" value="house/tele"' in page
    assert 'id="enabled-zigbee2mqtt" name="enabled.zigbee2mqtt" value="1">' in page
    # What the consumer subscribes to at its next start.
    names = {source.name: source for source in load_sources(app)}
    assert "zigbee2mqtt" not in names
    assert names["tasmota"].base == "house/tele"


@pytest.mark.parametrize(
    ("base", "message"),
    [
        ("", "Give a base topic"),
        ("tele/+", "without + or #"),
        ("tele/#", "without + or #"),
        ("a//b", "no empty level"),
        ("$SYS", "starting with $"),
        ("t" * 201, "At most 200 characters"),
        ("plantops/tele", "Topics under plantops/ are PlantOps"),
    ],
)
def test_a_bad_base_is_an_inline_error_and_nothing_is_stored(app, htmx, user_id, base, message):
    response = htmx.post("/admin/sources", data=defaults_form(**{"enabled.zigbee2mqtt": None, "base.tasmota": base}))

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert body.strip().startswith('<section class="card" id="admin-sources"')
    assert 'id="base-tasmota-error"' in body
    assert message in body
    assert 'id="base-tasmota" name="base.tasmota" value="' + base[:50] in body  # what was typed stays
    assert stored(app) == {}


def test_without_javascript_a_bad_base_answers_the_whole_page(app, client, user_id):
    response = client.post("/admin/sources", data=defaults_form(**{"base.openmqttgateway": "home/+/x"}))

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Accounts" in page
    assert "Nothing was saved" in page
    assert 'id="base-openmqttgateway-error"' in page
    assert stored(app) == {}


def test_the_generic_source_cannot_be_switched_on_without_a_filter(app, client, user_id):
    response = client.post("/admin/sources", data=defaults_form(**{"enabled.generic": "1"}))

    assert response.status_code == 422
    assert "Give it a topic filter and its fields below first." in response.get_data(as_text=True)
    assert stored(app) == {}


@pytest.mark.parametrize(
    ("method", "path"), [("get", "/admin"), ("post", "/admin/sources"), ("post", "/admin/sources/generic")]
)
def test_gardeners_get_404_and_visitors_are_sent_to_sign_in(app, user_id, other_client, method, path):
    data = defaults_form(**{"enabled.zigbee2mqtt": None}) if method == "post" else None
    kwargs = {"data": data} if data else {}
    assert getattr(other_client, method)(path, **kwargs).status_code == 404
    response = getattr(app.test_client(), method)(path, **kwargs)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")
    assert stored(app) == {}


GENERIC_FORM = {
    "filter": "garden/+/data",
    "path.soil_moisture": "soil.moisture",
    "scale.soil_moisture": "100",
    "path.temperature": "env.t",
    "unit.temperature": "F",
    "path.conductivity": "soil.count",
    "scale.conductivity": "raw",
    "ts_path": "time",
}


def test_generic_form_saves_options_the_adapter_reads_a_message_with(app, htmx, user_id):
    response = htmx.post("/admin/sources/generic", data=GENERIC_FORM)

    assert response.status_code == 200
    assert "Generic source saved" in response.get_data(as_text=True)
    kind, enabled, base, options = stored(app)["generic"]
    assert (kind, enabled, base) == ("generic", False, "garden/+/data")
    # Switch it on; the consumer now subscribes to the filter.
    assert htmx.post("/admin/sources", data=defaults_form(**{"enabled.generic": "1"})).status_code == 200
    source = next(s for s in load_sources(app) if s.name == "generic")
    assert source.filters() == ["garden/+/data"]

    message = {"soil": {"moisture": 0.42, "count": 612}, "env": {"t": 68}, "time": "2026-05-01T10:00:00Z"}
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    result = generic.ADAPTER.parse("garden/bed-1/data", json.dumps(message).encode(), now, source.options)

    assert result.key == "generic:bed-1"
    (reading,) = result.readings
    assert reading.ts == datetime(2026, 5, 1, 10, tzinfo=UTC)
    assert reading.values["soil_moisture"] == pytest.approx(42.0)
    assert reading.values["temperature"] == pytest.approx(20.0)
    assert "conductivity" not in reading.values
    assert reading.raw["conductivity"] == 612
    # The form shows what was saved.
    page = htmx.get("/admin").get_data(as_text=True)
    assert 'name="path.soil_moisture" value="soil.moisture"' in page
    assert 'name="scale.conductivity" value="raw"' in page
    assert '<option value="F" selected>' in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"filter": ""}, "filter", "Give the topic filter"),
        ({"filter": "garden/#/data"}, "filter", "# only as the last level"),
        ({"filter": "plantops/+/x"}, "filter", "Topics under plantops/"),
        ({"path.soil_moisture": "soil..moisture"}, "path-soil_moisture", "Field names separated by dots"),
        ({"scale.soil_moisture": "lots"}, "scale-soil_moisture", "A number other than 0"),
        ({"scale.soil_moisture": "0"}, "scale-soil_moisture", "A number other than 0"),
        ({"scale.soil_moisture": "inf"}, "scale-soil_moisture", "A number other than 0"),
        ({"unit.temperature": "R"}, "unit-temperature", "C, F or K."),
        ({"ts_path": "a." * 10}, "ts_path", "At most 8 levels"),
    ],
)
def test_bad_generic_input_is_an_inline_error_and_nothing_is_stored(app, htmx, user_id, changes, field, message):
    response = htmx.post("/admin/sources/generic", data={**GENERIC_FORM, **changes})

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="generic-{field}-error"' in body
    assert message in body
    assert stored(app) == {}


def test_a_generic_source_needs_one_metric(app, htmx, user_id):
    response = htmx.post("/admin/sources/generic", data={"filter": "garden/+/data"})

    assert response.status_code == 422
    assert "Give the field path of at least one metric." in response.get_data(as_text=True)
    assert stored(app) == {}


def test_stored_rows_are_what_active_sources_takes():
    """The rows the form stores for the defaults change nothing for the consumer."""
    from app.domain.sources.settings import apply_sources, source_rows

    rows, errors = apply_sources("plantops", source_rows("plantops", {}), defaults_form())
    assert errors == {}
    as_stored = {
        r.name: {"kind": r.kind, "enabled": r.enabled, "base_topic": r.base, "options": r.options} for r in rows
    }
    assert [(s.name, s.base) for s in active_sources("plantops", as_stored)] == [
        (s.name, s.base) for s in active_sources("plantops", {})
    ]


def test_saving_sources_needs_the_pages_csrf_token(make_app):
    app = make_app(config={"WTF_CSRF_ENABLED": True})
    client = app.test_client()
    make_user(app)
    login_page = client.get("/auth/login").get_data(as_text=True)
    token = login_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    credentials = {"email": "gardener@example.com", "password": PASSWORD, "csrf_token": token}
    assert client.post("/auth/login", data=credentials).status_code == 303
    form = defaults_form(**{"enabled.zigbee2mqtt": None})

    assert client.post("/admin/sources", data=form).status_code == 400
    assert stored(app) == {}
    page = client.get("/admin").get_data(as_text=True)
    section = page[page.index('id="admin-sources"') :]
    token = section.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/admin/sources", data={**form, "csrf_token": token}).status_code == 303
    assert stored(app)["zigbee2mqtt"][1] is False
