"""Notification channels over JSON: the same service as the settings page (app.notify.manage)."""

from flask import current_app
from flask_login import current_user

from ...errors import ValidationError
from ...extensions import db
from ...models import NotificationChannel
from ...notify.dispatch import channels_of
from ...settings.notification_channels import ChannelError, create_channel, describe
from ...settings.notification_channels import ChannelInput as Fields
from . import bp
from .document import operation
from .schemas import Channel, ChannelInput, ChannelList
from .validation import json_body, own_or_404

TAG = "notification channels"


def channel_json(channel: NotificationChannel) -> dict:
    return Channel.model_validate(describe(channel)).model_dump(mode="json")


@bp.get("/notification-channels")
@operation("listNotificationChannels", TAG, (200, ChannelList, "Your channels (never their URLs)."))
def list_channels() -> dict:
    """Your notification channels"""
    return {"items": [channel_json(c) for c in channels_of(db.session, current_user.id)]}


@bp.post("/notification-channels")
@operation("createNotificationChannel", TAG, (201, Channel, "Created."), body=ChannelInput)
def create() -> tuple[dict, int]:
    """Add a notification channel"""
    body = json_body(ChannelInput)
    quiet = body.quiet_hours
    fields = Fields(
        kind=body.kind,
        url=body.url,
        events=list(body.events),
        quiet_start=quiet.start if quiet else None,
        quiet_end=quiet.end if quiet else None,
        quiet_mode=quiet.mode if quiet else "hold",
        digest_hour=body.digest_hour,
        remind_after_hours=body.remind_after_hours,
    )
    try:
        channel = create_channel(db.session, current_user.id, fields, current_app.config)
    except ChannelError as error:
        db.session.rollback()
        name = {"quiet_start": "quiet_hours.start", "quiet_end": "quiet_hours.end", "quiet_mode": "quiet_hours.mode"}
        raise ValidationError([{"field": name.get(error.field, error.field), "message": error.message}]) from None
    db.session.commit()
    return channel_json(channel), 201


@bp.delete("/notification-channels/<int:channel_id>")
@operation("deleteNotificationChannel", TAG, (204, None, "Deleted."), by_id=True)
def delete(channel_id: int) -> tuple[str, int]:
    """Remove a notification channel (its queued messages go with it)"""
    db.session.delete(own_or_404(NotificationChannel, channel_id))
    db.session.commit()
    return "", 204
