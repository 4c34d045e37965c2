"""PlantOps in German (issue 20): with the user's setting "de", or a browser that asks for German,
every page a gardener uses, a form error, a notification and an API error read in German."""

import json
import re
from html import unescape as html_unescape

import pytest

from app.clock import utcnow
from app.extensions import db
from app.models import Alert, Task, User
from app.notify.dispatch import Links, alert_message_for, digest_message
from app.ownership import personal_garden_id

from ..conftest import AuthActions, make_user
from .alerting import add_plant, store
from .api.conftest import make_token

# English a German page must not show any more (each is on one of the pages below in English).
ENGLISH = [
    "Your plants",
    "Add a plant",
    "Latest reading",
    "Care log",
    "Open alerts",
    "Care tasks",
    "Add a task",
    "Notification channels",
    "Signed-in devices",
    "My devices",
    "Soil moisture",
    "Needs care",
    "Nothing to do today",
    "Plants that need care",
    "Sign out",
    "Acknowledge",
    "threshold",
    "My gardens",
    "Members",
    "Invite someone",
    "Pending invitations",
    "Save",
]


def visible_text(html):
    """What a reader sees: no tags, no scripts, no attribute values."""
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def german_garden(app, client):
    """A signed-in gardener with a plant whose soil is dry (an open alert), and a task."""
    user_id = make_user(app, locale="de")
    assert AuthActions(app, client).login().status_code == 303
    plant_id = add_plant(app, user_id, name="Basilikum")
    store(app, plant_id, 12.0, 11.0)
    with app.app_context():
        db.session.add(
            Task(garden_id=personal_garden_id(user_id), plant_id=plant_id, title="Gießen", due_date=utcnow().date())
        )
        db.session.commit()
    return user_id, plant_id


PAGES = {
    "/plants": ["Ihre Pflanzen", "Pflanze hinzufügen", "Bodenfeuchte", "Braucht Pflege"],
    "/plants/{plant}": ["Letzter Messwert", "Pflegeprotokoll", "Offene Warnungen", "Pflegeaufgaben", "Verlauf"],
    "/tasks": ["Pflegeaufgaben", "Aufgabe hinzufügen", "Offen", "Erledigt", "Heute fällig"],
    "/alerts": ["Warnungen", "Bodenfeuchte niedrig", "Bestätigen", "Grenzwert", "Ausgelöst"],
    "/settings": [
        "Einstellungen",
        "Benachrichtigungskanäle",
        "Angemeldete Geräte",
        "Zeitzone speichern",
        "Anbieter speichern",
    ],
    "/today": ["Heute", "Pflanzen, die Pflege brauchen", "Gegossen", "Fällige Aufgaben", "Offene Warnungen"],
    "/devices": ["Geräte", "Meine Geräte", "Zuletzt gesehen", "Batterie"],
    "/gardens": ["Meine Gärten", "Ihre Rolle im jeweiligen Garten", "Neuer Garten", "Besitzer", "persönlich"],
    "/gardens/{garden}": ["Mitglieder", "(Sie)", "Jemanden einladen", "Betreuer", "Pflanzensitter", "Betrachter"],
}


@pytest.mark.parametrize("path", PAGES)
def test_each_page_is_german_for_a_gardener_who_chose_german(client, german_garden, path):
    user_id, plant_id = german_garden
    with client.application.app_context():
        garden_id = personal_garden_id(user_id)
    response = client.get(path.format(plant=plant_id, garden=garden_id))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="de"' in html
    text = visible_text(html)
    for german in PAGES[path]:
        assert german in text, german
    assert [english for english in ENGLISH if re.search(rf"\b{re.escape(english)}\b", text)] == []


def test_a_browser_that_asks_for_german_gets_german_without_a_setting(app, client):
    make_user(app)
    AuthActions(app, client).login()
    text = visible_text(client.get("/plants", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}).text)
    assert "Ihre Pflanzen" in text
    assert "Noch keine Pflanzen." in text
    assert "Your plants" not in text
    assert "Your plants" in client.get("/plants", headers={"Accept-Language": "en"}).text


def test_a_form_error_is_german_where_it_was_typed(client, german_garden):
    response = client.post("/plants/new", data={"name": "", "stale_after_minutes": "0"})
    assert response.status_code == 422
    text = visible_text(response.get_data(as_text=True))
    assert "Bitte korrigieren Sie die unten markierten Felder." in text
    assert "Verwenden Sie 1 bis 10080 Minuten (eine Woche)." in text
    assert "Verstummt nach (Minuten)" in text  # the field's label
    assert "Please fix" not in text
    assert "Use 1 to 10080" not in text


def test_a_flash_message_is_german(client, german_garden):
    _, plant_id = german_garden
    response = client.post(f"/plants/{plant_id}/mute", data={"hours": "24"}, follow_redirects=True)
    assert "Basilikum ist für 1 Tag stummgeschaltet." in response.get_data(as_text=True)


def urls():
    return Links(lambda plant_id: f"https://plants.example/plants/{plant_id}", lambda user_id, plant_id: "https://m")


def test_a_notification_for_a_german_gardener_is_german_and_for_others_english(app, german_garden):
    user_id, plant_id = german_garden
    english_id = make_user(app, email="en@example.com")
    english_plant = add_plant(app, english_id, name="Basil")
    store(app, english_plant, 12.0, 11.0)
    with app.app_context():
        messages = {}
        for owner in (user_id, english_id):
            alert = db.session.scalar(db.select(Alert).where(Alert.garden_id == personal_garden_id(owner)))
            recipient = db.session.get_one(User, owner)
            messages[owner] = alert_message_for(alert, "opened", alert.value, utcnow(), urls(), recipient)
        digest = digest_message(db.session, db.session.get(User, user_id), utcnow(), [], urls())
    german = json.dumps(messages[user_id], ensure_ascii=False)
    assert "Bodenfeuchte niedrig" in german
    assert "Grenzwert" in german
    assert "Pflanze öffnen" in german
    assert "11,0 %" in german  # German digits
    assert "threshold" not in german
    assert "Soil moisture" not in german
    assert "Open the plant" not in german
    assert messages[user_id]["discord"]["embeds"][0]["fields"][0]["name"] == "Pflanze"
    english = json.dumps(messages[english_id], ensure_ascii=False)
    assert "soil moisture low (11.0 %, threshold 30.0 %)" in english
    assert "Open the plant" in english
    assert digest["title"] == ["🌱 1 Pflanze braucht Wasser, 2 Aufgaben heute fällig"]
    assert ["• " + "Aufgabe:" + " ", "Gießen", ""] in digest["lines"]


def test_an_api_error_for_a_german_gardener_is_german_and_keeps_its_codes(app, client):
    user_id = make_user(app, locale="de")
    token = make_token(app, user_id)
    response = client.post("/api/v1/plants", json={"name": 5}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "validation_error"
    assert {"field": "name", "message": "Muss Text sein."} in body["detail"]
    with app.app_context():
        db.session.get(User, user_id).locale = None
        db.session.commit()
    body = client.post("/api/v1/plants", json={"name": 5}, headers={"Authorization": f"Bearer {token}"}).get_json()
    assert {"field": "name", "message": "Must be text."} in body["detail"]


def test_the_scripts_get_their_words_in_the_pages_language(client, german_garden):
    html = client.get("/plants").get_data(as_text=True)
    words = json.loads(html_unescape(re.search(r"data-i18n='([^']*)'", html).group(1)))
    assert words["copied"] == "Kopiert"
    assert words["minutes_ago"] == "vor {num} Minuten"
    assert "{age}" in words["offline_status"]
    assert "{time}" in words["offline_status"]
