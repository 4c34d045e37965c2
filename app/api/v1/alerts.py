from sqlalchemy import func, select

from ...extensions import db
from ...models import Alert as AlertRow
from ...ownership import visible
from . import bp
from .document import operation
from .schemas import Alert, AlertList, AlertQuery
from .validation import query


@bp.get("/alerts")
@operation("listAlerts", "alerts", (200, AlertList, "A page of alerts."), query=AlertQuery)
def list_alerts() -> dict:
    """Your alerts, newest first"""
    args = query(AlertQuery)
    selection = visible(AlertRow)
    if args.state:
        selection = selection.where(AlertRow.state == args.state)
    total = db.session.scalar(select(func.count()).select_from(selection.subquery()))
    page, per_page = args.page, args.per_page
    alerts = db.session.scalars(
        selection.order_by(AlertRow.opened_at.desc(), AlertRow.id.desc()).limit(per_page).offset((page - 1) * per_page)
    )
    return {
        "items": [Alert.model_validate(a).model_dump(mode="json") for a in alerts],
        "total": total,
        "page": page,
        "per_page": per_page,
    }
