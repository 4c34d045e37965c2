import itertools
import re
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, insert

from app.extensions import db
from app.models import Alert, Plant
from app.ownership import personal_garden_id
from app.plants import queries
from app.plants.queries import CLOCK_BUCKET_SECONDS
from tests.fixtures.readings import new_plant

from ..fixtures.readings import ingest, seed_readings


def now():
    return datetime.now(UTC)


DEVICES = itertools.count(1000)


def add_plant(app, user_id, **fields):
    """A plant with its own sensor, so the writer stores its readings."""
    with app.app_context():
        plant = new_plant(db.session, user_id, **{"device_id": f"dev-{next(DEVICES)}", **fields})
        db.session.commit()
        return plant.id


@pytest.fixture
def bucket_start(time_machine):
    """The clock at the start of a dashboard clock bucket, ticking: a test that compares two
    versions has the bucket's 30 s before the version turns by itself."""
    start = int(time.time()) // CLOCK_BUCKET_SECONDS * CLOCK_BUCKET_SECONDS + CLOCK_BUCKET_SECONDS
    time_machine.move_to(datetime.fromtimestamp(start, UTC), tick=True)


def card_names(html):
    return re.findall(r'<h2><a href="/plants/\d+">([^<]+)</a></h2>', html)


def version_of(html):
    """The If-None-Match header the dashboard's poller sends back."""
    return re.search(r'"If-None-Match": "(\\"[0-9a-f]+\\")"', html).group(1).replace("\\", "")


@contextmanager
def counted_statements(app):
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_empty_dashboard_invites_to_add_a_plant(client, user_id):
    response = client.get("/plants")
    assert response.status_code == 200
    assert b"Add your first plant" in response.data


def test_cards_show_worst_first_with_status_in_words(app, client, user_id):
    ok = add_plant(app, user_id, name="Happy", soil_moisture_min=20.0)
    dry = add_plant(app, user_id, name="Thirsty", soil_moisture_min=30.0)
    stale = add_plant(app, user_id, name="Silent", stale_after_minutes=10)
    add_plant(app, user_id, name="Brand new")
    seed_readings(app, ok, [{"ts": now() - timedelta(minutes=3), "soil_moisture": 45.0, "battery": 80.0}])
    seed_readings(app, dry, [{"ts": now(), "soil_moisture": 12.5, "temperature": 21.0}])
    seed_readings(app, stale, [{"ts": now() - timedelta(hours=2), "soil_moisture": 40.0}])

    html = client.get("/plants").get_data(as_text=True)

    assert card_names(html) == ["Thirsty", "Silent", "Brand new", "Happy"]
    assert "Needs care" in html
    assert "Sensor silent" in html
    assert "Waiting for data" in html
    assert ">OK<" in html
    assert "Soil moisture low" in html
    assert "12.5 %" in html
    assert "21.0 °C" in html
    assert "80 %" in html
    assert "3 min ago" in html
    assert "2 h ago" in html


@pytest.mark.parametrize(
    "ts", [datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC), datetime(2026, 5, 4, 3, 2, 1, 250000, tzinfo=UTC)]
)
def test_a_card_gives_its_reading_time_in_utc_for_machines(app, client, user_id, ts):
    plant = add_plant(app, user_id)
    seed_readings(app, plant, [{"ts": ts, "soil_moisture": 40.0}])
    html = client.get("/plants").get_data(as_text=True)
    assert f'Updated <time datetime="{ts.isoformat()}">' in html


def test_a_card_turns_stale_when_its_window_passes_without_new_data(app, client, user_id, monkeypatch):
    """Cards are memoised by their row: the clock alone must still move one from OK to stale."""
    plant = add_plant(app, user_id, name="Quiet", stale_after_minutes=30)
    seed_readings(app, plant, [{"ts": now() - timedelta(minutes=10), "soil_moisture": 40.0}])
    assert 'class="badge badge-ok">OK<' in client.get("/plants").get_data(as_text=True)

    later = now() + timedelta(hours=1)
    monkeypatch.setattr(queries, "utc_now", lambda: later)
    html = client.get("/plants").get_data(as_text=True)

    assert 'class="badge badge-ok"' not in html
    assert 'class="badge badge-stale">Sensor silent<' in html
    assert "1 h ago" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=alert", ["Thirsty"]),
        ("status=no_data", ["Kitchen new"]),
        ("location=Kitchen", ["Thirsty", "Kitchen new"]),
        ("location=Kitchen&status=ok", []),
        ("status=bogus", ["Thirsty", "Kitchen new", "Happy"]),
        ("location=Nowhere", []),
    ],
)
def test_filters_by_status_and_location(app, client, user_id, query, expected):
    ok = add_plant(app, user_id, name="Happy", location="Balcony")
    dry = add_plant(app, user_id, name="Thirsty", location="Kitchen", soil_moisture_min=30.0)
    add_plant(app, user_id, name="Kitchen new", location="Kitchen")
    seed_readings(app, ok, [{"ts": now(), "soil_moisture": 45.0}])
    seed_readings(app, dry, [{"ts": now(), "soil_moisture": 10.0}])

    html = client.get(f"/plants?{query}").get_data(as_text=True)

    assert card_names(html) == expected
    if not expected:
        assert "No plant matches these filters" in html


