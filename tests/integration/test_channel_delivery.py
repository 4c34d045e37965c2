"""One channel message at a time, without the worker: the SMTP deadline, the SSRF guard at
send time, what each error means for a retry, and user text that stays inert."""

import time
from datetime import UTC, datetime

from app import outbound
from app.notify import channels
from app.notify.channels import Sender, alert_event_message, parse, send

from ..fixtures.services import DripServer, Reply
from .test_channels import smtp_server

WHEN = datetime(2026, 12, 2, 6, 30, tzinfo=UTC)


def sender(deadline=1.0, production=False, allowed=()):
    config = {"PLANTOPS_ENV": "production" if production else "testing", "NOTIFY_ALLOWED_HOSTS": list(allowed)}
    return Sender(channels.policy_for(config, deadline), outbound.Gate(2, 2), config)


def message(name="Basil"):
    return alert_event_message(
        "opened",
        plant_name=name,
        label="Soil moisture low",
        value="22 %",
        threshold="30 %",
        when=WHEN,
        timezone="UTC",
        plant_url="https://plants.example/plants/1",
        mute_url="https://plants.example/plants/mute/t",
    )


def test_a_silent_smtp_server_ends_at_the_deadline_and_is_retried(silent_server):
    target = parse("email", f"mailto://127.0.0.1:{silent_server.port}?to=me@example.org&from=p@example.org")
    started = time.monotonic()
    outcome = send(target, message(), sender(deadline=1.0))
    elapsed = time.monotonic() - started
    assert (outcome.sent, outcome.retry, outcome.error) == (False, True, "no answer within 1 s")
    assert 0.9 <= elapsed < 2.0


def test_a_dripping_http_server_ends_at_the_deadline():
    server = DripServer(mode="headers", interval=0.2)
    try:
        target = parse("ntfy", f"ntfy://127.0.0.1:{server.port}/garden")
        started = time.monotonic()
        outcome = send(target, message(), sender(deadline=1.0))
        assert time.monotonic() - started < 2.0
    finally:
        server.stop()
    assert (outcome.sent, outcome.retry, outcome.error) == (False, True, "no answer within 1 s")


def test_production_refuses_a_private_address_at_send_time_without_retry(recording_server):
    target = parse("gotify", f"gotify://{recording_server.url.removeprefix('http://')}/Tok")
    outcome = send(target, message(), sender(production=True))
    assert (outcome.sent, outcome.retry) == (False, False)
    assert outcome.error == "not sent: the address is local or private"
    assert recording_server.requests == []
    allowed = send(target, message(), sender(production=True, allowed=["127.0.0.1"]))
    assert allowed.sent


def test_production_refuses_a_private_smtp_server_at_send_time():
    with smtp_server() as inbox:
        target = parse("email", f"mailto://127.0.0.1:{inbox.port}?to=me@example.org&from=p@example.org")
        outcome = send(target, message(), sender(production=True))
        assert (outcome.sent, outcome.retry, outcome.error) == (
            False,
            False,
            "not sent: the address is local or private",
        )
        assert inbox.messages == []


def test_smtp_5xx_is_final_and_4xx_is_retried():
    with smtp_server() as inbox:

        async def refuse(server, session, envelope):
            return inbox.reply

        inbox.handle_DATA = refuse
        target = parse("email", f"mailto://127.0.0.1:{inbox.port}?to=me@example.org&from=p@example.org")
        inbox.reply = "554 5.7.1 rejected as spam"
        assert send(target, message(), sender()).retry is False
        inbox.reply = "451 4.3.0 try again later"
        outcome = send(target, message(), sender())
        assert (outcome.retry, outcome.error) == (True, "SMTP 451")


def test_a_plant_name_cannot_become_markup_in_any_format(recording_server):
    hostile = "[x](https://evil.example) <a href=x>@everyone</a> *bold*\n# heading"
    recording_server.default = Reply(200, {"ok": True})
    base = recording_server.url
    config = {"PLANTOPS_ENV": "testing", "TELEGRAM_API_URL": base, "SLACK_HOOKS_URL": base}
    out = Sender(channels.policy_for(config, 2.0), outbound.Gate(2, 2), config)
    send(parse("telegram", "tgram://1:A/5"), message(hostile), out)
    send(parse("slack", "slack://T0/B0/abcdefghijklmnop"), message(hostile), out)
    send(parse("matrix", f"matrix://tok@{base.removeprefix('http://')}/!r:x"), message(hostile), out, txn="9")
    telegram, slack, matrix = (r.json() for r in recording_server.requests)
    assert "&lt;a href=x&gt;" in telegram["text"]
    assert "<a href" not in telegram["text"].split("</b>")[0]
    assert "\n# heading" not in telegram["text"]
    assert "&lt;a href=x&gt;@everyone&lt;/a&gt;" in slack["text"]
    assert "<a href=x>" not in matrix["formatted_body"]
