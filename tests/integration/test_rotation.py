import base64

import pytest
from sqlalchemy import text

from app.config import new_encryption_key
from app.crypto import DecryptionError, decrypt, encrypt, key_id
from app.extensions import db
from app.models import NotificationChannel, User
from app.settings.notification_channels import ChannelInput, create_channel
from app.settings.secrets import read_channel_url
from tests.conftest import make_user

OLD, NEW = new_encryption_key(), new_encryption_key()


def raw(key):
    return base64.urlsafe_b64decode(key)


def seed(app, count=5):
    """`count` users with both secrets under the app's newest key; returns their plaintexts."""
    plaintexts = {}
    with app.app_context():
        for n in range(count):
            user = User(email=f"u{n}@example.com", password_hash="x")
            db.session.add(user)
            db.session.flush()
            for field in ("discord_webhook_url", "llm_api_key"):
                value = f"{field}-secret-{n}"
                setattr(user, field, encrypt(value, user.id, field))
                plaintexts[(user.id, field)] = value
        db.session.commit()
    return plaintexts


def stored_values(app):
    with app.app_context():
        rows = db.session.execute(text("SELECT id, discord_webhook_url, llm_api_key FROM users")).all()
    return {(row[0], field): value for row in rows for field, value in zip(("discord_webhook_url", "llm_api_key"),
                                                                           row[1:], strict=True) if value}  # fmt: skip


def rotate(app, *args):
    result = app.test_cli_runner().invoke(args=["rotate-key", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_rotation_with_two_keys_then_only_the_new_one(make_app):
    plaintexts = seed(make_app(ENCRYPTION_KEY=OLD), count=5)
    make_user(make_app(ENCRYPTION_KEY=OLD), email="nosecrets@example.com")

    both = make_app(ENCRYPTION_KEY=f"{NEW},{OLD}")
    assert "re-encrypted 10, already current 0, undecryptable 0" in rotate(both, "--batch-size", "2")
    for (user_id, field), stored in stored_values(both).items():
        assert stored.split(".")[1] == key_id(raw(NEW))
        assert plaintexts[(user_id, field)] not in stored

    only_new = make_app(ENCRYPTION_KEY=NEW)
    assert "re-encrypted 0, already current 10, undecryptable 0" in rotate(only_new)
    with only_new.app_context():
        for (user_id, field), stored in stored_values(only_new).items():
            assert decrypt(stored, user_id, field) == plaintexts[(user_id, field)]


def test_rotation_is_idempotent(make_app):
    seed(make_app(ENCRYPTION_KEY=OLD), count=2)
    app = make_app(ENCRYPTION_KEY=f"{NEW},{OLD}")
    rotate(app)
    before = stored_values(app)
    assert "re-encrypted 0, already current 4, undecryptable 0" in rotate(app)
    assert stored_values(app) == before


def test_values_no_key_fits_are_counted_and_left_alone(make_app):
    seed(make_app(ENCRYPTION_KEY=OLD), count=1)
    app = make_app(ENCRYPTION_KEY=NEW)
    before = stored_values(app)
    result = app.test_cli_runner().invoke(args=["rotate-key"])
    assert "re-encrypted 0, already current 0, undecryptable 2" in result.output
    assert "must re-enter them" in result.output
    assert stored_values(app) == before


def test_moved_value_counts_as_undecryptable(make_app):
    app = make_app(ENCRYPTION_KEY=f"{NEW},{OLD}")
    seed(make_app(ENCRYPTION_KEY=OLD), count=2)
    with app.app_context():
        first, second = db.session.scalars(db.select(User).order_by(User.id)).all()
        second.llm_api_key = first.llm_api_key
        db.session.commit()
    assert "re-encrypted 3, already current 0, undecryptable 1" in rotate(app)


def test_channel_urls_rotate_too_and_still_send(make_app):
    old = make_app(ENCRYPTION_KEY=OLD)
    uid = make_user(old, email="channels@example.com")
    with old.app_context():
        channel = create_channel(db.session, uid, ChannelInput(kind="ntfy", url="ntfys://ntfy.sh/rot-k3y"), old.config)
        db.session.commit()
        channel_id = channel.id

    both = make_app(ENCRYPTION_KEY=f"{NEW},{OLD}")
    assert "re-encrypted 1, already current 0, undecryptable 0" in rotate(both)
    only_new = make_app(ENCRYPTION_KEY=NEW)
    with only_new.app_context():
        channel = db.session.get(NotificationChannel, channel_id)
        assert channel.url.split(".")[1] == key_id(raw(NEW))
        assert read_channel_url(channel).reveal() == "ntfys://ntfy.sh/rot-k3y"
        # the value is bound to its row: the same ciphertext on another channel does not open
        other = NotificationChannel(id=channel_id + 1, user_id=uid, kind="ntfy", url=channel.url)
        with pytest.raises(DecryptionError):
            read_channel_url(other)
