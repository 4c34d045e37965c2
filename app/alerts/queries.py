"""The alerts queries of the web pages, all scoped to the signed-in gardener."""

from sqlalchemy import func
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Alert
from ..ownership import visible

STATES = ("open", "acknowledged", "resolved")


def alerts_query(state=None):
    """The gardener's alerts, newest first, optionally in one state."""
    query = visible(Alert).options(joinedload(Alert.plant)).order_by(Alert.opened_at.desc(), Alert.id.desc())
    if state in STATES:
        query = query.where(Alert.state == state)
    return query


def open_alert_count():
    """One COUNT over the gardener's open alerts (for the nav)."""
    return db.session.scalar(visible(Alert).with_only_columns(func.count(Alert.id)).where(Alert.state == "open"))
