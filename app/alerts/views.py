from flask import render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from ..clock import utcnow
from ..domain.alerts import acknowledge
from ..extensions import db
from ..filters import value_text
from ..models import Alert
from ..ownership import garden_roles, get_allowed_or_404
from ..urls import MAX_PAGE, query_int
from ..web import is_htmx, render, see_other
from . import bp
from .queries import STATES, alerts_query, open_alert_count

PER_PAGE = 50


@bp.app_context_processor
def nav_alert_count():
    """`open_alert_count()` for the nav on every page; it queries only when a template calls it."""

    def count():
        if not current_user.is_authenticated:
            return 0
        try:
            return open_alert_count()
        except SQLAlchemyError:  # an error page while the database is down still renders
            db.session.rollback()
            return 0

    return {"open_alert_count": count}


@bp.app_template_global("alert_value")
def alert_value(metric, value):
    """An alert's value in the viewer's units and locale (app.filters, the one formatting place)."""
    return value_text(metric, value)


@bp.get("")
@login_required
def list_alerts():
    state = request.args.get("state", "")
    state = state if state in STATES else ""
    page = db.paginate(
        alerts_query(state),
        page=query_int(request.args, "page", 1, 1, MAX_PAGE),
        per_page=PER_PAGE,
        max_per_page=PER_PAGE,
        error_out=False,
    )
    return render("alerts/list.html", block="alert_list", pagination=page, state=state, can_in=garden_roles())


@bp.post("/<int:alert_id>/acknowledge")
@login_required
def acknowledge_alert(alert_id):
    alert = get_allowed_or_404(Alert, alert_id, "care")
    acknowledge(alert, utcnow(), current_user)
    db.session.commit()
    if is_htmx():
        return render_template("alerts/_acknowledged.html", alert=alert)
    return see_other(url_for("alerts.list_alerts", state=request.args.get("state", "")))
