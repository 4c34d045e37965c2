"""The outbox: Notification rows, written in the same transaction as the alert they tell about
(app.alerts.messages), and claimed, leased and settled here.

The delivery worker claims due rows, sends them outside any transaction, and
records the outcome. A claim is a lease (next_attempt_at moves into the
future), so a process that dies mid-send leaves the row to be sent again.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Self

from sqlalchemy import ColumnElement, select, update

from ..domain.types import DbSession
from ..models import Alert, Notification, NotificationChannel
from .channels import KINDS
from .delivery import Outcome
from .retry import backoff_delay

MAX_RETRY_AFTER_SECONDS = 3600


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_seconds: float = 2.0
    backoff_cap_seconds: float = 300.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        return cls(
            config.get("NOTIFY_MAX_ATTEMPTS", cls.max_attempts),
            config.get("NOTIFY_BACKOFF_SECONDS", cls.backoff_seconds),
            config.get("NOTIFY_BACKOFF_CAP_SECONDS", cls.backoff_cap_seconds),
        )


def due_filter(now: datetime) -> ColumnElement[bool]:
    return (Notification.status == "pending") & (Notification.next_attempt_at <= now)


def has_due(session: DbSession, now: datetime) -> bool:
    return session.scalar(select(Notification.id).where(due_filter(now)).limit(1)) is not None


def claim_due(session: DbSession, now: datetime, limit: int, lease_seconds: float) -> Sequence[int]:
    """Lease up to `limit` due rows to this process; other processes skip them (SKIP LOCKED on
    PostgreSQL; SQLite's BEGIN IMMEDIATE serialises claims). The caller commits."""
    ids = session.scalars(
        select(Notification.id)
        .where(due_filter(now))
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if ids:
        session.execute(
            update(Notification)
            .where(Notification.id.in_(ids))
            .values(next_attempt_at=now + timedelta(seconds=lease_seconds))
        )
    return ids


def release(session: DbSession, ids: Sequence[int], now: datetime) -> None:
    """Hand leased rows back (on shutdown) so the next process sends them at once."""
    if ids:
        session.execute(
            update(Notification)
            .where(Notification.id.in_(ids), Notification.status == "pending")
            .values(next_attempt_at=now)
        )


def record_outcome(
    session: DbSession, notification: Notification, outcome: Outcome, now: datetime, policy: RetryPolicy
) -> None:
    """Sent, scheduled again (backoff with jitter, or the server's retry_after), or failed and
    shown on the alert and on the channel."""
    notification.attempts += 1
    notification.last_error = outcome.error
    alert = session.get(Alert, notification.alert_id) if notification.alert_id else None
    channel = session.get(NotificationChannel, notification.channel_id) if notification.channel_id else None
    name = "Discord" if channel is None else KINDS.get(channel.kind, channel.kind)
    if outcome.sent:
        notification.status = "sent"
        notification.sent_at = now
        if alert is not None:
            alert.notify_error = None
        if channel is not None:
            channel.last_error, channel.last_error_at, channel.last_sent_at = None, None, now
        return
    if channel is not None:
        channel.last_error = f"{notification.event}: {outcome.error}"[:500]
        channel.last_error_at = now
    if outcome.retry and notification.attempts < policy.max_attempts:
        if outcome.retry_after is not None:
            delay = min(outcome.retry_after, MAX_RETRY_AFTER_SECONDS)
        else:
            delay = backoff_delay(notification.attempts, policy.backoff_seconds, policy.backoff_cap_seconds)
        notification.next_attempt_at = now + timedelta(seconds=delay)
        return
    notification.status = "failed"
    if alert is not None:
        tries = "attempt" if notification.attempts == 1 else "attempts"
        alert.notify_error = (
            f"{name} message ({notification.event}) failed after {notification.attempts} {tries}: {outcome.error}"
        )[:500]
