"""Hostile plant names in every notification format read as themselves."""

import re

import pytest

from app.notify import escaping
from app.notify.discord import alert_message
from tests.unit.test_alert_rules import NOW

HOSTILE = [
    "[phish](https://example.org)",
    "@everyone look",
    "@here",
    "<@123456789012345678>",
    "<#123456789012345678>",
    "`rm -rf` ```code```",
    "# Heading",
    "-# small print",
    "> quoted",
    "||spoiler||",
    "**bold** __under__ ~~gone~~",
    "https://example.org/free",
    "Fern\n# injected heading\n[x](https://evil.example)",
    "trailing backslash \\",
    ":red_circle: <:custom:1234>",
]


def discord_unescaped(text):
    """What Discord shows for `text`: a backslash before punctuation is dropped, nothing
    else is interpreted (the escaped text contains no unescaped markdown)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


def unescaped_specials(text, specials):
    """Special characters in `text` that no backslash escapes."""
    found, escaped = [], False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in specials:
            found.append(ch)
    return found


def message(name, event="opened"):
    return alert_message(
        event,
        plant_name=name,
        label="Soil moisture low",
        value="22 %",
        threshold="30 %",
        when=NOW,
        timezone="UTC",
        plant_url="https://plants.example/plants/7",
    )


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("event", ["opened", "resolved"])
def test_a_hostile_plant_name_is_inert_everywhere_in_the_discord_message(name, event):
    body = message(name, event)
    embed = body["embeds"][0]
    escaped = embed["fields"][0]["value"]
    assert not unescaped_specials(escaped, "[]()@<>`#*_~|:>-.")
    assert discord_unescaped(escaped) == " ".join(name.split("\n"))  # the reader sees the name as typed
    assert escaped in body["content"]
    assert escaped in embed["title"]
    assert "\n" not in body["content"] + embed["title"]
    assert body["allowed_mentions"] == {"parse": []}


def test_the_masked_link_of_the_issue_is_shown_as_text():
    assert message("[phish](https://example.org)")["embeds"][0]["fields"][0]["value"] == (
        "\\[phish\\]\\(https\\:\\/\\/example\\.org\\)"
    )


def test_a_long_name_is_cut_without_splitting_an_escape():
    body = message("*" * 300)
    title = body["embeds"][0]["title"]
    assert len(title) <= 256
    assert title.endswith("\\*")
    assert len(body["embeds"][0]["fields"][0]["value"]) == 600


@pytest.mark.parametrize("name", HOSTILE)
def test_telegram_markdown_v2_escapes_every_special(name):
    assert not unescaped_specials(escaping.telegram_markdown_v2(name), "_*[]()~`>#+-=|{}.!")


@pytest.mark.parametrize("name", HOSTILE)
def test_commonmark_escapes_all_punctuation(name):
    assert not unescaped_specials(escaping.commonmark(name), "[]()<>`#*_~!|")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("<!everyone> & <https://evil.example|click>", "&lt;!everyone&gt; &amp; &lt;https://evil.example|click&gt;"),
        ("Fern\n*bold*", "Fern *bold*"),
    ],
)
def test_slack_mrkdwn_escapes_what_makes_links_and_mentions(name, expected):
    assert escaping.slack_mrkdwn(name) == expected


def test_html_text_escapes_markup_and_quotes():
    assert escaping.html_text('<a href="x">Fern</a> & co') == "&lt;a href=&quot;x&quot;&gt;Fern&lt;/a&gt; &amp; co"
