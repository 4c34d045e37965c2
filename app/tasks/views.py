from flask_login import login_required

from ..web import render
from . import bp


@bp.get("")
@login_required
def list_tasks():
    return render("tasks/list.html", "tasks/_list.html", tasks=[])