@pytest.mark.parametrize("query", ["", "?location=Kitchen", "?status=no_data&location=Kitchen"])
def test_cards_and_filters_show_only_the_gardeners_own_plants(app, client, other_client, user_id, query):
    from app.models import User

    with app.app_context():
        other_id = db.session.scalar(db.select(User.id).where(User.email == "other@example.com"))
    add_plant(app, user_id, name="Mine", location="Kitchen")
    add_plant(app, other_id, name="Theirs", location="Kitchen")

    assert card_names(client.get(f"/plants{query}").get_data(as_text=True)) == ["Mine"]
    assert card_names(other_client.get(f"/plants{query}").get_data(as_text=True)) == ["Theirs"]


def test_filter_form_lists_locations_and_keeps_choice(app, client, user_id):
    add_plant(app, user_id, location="Kitchen")
    add_plant(app, user_id, location="Balcony")
    html = client.get("/plants?location=Kitchen&status=ok").get_data(as_text=True)
    assert "<option selected>Kitchen</option>" in html
    assert "<option >Balcony</option>" in html
    assert '<option value="ok" selected>' in html


def test_htmx_poll_gets_only_the_cards_fragment(app, htmx, user_id):
    add_plant(app, user_id, name="Fern")
    response = htmx.get("/plants")
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert "plant-filters" not in html.split("hx-include")[0]
    assert card_names(html) == ["Fern"]
    assert 'hx-trigger="every 5s"' in html
    assert "HX-Request" in response.headers["Vary"]


def test_unchanged_poll_is_304_and_a_new_reading_changes_it(app, htmx, user_id, bucket_start):
    plant_id = add_plant(app, user_id, name="Fern", device_id="dev-1")
    version = version_of(htmx.get("/plants").get_data(as_text=True))

    unchanged = htmx.get("/plants", headers={"If-None-Match": version})
    assert unchanged.status_code == 304
    assert unchanged.data == b""
    assert unchanged.headers["ETag"] == version

    seed_readings(app, plant_id, [{"ts": now(), "soil_moisture": 33.3}])
    changed = htmx.get("/plants", headers={"If-None-Match": version})
    assert changed.status_code == 200
    assert "33.3 %" in changed.get_data(as_text=True)


def test_older_reading_of_another_plant_still_changes_the_version(app, htmx, user_id, bucket_start):
    first = add_plant(app, user_id, name="A")
    second = add_plant(app, user_id, name="B")
    seed_readings(app, first, [{"ts": now(), "soil_moisture": 40.0}])
    version = version_of(htmx.get("/plants").get_data(as_text=True))
    seed_readings(app, second, [{"ts": now() - timedelta(minutes=10), "soil_moisture": 41.0}])
    assert htmx.get("/plants", headers={"If-None-Match": version}).status_code == 200


def test_edit_and_delete_change_the_version(app, client, htmx, user_id, bucket_start):
    plant_id = add_plant(app, user_id, name="Fern")
    version = version_of(htmx.get("/plants").get_data(as_text=True))
    with app.app_context():
        db.session.get(Plant, plant_id).name = "Renamed"
        db.session.commit()
    renamed = htmx.get("/plants", headers={"If-None-Match": version})
    assert renamed.status_code == 200
    version = version_of(renamed.get_data(as_text=True))
    client.post(f"/plants/{plant_id}/delete")
    assert htmx.get("/plants", headers={"If-None-Match": version}).status_code == 200


def test_an_alert_opening_or_acknowledged_changes_the_version_so_the_nav_count_follows(
    app, client, htmx, user_id, bucket_start
):
    plant_id = add_plant(app, user_id, name="Fern")
    version = version_of(htmx.get("/plants").get_data(as_text=True))
    with app.app_context():
        alert = Alert(
            garden_id=personal_garden_id(user_id),
            plant_id=plant_id,
            problem="soil_moisture_low",
            metric="soil_moisture",
        )
        db.session.add(alert)
        db.session.commit()
        alert_id = alert.id
    opened = htmx.get("/plants", headers={"If-None-Match": version})
    assert opened.status_code == 200
    version = version_of(opened.get_data(as_text=True))
    with app.app_context():
        db.session.get(Alert, alert_id).state = "acknowledged"
        db.session.commit()
    assert htmx.get("/plants", headers={"If-None-Match": version}).status_code == 200


