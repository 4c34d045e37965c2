"""Notification channels: what a channel URL means (parsed and checked by Apprise), and one
message rendered and sent for each kind through app.outbound (SMTP through app.notify.smtp).

Apprise reads the URLs people already have (`ntfys://host/topic`, `tgram://bot/chat`,
`gotify://host/token`, `mailtos://user:pw@host?to=`, `matrixs://token@host/!room`,
`slack://A/B/C`, `json://host/path`); its own senders are never called, because they make
their own `requests` calls without a total deadline, a size cap or the SSRF guard that
dials the vetted address (docs/architecture.md, "Notification channels").

No Flask here: the caller passes the configuration mapping. Error texts never contain a
channel's URL or token (they are secrets).
"""

import base64
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import apprise
from flask_babel import gettext

from .. import outbound
from ..filters import in_sentence
from . import escaping, smtp
from .delivery import MAX_ANSWER_BYTES, TIMEOUT_SECONDS, Outcome, classify, post
from .discord import alert_message, local_time

log = logging.getLogger(__name__)

KINDS = {
    "discord": "Discord",
    "ntfy": "ntfy",
    "telegram": "Telegram",
    "gotify": "Gotify",
    "email": "Email (SMTP)",
    "matrix": "Matrix",
    "slack": "Slack",
    "webhook": "JSON webhook",
}
EXAMPLES = {
    "discord": "https://discord.com/api/webhooks/<id>/<token>",
    "ntfy": "ntfys://ntfy.sh/<topic> or ntfy://user:password@host:port/<topic>",
    "telegram": "tgram://<bot token>/<chat id>",
    "gotify": "gotifys://host/<app token>",
    "email": "mailtos://user:password@smtp.example.org?to=you@example.org",
    "matrix": "matrixs://<access token>@matrix.example.org/!room:example.org",
    "slack": "https://hooks.slack.com/services/T…/B…/… or slack://T…/B…/…",
    "webhook": "jsons://hooks.example.org/path (json:// for plain http)",
}
SCHEMES = {
    "ntfy": {"ntfy": False, "ntfys": True},
    "telegram": {"tgram": True},
    "gotify": {"gotify": False, "gotifys": True},
    "email": {"mailto": False, "mailtos": True},
    "matrix": {"matrix": False, "matrixs": True},
    "slack": {"slack": True, "https": True},
    "webhook": {"json": False, "jsons": True},
}
EVENTS = {
    "alert_opened": "Alert opened",
    "alert_resolved": "Alert resolved",
    "sensor_silent": "Sensor silent",
    "battery_low": "Battery low",
    "task_due": "Task due",
    "daily_digest": "Daily digest",
}
DEFAULT_EVENTS = ("alert_opened", "alert_resolved", "sensor_silent", "battery_low")
TELEGRAM_API_URL = "https://api.telegram.org"
SLACK_HOOKS_URL = "https://hooks.slack.com"
NTFY_CLOUD_URL = "https://ntfy.sh"
URL_MAX = 1000


class InvalidChannel(ValueError):
    """The message is for the user; it never repeats the URL."""


@dataclass(frozen=True)
class Target:
    """A parsed channel URL: where to send and with which credentials."""

    kind: str
    base: str = ""  # scheme://host[:port][path] of the server, for the HTTP kinds
    host: str = ""
    port: int = 0
    secure: bool = True
    path: str = ""  # ntfy topic, Telegram chat, Gotify/Matrix/Slack/webhook token or room
    user: str | None = None
    password: str | None = None
    token: str | None = None
    recipients: tuple[str, ...] = ()
    sender: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    url: str = ""  # Discord: the webhook URL itself


def hint(url: str) -> str:
    """What a page may show of a channel URL: its last four characters."""
    return url[-4:]


def parse(kind: str, url: str) -> Target:
    """The Target of `url` for `kind`, or InvalidChannel with a sentence for the user."""
    url = (url or "").strip()
    if kind not in KINDS:
        raise InvalidChannel(f"Choose one of: {', '.join(KINDS)}.")
    if not url:
        raise InvalidChannel(f"Paste the channel's URL, like {EXAMPLES[kind]}.")
    if len(url) > URL_MAX or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise InvalidChannel("A channel URL is at most 1,000 characters, without spaces or control characters.")
    if kind == "discord":  # app.notify.manage checks the webhook's form when it is saved
        if not url.lower().startswith(("https://", "http://")):
            raise InvalidChannel(f"That is not a Discord webhook URL: it looks like {EXAMPLES['discord']}.")
        return Target("discord", url=url)
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in SCHEMES[kind]:
        raise InvalidChannel(f"That is not a {KINDS[kind]} URL: it looks like {EXAMPLES[kind]}.")
    if kind == "slack" and scheme == "https" and not url.lower().startswith("https://hooks.slack.com/services/"):
        raise InvalidChannel(f"That is not a Slack webhook URL: it looks like {EXAMPLES['slack']}.")
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        raise InvalidChannel(f"Apprise cannot read that {KINDS[kind]} URL: it looks like {EXAMPLES[kind]}.")
    return _TARGETS[kind](plugin, SCHEMES[kind][scheme])


