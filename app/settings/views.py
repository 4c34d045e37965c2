from flask import render_template
from flask_login import login_required

from . import bp


@bp.get("")
@login_required
def show_settings():
    return render_template("settings/page.html")
