from flask_login import login_required

from ..web import render
from . import bp


@bp.get("")
@login_required
def list_alerts():
    return render("alerts/list.html", "alerts/_list.html", alerts=[])