def _server(plugin: Any, secure: bool, path: str = "") -> tuple[str, str, int]:
    host = plugin.host or ""
    port = int(plugin.port or (443 if secure else 80))
    shown = f"[{host}]" if ":" in host else host
    default = port == (443 if secure else 80)
    return f"{'https' if secure else 'http'}://{shown}{'' if default else f':{port}'}{path}", host, port


def _ntfy(plugin: Any, secure: bool) -> Target:
    if len(plugin.topics) != 1:
        raise InvalidChannel("Give exactly one ntfy topic (one channel per topic).")
    if plugin.mode == "cloud":
        base, host, port = NTFY_CLOUD_URL, "ntfy.sh", 443
    else:
        base, host, port = _server(plugin, secure)
    return Target(
        "ntfy",
        base=base,
        host=host,
        port=port,
        secure=base.startswith("https"),
        path=plugin.topics[0],
        user=plugin.user if plugin.password else None,
        password=plugin.password,
        token=plugin.token or (plugin.user if plugin.user and not plugin.password else None),
    )


def _telegram(plugin: Any, secure: bool) -> Target:
    if len(plugin.targets) != 1:
        raise InvalidChannel("Give exactly one Telegram chat id (tgram://<bot token>/<chat id>).")
    return Target("telegram", token=plugin.bot_token, path=str(plugin.targets[0][0]))


def _gotify(plugin: Any, secure: bool) -> Target:
    base, host, port = _server(plugin, secure, (plugin.fullpath or "/").rstrip("/"))
    return Target("gotify", base=base, host=host, port=port, secure=secure, token=plugin.token)


def _email(plugin: Any, secure: bool) -> Target:
    recipients = tuple(address for _, address in plugin.targets)
    if not recipients:
        raise InvalidChannel("Say who gets the email: add ?to=you@example.org.")
    sender = plugin.from_addr[1] if plugin.from_addr else None
    mode = "ssl" if plugin.secure_mode == "ssl" else ("starttls" if secure else "plain")
    return Target(
        "email",
        host=plugin.smtp_host or plugin.host,
        port=int(plugin.port or (465 if mode == "ssl" else 587 if secure else 25)),
        secure=secure,
        path=mode,
        user=plugin.user,
        password=plugin.password,
        recipients=recipients,
        sender=sender or f"plantops@{plugin.host}",
    )


def _matrix(plugin: Any, secure: bool) -> Target:
    if plugin.user or not plugin.password:
        raise InvalidChannel("Give a Matrix access token, not a user name: matrixs://<token>@host/!room:host.")
    if len(plugin.rooms) != 1:
        raise InvalidChannel("Give exactly one Matrix room (!id:server or #alias:server).")
    base, host, port = _server(plugin, secure)
    return Target("matrix", base=base, host=host, port=port, secure=secure, token=plugin.password, path=plugin.rooms[0])


def _slack(plugin: Any, secure: bool) -> Target:
    if plugin.mode != "hook" or not (plugin.token_a and plugin.token_b and plugin.token_c):
        raise InvalidChannel("Give a Slack incoming-webhook URL: https://hooks.slack.com/services/T…/B…/….")
    return Target("slack", path=f"{plugin.token_a}/{plugin.token_b}/{plugin.token_c}")


def _webhook(plugin: Any, secure: bool) -> Target:
    base, host, port = _server(plugin, secure, plugin.fullpath or "/")
    return Target(
        "webhook",
        base=base,
        host=host,
        port=port,
        secure=secure,
        user=plugin.user,
        password=plugin.password,
        headers=dict(plugin.headers),
        query=dict(plugin.params),
    )


_TARGETS: dict[str, Callable[[Any, bool], Target]] = {
    "ntfy": _ntfy,
    "telegram": _telegram,
    "gotify": _gotify,
    "email": _email,
    "matrix": _matrix,
    "slack": _slack,
    "webhook": _webhook,
}