def test_other_users_version_never_matches(app, htmx, other_client, user_id, bucket_start):
    add_plant(app, user_id)
    version = version_of(htmx.get("/plants").get_data(as_text=True))
    other = other_client.get("/plants", headers={"HX-Request": "true", "If-None-Match": version})
    assert other.status_code == 200


def seed_many_plants(app, user_id, first, stop, readings_each=3):
    """Plants number `first` to `stop - 1`, with a few readings each, in bulk."""
    stamp = now()
    with app.app_context():
        garden_id = personal_garden_id(user_id)
        db.session.execute(
            insert(Plant),
            [
                {
                    "garden_id": garden_id,
                    "name": f"Plant {i:03d}",
                    "device_id": f"dev-{i}",
                    "location": "Kitchen" if i % 2 else "Balcony",
                    "soil_moisture_min": 30.0,
                    "last_reading_at": stamp - timedelta(minutes=i),
                    "latest_soil_moisture": float(i % 60),
                    "latest_battery": 50.0,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
                for i in range(first, stop)
            ],
        )
        db.session.commit()
    rows = [{"ts": stamp - timedelta(minutes=m), "soil_moisture": 40.0} for m in range(readings_each)]
    ingest(app, {f"dev-{i}": rows for i in range(first, stop)})


def test_dashboard_fragment_query_count_is_constant_from_1_to_200_plants(app, htmx, user_id):
    counts = {}
    seeded = 0
    for total in (1, 200):
        seed_many_plants(app, user_id, seeded, total, readings_each=2 if total == 1 else 5)
        seeded = total
        for query in ("", "?status=alert&location=Kitchen"):
            with counted_statements(app) as statements:
                response = htmx.get(f"/plants{query}")
            assert response.status_code == 200
            counts[(total, query)] = len(statements)
        assert len(card_names(htmx.get("/plants").get_data(as_text=True))) == total

    assert counts[(1, "")] == counts[(200, "")]
    assert counts[(1, "?status=alert&location=Kitchen")] == counts[(200, "?status=alert&location=Kitchen")]
    # user, version, cards, last waterings, the nav's open-alert count (+ a transaction statement)
    assert counts[(200, "")] <= 6


def test_unchanged_poll_runs_fewer_queries_than_a_render(app, htmx, user_id, bucket_start):
    seed_many_plants(app, user_id, 0, 20)
    version = version_of(htmx.get("/plants").get_data(as_text=True))
    with counted_statements(app) as statements:
        assert htmx.get("/plants", headers={"If-None-Match": version}).status_code == 304
    assert not any("latest_soil_moisture" in s for s in statements)


def test_back_button_history_restore_gets_the_whole_page(app, htmx, user_id):
    add_plant(app, user_id, name="Fern")
    response = htmx.get("/plants?status=no_data", headers={"HX-History-Restore-Request": "true"})
    html = response.get_data(as_text=True)
    assert "<html" in html
    assert card_names(html) == ["Fern"]


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd"])
def test_the_polled_fragment_travels_compressed_to_a_browser_that_accepts_it(app, htmx, user_id, encoding):
    seed_many_plants(app, user_id, 0, 40)
    plain = htmx.get("/plants").get_data()
    response = htmx.get("/plants", headers={"Accept-Encoding": f"{encoding};q=1.0, identity;q=0.5"})
    assert response.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    assert int(response.headers["Content-Length"]) < len(plain) / 5
    assert decompress(encoding, response.get_data()) == plain


def decompress(encoding, data):
    import gzip

    import brotli
    from backports import zstd

    return {"gzip": gzip.decompress, "br": brotli.decompress, "zstd": zstd.decompress}[encoding](data)


def test_full_pages_are_never_compressed_as_they_hold_the_csrf_token(app, client, htmx, user_id):
    # BREACH: a compressed page holding a secret next to text the attacker chose (the
    # location filter) leaks the secret through its length.
    seed_many_plants(app, user_id, 0, 40)
    headers = {"Accept-Encoding": "gzip, br, zstd"}
    page = client.get("/plants?location=Kitchen", headers=headers)
    assert "X-CSRFToken" in page.get_data(as_text=True)
    assert "Content-Encoding" not in page.headers
    restored = htmx.get("/plants", headers={**headers, "HX-History-Restore-Request": "true"})
    assert "X-CSRFToken" in restored.get_data(as_text=True)
    assert "Content-Encoding" not in restored.headers


def test_the_compressed_fragment_holds_no_token_and_echoes_no_request_text(app, htmx, user_id):
    seed_many_plants(app, user_id, 0, 40)
    headers = {"Accept-Encoding": "zstd", "User-Agent": "marker-in-agent", "Referer": "http://x/marker-in-referer"}
    for query in ("?location=marker", "?status=marker", "?status=alert&location=marker", "?marker=1"):
        fragment = htmx.get(f"/plants{query}", headers=headers)
        html = fragment.get_data()
        if fragment.headers.get("Content-Encoding") == "zstd":  # "no plant matches" is too short to compress
            html = decompress("zstd", html)
        assert "csrf" not in html.decode().lower()
        assert "marker" not in html.decode()


def test_no_change_poll_stays_an_empty_304_when_compression_is_accepted(app, htmx, user_id, bucket_start):
    seed_many_plants(app, user_id, 0, 5)
    version = version_of(htmx.get("/plants").get_data(as_text=True))
    unchanged = htmx.get("/plants", headers={"If-None-Match": version, "Accept-Encoding": "gzip"})
    assert (unchanged.status_code, unchanged.data) == (304, b"")
    assert "Content-Encoding" not in unchanged.headers
    assert "Accept-Encoding" not in unchanged.headers.get("Vary", "")


def test_with_debug_on_an_edited_card_template_shows_on_the_next_dashboard(app, client, user_id, tmp_path):
    """The card cache is keyed by the template: a reloaded template is never served from it."""
    import os
    import shutil
    from pathlib import Path

    from jinja2 import ChoiceLoader, FileSystemLoader

    app.debug = True  # as `flask run --debug`: templates reload when their file changes
    card = tmp_path / "plants" / "_card.html"
    card.parent.mkdir()
    shutil.copy(Path(app.root_path, app.template_folder, "plants", "_card.html"), card)
    app.jinja_env.loader = ChoiceLoader([FileSystemLoader(tmp_path), app.jinja_env.loader])
    add_plant(app, user_id, name="Fern")
    assert card_names(client.get("/plants").get_data(as_text=True)) == ["Fern"]

    card.write_text(card.read_text().replace("<h2>", '<h2 class="edited">'))
    later = card.stat().st_mtime + 5
    os.utime(card, (later, later))

    assert '<h2 class="edited"><a href="/plants/' in client.get("/plants").get_data(as_text=True)


def test_a_cached_card_follows_a_rename_a_threshold_and_a_new_reading(app, client, user_id):
    plant_id = add_plant(app, user_id, name="Fern", device_id="dev-1", soil_moisture_min=20.0)
    seed_readings(app, plant_id, [{"ts": now() - timedelta(minutes=1), "soil_moisture": 25.0}])
    assert "25.0 %" in client.get("/plants").get_data(as_text=True)

    with app.app_context():
        db.session.get(Plant, plant_id).name = "Maidenhair"
        db.session.commit()
    assert card_names(client.get("/plants").get_data(as_text=True)) == ["Maidenhair"]

    with app.app_context():
        db.session.get(Plant, plant_id).soil_moisture_min = 30.0
        db.session.commit()
    assert 'class="badge badge-alert">Needs care<' in client.get("/plants").get_data(as_text=True)

    seed_readings(app, plant_id, [{"ts": now(), "soil_moisture": 44.4}])
    html = client.get("/plants").get_data(as_text=True)
    assert "44.4 %" in html
    assert "25.0 %" not in html


def test_card_links_follow_the_mount_point_even_when_the_card_is_cached(app, client, user_id):
    plant_id = add_plant(app, user_id, name="Fern", device_id=None)
    assert f'href="/plants/{plant_id}"' in client.get("/plants").get_data(as_text=True)
    mounted = client.get("/plants", environ_overrides={"SCRIPT_NAME": "/garden"}).get_data(as_text=True)
    assert f'<h2><a href="/garden/plants/{plant_id}">' in mounted
    assert f'href="/garden/plants/{plant_id}/edit">Claim a device' in mounted


def test_a_matching_if_none_match_is_304_and_a_stale_one_gets_the_fragment_with_its_etag(
    app, htmx, user_id, bucket_start
):
    add_plant(app, user_id, name="Fern")
    first = htmx.get("/plants")
    etag = first.headers["ETag"]
    assert etag == version_of(first.get_data(as_text=True))
    assert htmx.get("/plants", headers={"If-None-Match": f'"other", {etag}'}).status_code == 304
    stale = htmx.get("/plants", headers={"If-None-Match": '"0123456789abcdef"'})
    assert (stale.status_code, stale.headers["ETag"]) == (200, etag)
    assert card_names(stale.get_data(as_text=True)) == ["Fern"]
