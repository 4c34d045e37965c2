"""Notification channels on the settings page: add one, send it a test, remove it."""

import logging
import secrets

from flask import current_app, flash, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, SelectChoice, SelectField, SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from .. import outbound
from ..extensions import db
from ..fields import strip
from ..models import NotificationChannel
from ..notify import channels
from ..notify.dispatch import channels_of
from ..ownership import get_own_or_404
from ..web import see_other
from . import bp
from .notification_channels import ChannelError, ChannelInput, check_target, create_channel, describe
from .providers import DEFAULT_CONCURRENCY, ProviderError
from .secrets import read_channel_url
from .views import page, test_result

log = logging.getLogger(__name__)
BUSY = "PlantOps is waiting on other outgoing requests right now. Try again in a moment."


class ChannelForm(FlaskForm):
    kind = SelectField("Kind", choices=[SelectChoice(k, v) for k, v in channels.KINDS.items()])
    url = PasswordField(
        "Channel URL",
        filters=[strip],
        validators=[DataRequired(message="Paste the channel's URL."), Length(max=channels.URL_MAX)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    events = SelectMultipleField(
        "Send",
        choices=[SelectChoice(k, v) for k, v in channels.EVENTS.items()],
        default=list(channels.DEFAULT_EVENTS),
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
    )
    quiet_start = StringField("Quiet from", filters=[strip], render_kw={"placeholder": "22:00", "inputmode": "numeric"})
    quiet_end = StringField("Quiet until", filters=[strip], render_kw={"placeholder": "07:00", "inputmode": "numeric"})
    quiet_mode = SelectField(
        "During quiet hours",
        choices=[
            SelectChoice("hold", "hold messages until they end"),
            SelectChoice("digest", "fold them into the next digest"),
        ],
    )
    digest_hour = IntegerField(
        "Digest and tasks at (hour)", default=8, validators=[NumberRange(0, 23, "The hour is 0 to 23.")]
    )
    remind_after_hours = IntegerField(
        "Remind of unacknowledged alerts after (hours)",
        validators=[Optional(), NumberRange(1, 168, "Remind after 1 to 168 hours, or leave it empty.")],
    )


@bp.app_template_global()
def notification_channels():
    return [describe(channel) for channel in channels_of(db.session, current_user.id)]


@bp.app_template_global()
def new_channel_form():
    return ChannelForm(formdata=None)


@bp.post("/channels")
@login_required
def add_channel():
    form = ChannelForm()
    if form.validate():
        data = ChannelInput(
            kind=form.kind.data,
            url=form.url.data,
            events=form.events.data or [],
            quiet_start=form.quiet_start.data or None,
            quiet_end=form.quiet_end.data or None,
            quiet_mode=form.quiet_mode.data,
            digest_hour=form.digest_hour.data if form.digest_hour.data is not None else 8,
            remind_after_hours=form.remind_after_hours.data,
        )
        try:
            create_channel(db.session, current_user.id, data, current_app.config)
        except ChannelError as error:
            db.session.rollback()
            getattr(form, error.field).errors = [*getattr(form, error.field).errors, error.message]
        else:
            db.session.commit()
            log.info("user %s added a %s channel", current_user.id, data.kind)
            flash(f"{channels.KINDS[data.kind]} channel added.", "success")
            return see_other(url_for("settings.show_settings") + "#channels")
    return page(422, "settings/_channels.html", channel_form=form)


@bp.post("/channels/<int:channel_id>/delete")
@login_required
def delete_channel(channel_id):
    channel = get_own_or_404(NotificationChannel, channel_id)
    db.session.delete(channel)
    db.session.commit()
    flash("Channel removed.", "info")
    return see_other(url_for("settings.show_settings") + "#channels")


@bp.post("/channels/<int:channel_id>/test")
@login_required
def test_channel(channel_id):
    channel = get_own_or_404(NotificationChannel, channel_id)
    return test_result(f"channel-{channel.id}", lambda user: _run_test(channel))


def _run_test(channel):
    secret = read_channel_url(channel)  # DecryptionError: the page asks to re-enter it
    if secret is None:
        return False, "This channel has no URL; remove it and add it again."
    config = current_app.config
    try:
        target = check_target(channel.kind, secret.reveal(), config)
    except ChannelError as error:
        return False, error.message
    kind = channels.KINDS[channel.kind]
    total = config.get("OUTBOUND_CONCURRENCY", DEFAULT_CONCURRENCY)
    sender = channels.Sender(
        channels.policy_for(config, config.get("PROVIDER_TIMEOUT_SECONDS", 30)),
        outbound.shared_gate("web", total, max(1, total // 2)),
        config,
        key=current_user.id,
    )
    db.session.commit()  # no transaction stays open while we wait on the network
    outcome = channels.send(target, channels.test_message(), sender, txn=f"test-{secrets.token_hex(6)}")
    if outcome.kind == "busy":
        raise ProviderError("busy", BUSY)
    if outcome.sent:
        return True, f"Sent a test message to {kind}: check that it arrived."
    return False, f"{kind} did not take the test message: {outcome.error}"