def server_host(target: Target, config: Mapping[str, Any]) -> tuple[str, bool] | None:
    """The host a channel's messages go to and whether the link is encrypted (None for Discord)."""
    if target.kind == "telegram":
        return _host_of(config.get("TELEGRAM_API_URL", TELEGRAM_API_URL)), True
    if target.kind == "slack":
        return _host_of(config.get("SLACK_HOOKS_URL", SLACK_HOOKS_URL)), True
    if target.kind == "discord":
        return None
    return target.host, target.secure


def _host_of(url: str) -> str:
    return urlsplit(url).hostname or ""


# Messages ---------------------------------------------------------------------------------
#
# A message is stored in the outbox as plain data (the plant's name is user text, kept apart
# from PlantOps' own words) and rendered for its channel's format when it is sent:
# {"event", "title", "lines": [[own text, user text, own text], ...], "url", "mute_url",
#  "discord": the Discord body for alert events}


def text_of(parts: list, escape: Callable[[str], str], own: Callable[[str], str] = lambda s: s) -> str:
    """A line of [own, user, own, user, ...] pieces: user text escaped for the format."""
    return "".join(escape(piece) if index % 2 else own(piece) for index, piece in enumerate(parts))


def alert_event_message(
    event: str,
    *,
    plant_name: str,
    label: str,
    value: str | None,
    threshold: str | None,
    when: datetime,
    timezone: str,
    plant_url: str,
    mute_url: str | None,
    reminder_hours: int | None = None,
) -> dict:
    shown_value, shown_threshold = value or "-", threshold or "-"
    problem = in_sentence(label)
    facts = gettext(
        "%(problem)s (%(value)s, threshold %(threshold)s)",
        problem=problem,
        value=shown_value,
        threshold=shown_threshold,
    )
    still_open = "⏰ " + gettext("Still open:") + " "
    if event == "resolved":
        back = f" ({shown_value})" if value is not None else ""
        title = ["✅ ", plant_name, ": " + gettext("%(problem)s is over", problem=problem) + back]
    elif reminder_hours is not None:
        title = [still_open, plant_name, f": {facts}"]
    else:
        title = ["🚨 ", plant_name, f": {facts}"]
    when_text = local_time(when, timezone)
    lines = [
        [
            gettext("%(problem)s since %(time)s", problem=label, time=when_text)
            if event != "resolved"
            else gettext("At %(time)s", time=when_text)
        ]
    ]
    if reminder_hours is not None:
        lines.append([gettext("Not acknowledged for %(hours)s h.", hours=reminder_hours)])
    discord = alert_message(
        "resolved" if event == "resolved" else "opened",
        plant_name=plant_name,
        label=label,
        value=value,
        threshold=threshold,
        when=when,
        timezone=timezone,
        plant_url=plant_url,
    )
    if reminder_hours is not None:
        discord["content"] = still_open + discord["content"].removeprefix("🚨 ")
    return {
        "event": event,
        "title": title,
        "lines": lines,
        "url": plant_url,
        "mute_url": mute_url,
        "discord": discord,
        "links": link_words(),
    }


def link_words() -> dict[str, str]:
    """The words of a message's links, in the recipient's language when the message is made
    (it is sent later, by a worker that knows no language)."""
    return {
        "open": gettext("Open the plant"),
        "mute": gettext("Mute for a day"),
        "mute_long": gettext("Mute this plant for a day"),
    }


def words_of(message: Mapping[str, Any], key: str) -> str:
    return (message.get("links") or {}).get(key) or LINK_WORDS[key]


LINK_WORDS = {"open": "Open the plant", "mute": "Mute for a day", "mute_long": "Mute this plant for a day"}


def plain_message(event: str, title: list, lines: list[list], url: str | None = None) -> dict:
    return {"event": event, "title": title, "lines": lines, "url": url, "mute_url": None, "links": link_words()}


def test_message() -> dict:
    return plain_message(
        "test", [gettext("PlantOps test message")], [[gettext("If you can read this, this channel works.")]]
    )


# Sending ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sender:
    """How messages leave this process: the policy (deadline, addresses) and the gate slot."""

    policy: outbound.Policy
    gate: outbound.Gate
    config: Mapping[str, Any]
    key: object = None


