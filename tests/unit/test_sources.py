"""The source adapters against their projects' documented messages (tests/fixtures/sources)."""

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.devices import valid_key
from app.domain.payload import MAX_PAYLOAD_BYTES, REASONS
from app.domain.sources import MERGE_SECONDS, SourceResult, suggest_metric
from app.domain.sources.common import MAX_DEPTH, MAX_FIELDS
from app.domain.sources.registry import SOURCES
from app.domain.sources.routing import Router, active_sources
from tests.fixtures.source_messages import fixtures

NOW = datetime(2026, 12, 1, 21, 30, 7, tzinfo=UTC)
FIXTURES = fixtures()


def router_for(fixture, prefix="plantops"):
    rows = {}
    if fixture.get("base_topic") or fixture["options"]:
        spec = next((s for s in SOURCES if s.name == fixture["source"]), None)
        rows[fixture["source"]] = {
            "kind": spec.kind if spec else fixture["source"],
            "enabled": True,
            "base_topic": fixture.get("base_topic", spec.adapter.default_base if spec else ""),
            "options": fixture["options"],
        }
    return Router(prefix, active_sources(prefix, rows))


def run(fixture, user=None):
    """Route and parse every message of a fixture as the consumer does; what the writer gets."""
    router = router_for(fixture)
    results, not_routed = [], 0
    for message in fixture["messages"]:
        topic = message["topic"]
        if user:  # the same message under the user's prefix; a native device's topic drops the prefix there
            own = topic.split("/", 1)[1] if fixture["source"] == "native" else topic
            topic = f"plantops/u/{user}/{own}"
        route = router.route(topic)
        if route is None:
            not_routed += 1
            continue
        assert route.source.name == fixture["source"], topic
        assert route.namespace == (user or "")
        results.append(route.source.adapter.parse(route.topic, message["payload"].encode(), NOW, route.source.options))
    return results, not_routed


def latest(results):
    """Each device's latest value per metric, fields mapped by their suggested metric."""
    state: dict[str, dict[str, float]] = {}
    for result in results:
        for reading in sorted(result.readings, key=lambda r: r.ts):
            values = state.setdefault(reading.key, {})
            values.update(reading.values)
            for name, value in reading.fields.items():
                if (metric := suggest_metric(name)) is not None:
                    values[metric] = value
    return state


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.id)
@pytest.mark.parametrize("user", [None, "ana"], ids=["shared", "per-user"])
def test_documented_messages_give_the_documented_values(fixture, user):
    results, not_routed = run(fixture, user)

    assert not_routed == fixture.get("not_routed", 0)
    assert sum(r.ignored for r in results) == fixture.get("ignored", 0)
    state = latest(results)
    assert set(state) == set(fixture["expect"])
    for result in results:
        accounted(result)
    for key, expected in fixture["expect"].items():
        assert state[key] == pytest.approx(expected, abs=0.01), key
    rejections = sum((r.rejections for r in results), Counter())
    assert rejections == Counter(fixture.get("rejections", {}))
    for key, times in fixture.get("times", {}).items():
        assert [r.ts for res in results for r in res.readings if r.key == key] == [
            datetime.fromisoformat(t) for t in times
        ]
    for key, fields in fixture.get("fields", {}).items():
        merged = {n: v for res in results for r in res.readings if r.key == key for n, v in r.fields.items()}
        assert merged == pytest.approx(fields)
    for key, raw in fixture.get("raw", {}).items():
        assert {n: v for res in results for r in res.readings if r.key == key for n, v in r.raw.items()} == raw
    for key, linkquality in fixture.get("linkquality", {}).items():
        assert [r.linkquality for res in results for r in res.readings if r.key == key] == [linkquality]


def test_every_source_has_a_fixture():
    assert {f["source"] for f in FIXTURES} >= {spec.name for spec in SOURCES}


def test_every_fixture_cites_where_its_messages_come_from():
    for fixture in FIXTURES:
        assert fixture["cited"], fixture.id
        for message in fixture["messages"]:
            assert set(message) == {"topic", "qos", "retain", "payload"}, fixture.id


# -- routing ------------------------------------------------------------------------------------

ROUTER = Router("plantops", active_sources("plantops"))


