"""The htmx helper (app/web.py): one answer to "is this htmx?", page or block, Vary, public URLs."""

import re

from app.ownership import personal_garden_id
from app.web import public_url


def test_a_page_restored_from_history_holds_the_nav_count_once(app, htmx, user_id):
    """The dashboard block swaps the nav's count out of band only into a page already shown."""
    fragment = htmx.get("/plants").get_data(as_text=True)
    assert 'id="alert-count" class="nav-count" hx-swap-oob="true"' in fragment
    restored = htmx.get("/plants", headers={"HX-History-Restore-Request": "true"}).get_data(as_text=True)
    assert len(re.findall(r'id="alert-count"', restored)) == 1
    assert "hx-swap-oob" not in restored


def test_an_error_on_a_history_restore_is_the_whole_error_page(app, htmx, user_id):
    response = htmx.get("/plants/999999", headers={"HX-History-Restore-Request": "true"})
    assert response.status_code == 404
    assert b"<html" in response.data
    assert "HX-Retarget" not in response.headers


def test_the_delete_confirmation_is_a_block_of_its_page(app, client, htmx, user_id):
    from app.extensions import db
    from app.models import Plant

    with app.app_context():
        plant = Plant(garden_id=personal_garden_id(user_id), name="Fern")
        db.session.add(plant)
        db.session.commit()
        plant_id = plant.id
    page = client.get(f"/plants/{plant_id}/delete").get_data(as_text=True)
    fragment = htmx.get(f"/plants/{plant_id}/delete")
    html = fragment.get_data(as_text=True)
    assert "<html" in page
    assert "<html" not in html
    assert html.strip().startswith('<form class="card narrow" method="post"')
    # The CSRF token carries the second it was signed in, so two requests may differ there only.
    token = re.compile(r'name="csrf_token" value="[^"]*"')
    assert token.sub("", html.strip()) in token.sub("", page)
    assert "HX-Request" in fragment.headers["Vary"]


def test_public_url_is_the_configured_address_and_the_route_path(make_app):
    app = make_app(PUBLIC_URL="https://example.org/garden/")
    with app.app_context():
        assert public_url("plants.show_plant", plant_id=7) == "https://example.org/garden/plants/7"


def test_the_installable_app_is_served_with_its_types_scope_and_caching(client):
    manifest = client.get("/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    assert manifest.headers["Cache-Control"] == "public, max-age=3600"
    assert {icon["purpose"] for icon in manifest.get_json()["icons"]} == {"any", "maskable"}
    worker = client.get("/sw.js")
    assert worker.mimetype == "text/javascript"
    assert worker.headers["Cache-Control"] == "no-cache"
    assert worker.headers["Service-Worker-Allowed"] == "/"
    body = worker.get_data(as_text=True)
    assert "/*SETTINGS*/{}" not in body
    assert '"/static/app.css"' in body
    assert "/offline" in body
    assert "worker-src 'self'" in worker.headers["Content-Security-Policy"]
    offline = client.get("/offline")
    assert offline.status_code == 200
    assert "You are offline" in offline.get_data(as_text=True)


def test_the_language_follows_the_browser_and_the_404_page_says_it_once(client):
    html = client.get("/no-such-page", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="de"' in html
    assert "Nicht gefunden" in html
    assert "Zum Inhalt springen" in html
    english = client.get("/no-such-page").get_data(as_text=True)
    assert english.count("Not found") == 2  # the title and the heading, not the message again
    assert "belongs to another account" in english
