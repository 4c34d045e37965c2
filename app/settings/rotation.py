"""Re-encrypt every stored secret under the newest key, so older keys can be retired."""

import logging
from dataclasses import dataclass

from sqlalchemy import or_, select

from ..crypto import DecryptionError, decrypt, encrypt, is_current
from ..extensions import db
from ..models import NotificationChannel, User
from .secrets import SECRET_FIELDS, channel_field

log = logging.getLogger(__name__)


@dataclass
class RotationReport:
    reencrypted: int = 0
    current: int = 0
    undecryptable: int = 0


def rotate_secrets(keys, batch_size=200):
    """Walk the users with secrets in id order, one transaction per batch (rows locked
    on PostgreSQL, so a concurrent save is not overwritten). Idempotent: a second run
    finds every readable value current. Unreadable values are left as they are."""
    report = RotationReport()
    has_secret = or_(*(getattr(User, field).is_not(None) for field in SECRET_FIELDS))
    last_id = 0
    while True:
        users = db.session.scalars(
            select(User).where(has_secret, User.id > last_id).order_by(User.id).limit(batch_size).with_for_update()
        ).all()
        if not users:
            return rotate_channel_secrets(keys, report, batch_size)
        for user in users:
            for field in SECRET_FIELDS:
                _rotate_one(user, field, keys, report)
        last_id = users[-1].id
        db.session.commit()


def rotate_channel_secrets(keys, report, batch_size=200):
    """The notification channels' URLs, the same way (bound to user and channel)."""
    last_id = 0
    while True:
        channels = db.session.scalars(
            select(NotificationChannel)
            .where(NotificationChannel.url.is_not(None), NotificationChannel.id > last_id)
            .order_by(NotificationChannel.id)
            .limit(batch_size)
            .with_for_update()
        ).all()
        if not channels:
            return report
        for channel in channels:
            _rotate_value(channel, "url", channel.user_id, channel_field(channel), keys, report)
        last_id = channels[-1].id
        db.session.commit()


def _rotate_one(user, field, keys, report):
    _rotate_value(user, field, user.id, field, keys, report)


def _rotate_value(row, column, user_id, field, keys, report):
    stored = getattr(row, column)
    if stored is None:
        return
    try:
        plain = decrypt(stored, user_id, field, keys)
    except DecryptionError as error:
        log.warning("user %s: %s cannot be decrypted (%s); they must re-enter it", user_id, field, error.reason)
        report.undecryptable += 1
        return
    if is_current(stored, keys):
        report.current += 1
    else:
        setattr(row, column, encrypt(plain, user_id, field, keys))
        report.reencrypted += 1