def policy_for(config: Mapping[str, Any], timeout: float | None = None) -> outbound.Policy:
    """Any address outside production; in production public ones and NOTIFY_ALLOWED_HOSTS."""
    return outbound.Policy(
        deadline_seconds=timeout or config.get("NOTIFY_TIMEOUT_SECONDS", TIMEOUT_SECONDS),
        max_body_bytes=MAX_ANSWER_BYTES,
        allow_private=config.get("PLANTOPS_ENV") != "production",
        allowed_hosts=frozenset(host.lower() for host in config.get("NOTIFY_ALLOWED_HOSTS", ())),
    )


def send(target: Target, message: dict, sender: Sender, txn: str = "0") -> Outcome:
    """Deliver `message` to `target`: one Outcome (sent, retry, or a final error)."""
    if target.kind == "email":
        try:
            with sender.gate.slot(sender.key):
                return smtp.send_mail(target, *_email_parts(message), sender.policy)
        except outbound.Busy as error:
            return _outbound_failure(error, sender.policy)
    if target.kind == "discord":
        return post(target.url, _discord_body(message), sender.policy, sender.gate)
    if target.kind == "matrix":
        return _matrix_send(target, message, sender, txn)
    method, url, headers, body = _REQUESTS[target.kind](target, message, sender.config)
    return _http(method, url, headers, body, sender)


def _http(method: str, url: str, headers: dict[str, str], body: dict | None, sender: Sender) -> Outcome:
    headers = {"User-Agent": "PlantOps", **headers}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    try:
        response = outbound.send(
            method, url, policy=sender.policy, gate=sender.gate, key=sender.key, headers=headers, body=data
        )
    except outbound.OutboundError as error:
        return _outbound_failure(error, sender.policy)
    return classify(response.status, response.headers, _json(response))


def _outbound_failure(error: outbound.OutboundError, policy: outbound.Policy) -> Outcome:
    if error.kind == "timeout":
        return Outcome(False, retry=True, error=f"no answer within {policy.deadline_seconds:g} s")
    problem = "network error" if error.kind == "unreachable" else "not sent"
    return Outcome(
        False, retry=error.kind not in {"blocked", "bad_url", "too_large"}, error=f"{problem}: {error.message}"
    )


def _json(response: outbound.Response) -> object:
    try:
        return json.loads(response.body) if response.body else None
    except ValueError:
        return None


def _plain(message: dict) -> tuple[str, str]:
    title = text_of(message["title"], escaping.plain_text)
    body = "\n".join(text_of(line, escaping.plain_text) for line in message["lines"])
    return title, body


def _discord_body(message: dict) -> dict:
    if "discord" in message:
        return message["discord"]
    lines = [text_of(message["title"], escaping.discord_markdown)]
    lines += [text_of(line, escaping.discord_markdown) for line in message["lines"]]
    return {"content": "\n".join(lines)[:2000], "allowed_mentions": {"parse": []}}


def _basic(user: str | None, password: str | None) -> dict[str, str]:
    if user is None and password is None:
        return {}
    raw = f"{user or ''}:{password or ''}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def _ntfy_request(target: Target, message: dict, config: Mapping[str, Any]) -> tuple:
    title, body = _plain(message)
    payload: dict[str, Any] = {
        "topic": target.path,
        "title": title,
        "message": body or title,
        "priority": 4 if message["event"] in ("opened", "reminder") else 3,
        "tags": [
            {"opened": "warning", "resolved": "white_check_mark", "digest": "seedling"}.get(message["event"], "bell")
        ],
    }
    if message.get("url"):
        payload["click"] = message["url"]
    if message.get("mute_url"):
        payload["actions"] = [
            {"action": "view", "label": words_of(message, "mute"), "url": message["mute_url"], "clear": True}
        ]
    headers = {"Authorization": f"Bearer {target.token}"} if target.token else _basic(target.user, target.password)
    return "POST", target.base + "/", headers, payload


def _telegram_request(target: Target, message: dict, config: Mapping[str, Any]) -> tuple:
    html = escaping.html_text
    lines = [f"<b>{text_of(message['title'], html, html)}</b>"]
    lines += [text_of(line, html, html) for line in message["lines"]]
    payload: dict[str, Any] = {
        "chat_id": target.path,
        "text": "\n".join(lines),
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }
    buttons = []
    if message.get("url"):
        buttons.append({"text": words_of(message, "open"), "url": message["url"]})
    if message.get("mute_url"):
        buttons.append({"text": words_of(message, "mute"), "url": message["mute_url"]})
    if buttons:
        payload["reply_markup"] = {"inline_keyboard": [buttons]}
    base = config.get("TELEGRAM_API_URL", TELEGRAM_API_URL).rstrip("/")
    return "POST", f"{base}/bot{target.token}/sendMessage", {}, payload