@pytest.mark.parametrize(
    ("topic", "namespace", "source", "relative"),
    [
        ("plantops/fern-1/telemetry", "", "native", "fern-1/telemetry"),
        ("plantops/u/ana/fern-1/telemetry", "ana", "native", "fern-1/telemetry"),
        ("zigbee2mqtt/Fern soil", "", "zigbee2mqtt", "Fern soil"),
        ("zigbee2mqtt/garden/Fern soil", "", "zigbee2mqtt", "garden/Fern soil"),
        ("plantops/u/ana/zigbee2mqtt/Fern soil", "ana", "zigbee2mqtt", "Fern soil"),
        # ESPHome's `+/sensor/+/state` also matches these: the more specific filter wins.
        ("homeassistant/sensor/fern/state", "", "miflora-homeassistant", "sensor/fern/state"),
        ("zigbee2mqtt/sensor/x/state", "", "zigbee2mqtt", "sensor/x/state"),
        ("homie/sensor/fern/state", "", "miflora-homie", "sensor/fern/state"),
        ("fern-node/sensor/soil/state", "", "esphome", "fern-node/sensor/soil/state"),
        ("plantops/u/ana/homeassistant/sensor/fern/state", "ana", "miflora-homeassistant", "sensor/fern/state"),
        ("plantops/u/ana/fern-node/sensor/soil/state", "ana", "esphome", "fern-node/sensor/soil/state"),
        ("miflora/Fern", "", "miflora", "Fern"),
        ("homie/miflora-mqtt-daemon/Fern/moisture", "", "miflora-homie", "miflora-mqtt-daemon/Fern/moisture"),
        ("tele/flora1/SENSOR", "", "tasmota", "flora1/SENSOR"),
        ("plantops/u/bo/tele/flora1/SENSOR", "bo", "tasmota", "flora1/SENSOR"),
        ("home/gw/BTtoMQTT/C47C8D6AB3C1", "", "openmqttgateway", "gw/BTtoMQTT/C47C8D6AB3C1"),
        ("shellyplusht-1/events/rpc", "", "shelly", "shellyplusht-1/events/rpc"),
        ("plantops/u/ana/shellyplusht-1/events/rpc", "ana", "shelly", "shellyplusht-1/events/rpc"),
        # Three levels under the prefix are a native device named "u", not a namespace.
        ("plantops/u/telemetry", "", "native", "u/telemetry"),
    ],
)
def test_a_topic_goes_to_exactly_one_source(topic, namespace, source, relative):
    route = ROUTER.route(topic)

    assert (route.namespace, route.source.name, route.topic) == (namespace, source, relative)
    subscriptions = dict(ROUTER.subscriptions())
    # The route's own subscription identifier is one whose filter matches the topic.
    from app.domain.sources.routing import matches

    assert matches(tuple(subscriptions[route.subscription].split("/")), topic.split("/"))


@pytest.mark.parametrize(
    "topic",
    ["$SYS/broker/uptime", "plantops/u/ana/$SYS/x", "nothing/here", "plantops/u/+/x/telemetry", "/leading/slash"],
)
def test_topics_of_no_source_are_not_routed(topic):
    assert ROUTER.route(topic) is None


def test_a_per_user_topic_never_lands_in_the_shared_namespace():
    for topic in ("plantops/u/ana/zigbee2mqtt/x", "plantops/u/ana/x/telemetry", "plantops/u/ana/tele/t/SENSOR"):
        assert ROUTER.route(topic).namespace == "ana"


def test_subscriptions_cover_each_source_shared_and_per_user_with_distinct_identifiers():
    subscriptions = ROUTER.subscriptions()
    identifiers = [identifier for identifier, _ in subscriptions]

    assert len(set(identifiers)) == len(identifiers)
    filters = {f for _, f in subscriptions}
    assert {
        "plantops/+/telemetry",
        "plantops/u/+/+/telemetry",
        "zigbee2mqtt/#",
        "plantops/u/+/zigbee2mqtt/#",
    } <= filters
    assert {"+/sensor/+/state", "tele/+/SENSOR", "home/+/BTtoMQTT/+", "+/events/rpc", "homie/+/+/+"} <= filters
    assert "homeassistant/sensor/+/state" in filters
    assert "miflora/+" in filters


def test_administrator_rows_switch_sources_off_and_rebase_them():
    rows = {
        "zigbee2mqtt": {"kind": "zigbee2mqtt", "enabled": True, "base_topic": "z2m", "options": {}},
        "esphome": {"kind": "esphome", "enabled": False, "base_topic": "", "options": {}},
        "tasmota": {"kind": "tasmota", "enabled": True, "base_topic": "bad/+/base", "options": {}},
        "native": {"kind": "native", "enabled": True, "base_topic": "elsewhere", "options": {}},
        "shelly": {"kind": "shelly", "enabled": True, "base_topic": "plantops", "options": {}},
    }
    router = Router("plantops", active_sources("plantops", rows))

    assert router.route("z2m/Fern").source.name == "zigbee2mqtt"
    assert router.route("zigbee2mqtt/Fern") is None
    assert router.route("fern-node/sensor/soil/state") is None
    assert router.route("tele/t/SENSOR").source.name == "tasmota"  # an invalid base keeps the default
    assert router.route("plantops/x/telemetry").source.name == "native"  # always the MQTT_TOPIC_PREFIX
    # No source may be based under the prefix, where the native and the per-user topics live.
    assert router.route("s1/events/rpc").source.name == "shelly"


