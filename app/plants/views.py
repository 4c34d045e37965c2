from flask_login import login_required

from ..web import render
from . import bp


@bp.get("")
@login_required
def list_plants():
    return render("plants/list.html", "plants/_cards.html", plants=[])
