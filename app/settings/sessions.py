"""The user's signed-in devices on /settings: list them, sign one out."""

from flask import render_template, url_for
from flask_login import current_user, login_required

from ..auth import sessions
from ..errors import NotFoundError
from ..extensions import db
from ..web import is_htmx, see_other
from . import bp


@bp.context_processor
def session_panel():
    """The sessions panel's data, fetched only when the settings page includes the panel."""
    return {
        "user_sessions": lambda: sessions.list_sessions(current_user),
        "this_session_id": sessions.current_session_id,
    }


@bp.post("/sessions/<int:session_id>/end")
@login_required
def end_session(session_id):
    """Sign out one other device (this device signs out with the header's "Sign out")."""
    if session_id == sessions.current_session_id() or not sessions.end_session(current_user, session_id):
        raise NotFoundError()
    db.session.commit()
    if is_htmx():
        return render_template("settings/_sessions.html")
    return see_other(url_for("settings.show_settings") + "#sessions")
