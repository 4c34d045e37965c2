"""Personal access tokens on /settings: create (shown once), list, revoke."""

from flask import url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ..auth import tokens
from ..extensions import db
from ..models import ApiToken
from ..ownership import get_own_or_404
from ..web import is_htmx, render, see_other
from . import bp


class TokenForm(FlaskForm):
    name = StringField(
        "Token name",
        filters=[lambda value: (value or "").strip()],
        validators=[
            DataRequired("Give the token a name."),
            Length(max=tokens.NAME_MAX, message=f"Keep the name to {tokens.NAME_MAX} characters."),
        ],
    )


@bp.context_processor
def token_panel():
    """The token panel's data, fetched only when the settings page includes the panel."""
    return {"api_tokens": lambda: tokens.list_tokens(current_user), "new_token_form": TokenForm}


def _panel(status=200, **context):
    """The token panel: alone for htmx, else on a page of its own (the settings page
    itself includes the same panel, so one template serves both)."""
    context.setdefault("token_form", TokenForm())
    context["tokens"] = tokens.list_tokens(current_user)
    return render("settings/tokens.html", "settings/_tokens.html", status=status, **context)


@bp.post("/tokens")
@login_required
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return _panel(422, token_form=form)
    _, raw = tokens.create_token(current_user, form.name.data)
    db.session.commit()
    # Shown once, right here: never in a redirect, a flash cookie or a log.
    response = _panel(201, token_form=TokenForm(formdata=None), new_token=raw)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id):
    tokens.revoke_token(get_own_or_404(ApiToken, token_id))
    db.session.commit()
    if is_htmx():
        return _panel()
    return see_other(url_for("settings.show_settings") + "#api-tokens")
