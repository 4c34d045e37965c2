"""Creating, listing and removing a user's notification channels: one service behind the
settings page and the JSON API. Works in the caller's session and never commits."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from ..domain.types import DbSession
from ..models import NotificationChannel
from ..notify import channels
from ..notify.channels import EVENTS, InvalidChannel
from .secrets import channel_state, store_channel_url
from .validation import InvalidURL, _is_local, check_discord_webhook_url

MAX_CHANNELS = 20
QUIET_MODES = ("hold", "digest")
REMIND_HOURS = (1, 168)
TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class ChannelError(ValueError):
    """`field` is the input the message is about (kind, url, events, quiet_hours, ...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass
class ChannelInput:
    kind: str
    url: str
    events: Sequence[str] = channels.DEFAULT_EVENTS
    quiet_start: str | None = None  # "22:00"
    quiet_end: str | None = None
    quiet_mode: str = "hold"
    digest_hour: int = 8
    remind_after_hours: int | None = None
    extra: dict = field(default_factory=dict)


def minutes(text: str | None, name: str) -> int | None:
    if text is None or text == "":
        return None
    match = TIME.match(text)
    if not match:
        raise ChannelError(name, "Give a time as HH:MM (24-hour clock), e.g. 22:00.")
    return int(match.group(1)) * 60 + int(match.group(2))


def as_time(value: int | None) -> str | None:
    return None if value is None else f"{value // 60:02d}:{value % 60:02d}"


def check_target(kind: str, url: str, config: Mapping[str, Any]) -> channels.Target:
    """Parse `url` and, in production, refuse plain-text links and local or private servers
    unless the operator listed the host in NOTIFY_ALLOWED_HOSTS. This tells the user at
    once; the guard that holds is app.outbound's, at every request."""
    try:
        target = channels.parse(kind, url)
    except InvalidChannel as error:
        raise ChannelError("url", str(error)) from None
    production = config.get("PLANTOPS_ENV") == "production"
    if kind == "discord":
        try:
            check_discord_webhook_url(url.strip(), production)
        except InvalidURL as error:
            raise ChannelError("url", str(error)) from None
        return target
    server = channels.server_host(target, config)
    if production and server is not None:
        host, secure = server
        allowed = {h.lower() for h in config.get("NOTIFY_ALLOWED_HOSTS", ())}
        if host.lower() not in allowed:
            if not secure:
                raise ChannelError(
                    "url", "Use the encrypted form (ntfys://, gotifys://, mailtos://, matrixs://, jsons://)."
                )
            if _is_local(host, target.port or 443):
                raise ChannelError(
                    "url", "Servers on a local or private network are only allowed when the operator lists them."
                )
    return target


def check_events(events: Sequence[str]) -> list[str]:
    unknown = [e for e in events if e not in EVENTS]
    if unknown or not isinstance(events, list | tuple):
        raise ChannelError("events", f"Events are some of: {', '.join(EVENTS)}.")
    return [e for e in EVENTS if e in events]  # the registry's order, each once


def create_channel(
    session: DbSession, user_id: int, data: ChannelInput, config: Mapping[str, Any]
) -> NotificationChannel:
    """A new channel, its URL encrypted; ChannelError for what the user must change."""
    if data.kind not in channels.KINDS:
        raise ChannelError("kind", f"Choose one of: {', '.join(channels.KINDS)}.")
    check_target(data.kind, data.url, config)
    events = check_events(data.events)
    start, end = minutes(data.quiet_start, "quiet_start"), minutes(data.quiet_end, "quiet_end")
    if (start is None) != (end is None):
        raise ChannelError(
            "quiet_end" if end is None else "quiet_start", "Give both ends of the quiet hours, or neither."
        )
    if data.quiet_mode not in QUIET_MODES:
        raise ChannelError("quiet_mode", "Quiet hours either hold messages or fold them into the digest.")
    if not 0 <= data.digest_hour <= 23:
        raise ChannelError("digest_hour", "The digest hour is 0 to 23.")
    if data.remind_after_hours is not None and not REMIND_HOURS[0] <= data.remind_after_hours <= REMIND_HOURS[1]:
        raise ChannelError("remind_after_hours", "Remind after 1 to 168 hours, or never.")
    count = session.scalar(select(func.count(NotificationChannel.id)).where(NotificationChannel.user_id == user_id))
    if (count or 0) >= MAX_CHANNELS:
        raise ChannelError("kind", f"You have {MAX_CHANNELS} channels already; remove one first.")
    channel = NotificationChannel(
        user_id=user_id,
        kind=data.kind,
        events=events,
        quiet_start=start,
        quiet_end=end,
        quiet_mode=data.quiet_mode,
        digest_hour=data.digest_hour,
        remind_after_hours=data.remind_after_hours,
    )
    session.add(channel)
    session.flush()  # the id the ciphertext is bound to
    store_channel_url(channel, data.url.strip())
    return channel


def describe(channel: NotificationChannel) -> dict[str, Any]:
    """What may be shown of a channel: never its URL, only the URL's last four characters."""
    state = channel_state(channel)
    return {
        "id": channel.id,
        "kind": channel.kind,
        "kind_name": channels.KINDS.get(channel.kind, channel.kind),
        "url_hint": state.last4 if state.is_set else None,
        "url_unreadable": state.unreadable,
        "events": list(channel.events or []),
        "quiet_hours": None
        if channel.quiet_start is None or channel.quiet_end is None
        else {"start": as_time(channel.quiet_start), "end": as_time(channel.quiet_end), "mode": channel.quiet_mode},
        "digest_hour": channel.digest_hour,
        "remind_after_hours": channel.remind_after_hours,
        "last_error": channel.last_error,
        "last_error_at": channel.last_error_at,
        "last_sent_at": channel.last_sent_at,
        "created_at": channel.created_at,
    }