def _gotify_request(target: Target, message: dict, config: Mapping[str, Any]) -> tuple:
    title, body = _plain(message)
    if message.get("mute_url"):
        body += f"\n{words_of(message, 'mute')}: {message['mute_url']}"
    payload: dict[str, Any] = {
        "title": title,
        "message": body or title,
        "priority": 8 if message["event"] == "opened" else 5,
    }
    if message.get("url"):
        payload["extras"] = {"client::notification": {"click": {"url": message["url"]}}}
    return "POST", target.base + "/message", {"X-Gotify-Key": target.token or ""}, payload


def _slack_request(target: Target, message: dict, config: Mapping[str, Any]) -> tuple:
    mrkdwn = escaping.slack_mrkdwn
    lines = [f"*{text_of(message['title'], mrkdwn, mrkdwn)}*"]
    lines += [text_of(line, mrkdwn, mrkdwn) for line in message["lines"]]
    if message.get("url"):
        lines.append(f"<{message['url']}|{words_of(message, 'open')}>")
    if message.get("mute_url"):
        lines.append(f"<{message['mute_url']}|{words_of(message, 'mute')}>")
    base = config.get("SLACK_HOOKS_URL", SLACK_HOOKS_URL).rstrip("/")
    return "POST", f"{base}/services/{target.path}", {}, {"text": "\n".join(lines)}


def _webhook_request(target: Target, message: dict, config: Mapping[str, Any]) -> tuple:
    title, body = _plain(message)
    payload = {
        "version": "1.0",
        "title": title,
        "message": body,
        "type": {"opened": "warning", "reminder": "warning", "resolved": "success"}.get(message["event"], "info"),
        "event": message["event"],
        "url": message.get("url"),
        "mute_url": message.get("mute_url"),
    }
    url = target.base + (f"?{urlencode(target.query)}" if target.query else "")
    return "POST", url, {**_basic(target.user, target.password), **target.headers}, payload


_REQUESTS: dict[str, Callable[[Target, dict, Mapping[str, Any]], tuple]] = {
    "ntfy": _ntfy_request,
    "telegram": _telegram_request,
    "gotify": _gotify_request,
    "slack": _slack_request,
    "webhook": _webhook_request,
}


def _matrix_send(target: Target, message: dict, sender: Sender, txn: str) -> Outcome:
    """PUT the message into the room (an alias is looked up first); the transaction id makes
    a retried send land once."""
    auth = {"Authorization": f"Bearer {target.token}"}
    room = target.path
    if room.startswith("#"):
        try:
            response = outbound.send(
                "GET",
                f"{target.base}/_matrix/client/v3/directory/room/{quote(room, safe='')}",
                policy=sender.policy,
                gate=sender.gate,
                key=sender.key,
                headers=auth,
            )
        except outbound.OutboundError as error:
            return _outbound_failure(error, sender.policy)
        body = _json(response)
        if response.status != 200 or not isinstance(body, dict) or not isinstance(body.get("room_id"), str):
            outcome = classify(response.status, response.headers, body)
            return outcome if not outcome.sent else Outcome(False, error="the room alias did not resolve")
        room = body["room_id"]
    html = escaping.html_text
    title, plain = _plain(message)
    formatted = [f"<b>{text_of(message['title'], html, html)}</b>"] + [
        text_of(line, html, html) for line in message["lines"]
    ]
    if message.get("url"):
        formatted.append(f'<a href="{html(message["url"])}">{html(words_of(message, "open"))}</a>')
    if message.get("mute_url"):
        formatted.append(f'<a href="{html(message["mute_url"])}">{html(words_of(message, "mute"))}</a>')
    payload = {
        "msgtype": "m.notice",
        "body": "\n".join(filter(None, [title, plain, message.get("url")])),
        "format": "org.matrix.custom.html",
        "formatted_body": "<br>".join(formatted),
    }
    room_path = f"/_matrix/client/v3/rooms/{quote(room, safe='')}"
    url = f"{target.base}{room_path}/send/m.room.message/plantops-{quote(txn, safe='')}"
    return _http("PUT", url, auth, payload, sender)


def _email_parts(message: dict) -> tuple[str, str]:
    title, body = _plain(message)
    extra = []
    if message.get("url"):
        extra.append(f"{words_of(message, 'open')}: {message['url']}")
    if message.get("mute_url"):
        extra.append(f"{words_of(message, 'mute_long')}: {message['mute_url']}")
    return title, "\n\n".join(filter(None, [body, "\n".join(extra)])) + "\n"