def test_a_generic_source_takes_its_filter_and_the_device_from_the_plus_level():
    rows = {"generic-2": {"kind": "generic", "enabled": True, "base_topic": "farm/+/json",
                          "options": {"fields": {"humidity": {"path": "h"}}}}}  # fmt: skip
    route = Router("plantops", active_sources("plantops", rows)).route("farm/shed/json")

    result = route.source.adapter.parse(route.topic, b'{"h": 61}', NOW, route.source.options)

    assert route.source.name == "generic-2"
    assert [(r.key, r.values) for r in result.readings] == [("generic:shed", {"humidity": 61.0})]


def test_the_generic_source_is_off_until_it_has_a_filter():
    assert "generic" not in {source.name for source in active_sources("plantops")}


# -- units, partial acceptance, time --------------------------------------------------------------

from app.domain.sources import esphome, miflora, native, openmqttgateway, shelly, tasmota, zigbee2mqtt  # noqa: E402


def test_a_bad_field_is_dropped_and_counted_and_the_good_ones_kept():
    payload = json.dumps({"soil_moisture": 145, "temperature": 22.4, "battery": "full", "linkquality": 99}).encode()

    result = zigbee2mqtt.ADAPTER.parse("Fern soil", payload, NOW, {})

    assert [r.values for r in result.readings] == [{"temperature": 22.4}]
    assert result.rejections == Counter(out_of_range=1, wrong_type=1)
    assert result.details["out_of_range"] == "soil moisture out of range (145)"


def test_native_keeps_the_good_metrics_of_an_item_with_a_bad_one():
    payload = b'[{"ts": 1796159100, "soil_moisture": 41.2, "temperature": "hot"}, {"ts": "yesterday", "humidity": 50}]'

    result = native.ADAPTER.parse("fern-1/telemetry", payload, NOW, {})

    assert [(r.key, r.values) for r in result.readings] == [("fern-1", {"soil_moisture": 41.2})]
    assert result.rejections == Counter(wrong_type=1, bad_ts=1)


def test_native_counts_an_item_without_any_metric_once():
    result = native.ADAPTER.parse("fern-1/telemetry", b'{"ts": 1796159100}', NOW, {})

    assert result.readings == []
    assert result.rejections == Counter(no_metric=1)


@pytest.mark.parametrize("topic", ["fern 1/telemetry", "fern-1/state", "a/b/telemetry"])
def test_native_topics_outside_the_contract_are_bad_topics(topic):
    assert native.ADAPTER.parse(topic, b"{}", NOW, {}).rejections == Counter(bad_topic=1)


def test_tasmota_time_without_offset_is_read_in_the_configured_timezone_or_utc():
    payload = b'{"Time":"2026-07-01T12:00:00","SHT3X":{"Temperature":25.0,"Humidity":40}}'

    berlin = tasmota.ADAPTER.parse("t/SENSOR", payload, NOW, {"timezone": "Europe/Berlin"})
    default = tasmota.ADAPTER.parse("t/SENSOR", payload, NOW, {})
    nonsense = tasmota.ADAPTER.parse("t/SENSOR", payload, NOW, {"timezone": "Mars/Olympus"})

    assert berlin.readings[0].ts == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert default.readings[0].ts == nonsense.readings[0].ts == datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def test_tasmota_plugs_and_switches_are_not_devices():
    payload = b'{"Time":"2026-12-01T21:05:00","ENERGY":{"Total":1.2,"Power":40},"ESP32":{"Temperature":51}}'

    assert tasmota.ADAPTER.parse("plug/SENSOR", payload, NOW, {}).ignored


