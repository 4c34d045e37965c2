from sqlalchemy import func, select

from ...extensions import db
from ...models import Alert
from ...ownership import owned
from . import bp
from .shapes import alert_json
from .spec import ALERT_QUERY
from .validation import query


@bp.get("/alerts")
def list_alerts():
    args = query(ALERT_QUERY)
    selection = owned(Alert)
    if args["state"]:
        selection = selection.where(Alert.state == args["state"])
    total = db.session.scalar(select(func.count()).select_from(selection.subquery()))
    page, per_page = args["page"], args["per_page"]
    alerts = db.session.scalars(
        selection.order_by(Alert.opened_at.desc(), Alert.id.desc()).limit(per_page).offset((page - 1) * per_page)
    )
    return {"items": [alert_json(a) for a in alerts], "total": total, "page": page, "per_page": per_page}