def test_fahrenheit_is_converted_where_the_source_says_so():
    z2m = zigbee2mqtt.ADAPTER.parse("f", b'{"temperature": 122, "temperature_unit": "fahrenheit"}', NOW, {})
    omg = openmqttgateway.ADAPTER.parse("gw/BTtoMQTT/C47C8D6AB3C1", b'{"tempf": 32}', NOW, {})
    shelly_f = shelly.ADAPTER.parse(
        "s/events/rpc",
        b'{"method": "NotifyStatus", "params": {"ts": 1796159100, "temperature:0": {"tF": 68}}}',
        NOW,
        {},
    )

    assert z2m.readings[0].values == {"temperature": 50.0}
    assert omg.readings[0].values == {"temperature": 0.0}
    assert shelly_f.readings[0].values == {"temperature": 20.0}


def test_one_value_sources_floor_their_time_to_the_merge_slot():
    result = esphome.ADAPTER.parse("node/sensor/soil/state", b"40", NOW, {})
    homie = miflora.HOMIE.parse("daemon/Fern/moisture", b"40", NOW, {})

    for reading in (result.readings[0], homie.readings[0]):
        assert reading.partial
        assert reading.ts == datetime(2026, 12, 1, 21, 30, 0, tzinfo=UTC)
        assert reading.ts.timestamp() % MERGE_SECONDS == 0


def test_esphome_nan_is_no_value_and_no_rejection():
    for text in (b"nan", b"None", b"NaN"):
        result = esphome.ADAPTER.parse("node/sensor/soil/state", text, NOW, {})
        assert result.readings == []
        assert not result.rejections
        assert result.key == "esphome:node"


def test_z2m_last_seen_in_the_future_is_refused():
    later = (NOW + timedelta(hours=1)).isoformat()
    result = zigbee2mqtt.ADAPTER.parse("f", json.dumps({"soil_moisture": 30, "last_seen": later}).encode(), NOW, {})

    assert result.readings == []
    assert result.rejections == Counter(future_ts=1)


def test_openmqttgateway_keys_are_twelve_upper_case_hex_digits_from_the_topic_or_the_id():
    from_id = openmqttgateway.ADAPTER.parse("gw/BTtoMQTT/whatever", b'{"id":"c4:7c:8d:6a:b3:c1","moi":30}', NOW, {})

    assert from_id.key == "openmqttgateway:C47C8D6AB3C1"


@pytest.mark.parametrize(
    ("name", "metric"),
    [
        ("soil_moisture", "soil_moisture"), ("moisture", "soil_moisture"), ("Fern Soil Moisture", "soil_moisture"),
        ("soil humidity", "soil_moisture"), ("temperature", "temperature"), ("temp", "temperature"),
        ("humidity", "humidity"), ("illuminance", "light"), ("lux", "light"), ("light", "light"),
        ("conductivity", "conductivity"), ("fertility", "conductivity"), ("battery", "battery"),
        ("fern_temperature", "temperature"), ("battery_voltage", None), ("wifi_signal", None),
        ("uptime", None), ("soil_raw", None), ("", None), ("x" * 500, None),
    ],
)  # fmt: skip
def test_suggest_metric(name, metric):
    assert suggest_metric(name) == metric


# -- hostile input --------------------------------------------------------------------------------

ADAPTERS = [
    (native.ADAPTER, "fern-1/telemetry"),
    (zigbee2mqtt.ADAPTER, "Fern soil"),
    (miflora.JSON, "Fern"),
    (miflora.HOMEASSISTANT, "sensor/fern/state"),
    (miflora.HOMIE, "daemon/Fern/moisture"),
    (esphome.ADAPTER, "node/sensor/soil/state"),
    (tasmota.ADAPTER, "t/SENSOR"),
    (openmqttgateway.ADAPTER, "gw/BTtoMQTT/C47C8D6AB3C1"),
    (shelly.ADAPTER, "s/events/rpc"),
]
GENERIC_OPTIONS = {"filter": "g/+/d", "fields": {"soil_moisture": {"path": "a.b"}, "x": {"path": "c"}}, "ts_path": "t"}


def all_adapters():
    from app.domain.sources import generic

    return [*((a, t, {}) for a, t in ADAPTERS), (generic.ADAPTER, "g/dev/d", GENERIC_OPTIONS)]


def accounted(result: SourceResult):
    assert isinstance(result, SourceResult)
    assert result.key is None or valid_key(result.key), result.key
    assert all(valid_key(reading.key) for reading in result.readings)
    assert set(result.rejections) <= set(REASONS), result.rejections
    for reading in result.readings:
        assert reading.ts.tzinfo is not None
        assert len(reading.fields) <= MAX_FIELDS


@pytest.mark.parametrize(("adapter", "topic", "options"), all_adapters(), ids=lambda v: getattr(v, "kind", ""))
def test_oversized_deep_and_wide_payloads_are_refused(adapter, topic, options):
    too_large = b" " * (MAX_PAYLOAD_BYTES + 1)
    deep = b"[" * 100_000 + b"]" * 100_000
    nested = json.dumps({"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": 1}}}}}}}}}}).encode()
    wide = json.dumps({"AM2301": {f"k{i}": i for i in range(10_000)}}).encode()

    for payload in (too_large, deep, nested, wide, b"\xff\xfe", b"{", b"[]", b"NaN", b'"text"', b"null"):
        accounted(adapter.parse(topic, payload, NOW, options))
    assert adapter.parse(topic, too_large, NOW, options).rejections == Counter(too_large=1)
    if adapter is not esphome.ADAPTER and adapter is not miflora.HOMIE:
        assert "wrong_shape" in adapter.parse(topic, nested, NOW, options).rejections or adapter.kind == "native"


def test_nesting_beyond_the_bound_is_wrong_shape():
    payload = json.dumps({"params": {"x": [[[[[[[[[1]]]]]]]]]}, "method": "NotifyStatus"}).encode()

    assert shelly.ADAPTER.parse("s/events/rpc", payload, NOW, {}).rejections == Counter(wrong_shape=1)
    assert MAX_DEPTH < 10


def test_long_field_names_and_too_many_fields_are_dropped_and_counted():
    wide = {"Time": "2026-12-01T21:05:00", "X": {("k" * 80): 1, **{f"f{i}": i for i in range(MAX_FIELDS + 5)}}}

    result = tasmota.ADAPTER.parse("t/SENSOR", json.dumps(wide).encode(), NOW, {})

    assert len(result.readings[0].fields) <= MAX_FIELDS
    assert result.rejections["wrong_shape"] >= 1


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(payload=st.binary(max_size=300))
def test_any_bytes_parse_without_raising(payload):
    for adapter, topic, options in all_adapters():
        accounted(adapter.parse(topic, payload, NOW, options))


LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
KEYS = ["soil_moisture", "temperature", "temperature_unit", "last_seen", "moisture", "Time", "TempUnit", "ANALOG",
        "A0", "Flora-6ab3c1", "mac", "Moisture", "moi", "tempf", "id", "method", "params", "ts", "temperature:0",
        "tC", "tF", "devicepower:0", "battery", "percent", "a", "b", "c", "t"]  # fmt: skip
SHAPED = st.recursive(
    LEAVES,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=12), children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS), children, max_size=5)
    ),
    max_leaves=25,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(document=SHAPED, method=st.sampled_from(["NotifyStatus", "NotifyFullStatus", None]))
def test_any_json_parses_without_raising(document, method):
    if method and isinstance(document, dict):
        document = {"method": method, "params": document}
    payload = json.dumps(document).encode()
    for adapter, topic, options in all_adapters():
        accounted(adapter.parse(topic, payload, NOW, options))


@settings(max_examples=200, deadline=None)
@given(topic=st.text(min_size=1, max_size=300))
def test_any_topic_routes_or_not_without_raising(topic):
    route = ROUTER.route(topic)
    if route is not None:
        accounted(route.source.adapter.parse(route.topic, b'{"soil_moisture": 40}', NOW, route.source.options))


def test_the_most_specific_filter_wins_whatever_the_order_of_sources():
    router = Router("plantops", list(reversed(active_sources("plantops"))))

    assert router.route("homeassistant/sensor/fern/state").source.name == "miflora-homeassistant"
    assert router.route("homie/sensor/fern/state").source.name == "miflora-homie"
    assert router.route("zigbee2mqtt/x/events/rpc").source.name == "zigbee2mqtt"
    assert router.route("fern-node/sensor/soil/state").source.name == "esphome"


def test_the_native_fast_reading_equals_the_dataclass():
    from app.domain.payload import new_reading
    from app.domain.sources.base import DeviceReading

    fast = new_reading("fern-1", NOW, {"soil_moisture": 4.0})
    slow = DeviceReading("fern-1", NOW, {"soil_moisture": 4.0})

    assert fast == slow
    assert vars(fast) == vars(slow)
    with pytest.raises(AttributeError):
        fast.key = "other"  # still frozen


def test_a_relayed_ble_sensor_whose_key_would_be_too_long_is_skipped():
    topic, block = "t" * 100, "F" * 93 + "-6ab3c1"
    payload = json.dumps({"Time": "2026-12-01T21:05:00", block: {"mac": "x", "Temperature": 20}}).encode()

    result = tasmota.ADAPTER.parse(f"{topic}/SENSOR", payload, NOW, {})

    accounted(result)
    assert result.readings == []
