"""Care task pages: a full page without JavaScript, only the changed fragment for htmx.

Row forms carry `next`, the list URL they were shown in (filter kept), so a
browser without JavaScript lands back on the same list after a 303, and an
htmx answer can refresh that list's tab counts out of band.
"""

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import flash, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from werkzeug.datastructures import MultiDict

from ..database import MAX_ID
from ..domain import tasks as service
from ..domain.members import check_assignee, helpers_of
from ..errors import ValidationError
from ..extensions import db
from ..filters import user_zone
from ..models import Plant, Task, utcnow
from ..ownership import choose_garden, garden_roles, get_allowed_or_404, get_visible_or_404, my_gardens
from ..urls import MAX_PAGE, query_int
from ..web import is_htmx, render, see_other
from . import bp, queries
from .forms import TaskForm, form_for_task


@dataclass
class Filters:
    status: str = "all"
    plant: Plant | None = None
    page: int = 1

    @property
    def plant_id(self):
        return self.plant.id if self.plant else None

    def url(self, **changes):
        args = {"status": self.status, "plant_id": self.plant_id, **changes}
        return url_for("tasks.list_tasks", **{k: v for k, v in args.items() if v not in (None, "all", 1)})


class RowUrls:
    """A row's links as `%d` patterns, built by url_for once per list: the row macro fills
    in the id with `task_urls.edit % id`, a plain operator, where calling a function per
    link and row cost a third of a 50-row page."""

    PLACEHOLDER = str(MAX_ID)
    ENDPOINTS = {
        "complete": ("tasks.complete_task", False),
        "edit": ("tasks.edit_task", True),
        "confirm_delete": ("tasks.confirm_delete_task", True),
        "destroy": ("tasks.destroy_task", True),
    }

    def __init__(self, next_url):
        query = "?" + urlencode({"next": next_url})
        for name, (endpoint, with_next) in self.ENDPOINTS.items():
            url = url_for(endpoint, task_id=self.PLACEHOLDER) + (query if with_next else "")
            setattr(self, name, self.pattern(url))
        self.plant = self.pattern(url_for("tasks.list_tasks", plant_id=self.PLACEHOLDER))

    @classmethod
    def pattern(cls, url):
        return url.replace("%", "%%").replace(cls.PLACEHOLDER, "%d", 1)


def read_filters(args):
    status = args.get("status", "all")
    plant_id = args.get("plant_id")
    return Filters(
        status=status if status in queries.STATUSES else "all",
        plant=get_visible_or_404(Plant, plant_id) if plant_id else None,
        page=query_int(args, "page", 1, 1, MAX_PAGE),
    )


def return_to():
    """The list URL a row or form was shown in, if it is one of ours; else the plain list."""
    target = request.values.get("next", "")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path != url_for("tasks.list_tasks"):
        return url_for("tasks.list_tasks")
    return target


def return_filters():
    """The filters of the list the request came from (404 if its plant is gone)."""
    return read_filters(MultiDict(parse_qsl(urlsplit(return_to()).query)))


def list_context(filters, form=None, created=None, with_form=True):
    """What the list needs; the create form (and its plant choices) only `with_form`."""
    counts = queries.status_counts(current_user, filters.plant_id)
    tasks = queries.list_tasks(
        current_user, filters.status, filters.plant_id, filters.page, total=counts[filters.status]
    )
    if with_form and form is None:
        form = TaskForm(formdata=None, data={"plant_id": str(filters.plant_id or "")})
    return {
        "filters": filters,
        "counts": counts,
        "tasks": tasks,
        "form": form and form.set_plants(queries.user_plants(current_user, "edit")).set_helpers(*assignable()),
        "created": created,
        **list_row_context(filters.url()),
    }


def assignable(garden_ids=None):
    """The assignee choices of a task form: the members who may do care in the gardens where
    the user may edit tasks (or in `garden_ids`), and those gardens' names."""
    now = utcnow()
    names = {garden.id: garden.name for garden, _ in my_gardens("edit")}
    ids = [garden_id for garden_id in (garden_ids or names) if garden_id in names]
    return helpers_of(db.session, ids, now), names


def list_row_context(next_url):
    """What every row needs, computed once per response rather than once per row."""
    return {
        "today": today(),
        "zone": user_zone(),
        "next_url": next_url,
        "task_urls": RowUrls(next_url),
        "alerts_url": url_for("alerts.list_alerts"),
        "plant_names": queries.plant_names(current_user),
        "can_in": garden_roles(),
        "csrf": generate_csrf(),
    }


def today():
    return service.user_today(current_user, utcnow())


def row_context(task, **extra):
    return {"task": task, **list_row_context(return_to()), **extra}


def plant_tasks_context(plant, limit=10):
    """For the plant page: its next pending tasks and what their rows need (see _plant_tasks.html)."""
    next_url = url_for("tasks.list_tasks", plant_id=plant.id)
    return {
        "plant": plant,
        "plant_tasks": queries.pending_for_plant(current_user, plant.id, limit),
        **list_row_context(next_url),
    }


@bp.get("")
@login_required
def list_tasks():
    filters = read_filters(request.args)
    context = list_context(filters, with_form=not is_htmx())
    if is_htmx() and request.headers.get("HX-Target") == "more-tasks":
        return render("tasks/list.html", "tasks/_rows.html", **context)
    return render("tasks/list.html", "tasks/_list.html", **context)


@bp.post("")
@login_required
def create_task():
    form = TaskForm()
    try:
        garden_id = choose_garden(request.form.get("garden_id"))
        task = service.create_task(db.session, current_user, form.raw(), garden_id=garden_id)
        task.assignee_id = check_assignee(db.session, task.garden_id, form.assignee_id.data, utcnow())
    except ValidationError as error:
        db.session.rollback()
        form.add_errors(error.detail)
        context = list_context(return_filters(), form=form)
        return render("tasks/list.html", "tasks/_create.html", status=422, **context)
    db.session.commit()
    if not is_htmx():
        flash(gettext("Added “%(title)s”.", title=task.title), "success")
        return see_other(return_to())
    return render("tasks/list.html", "tasks/_created.html", **list_context(return_filters(), created=task))


@bp.get("/<int:task_id>")
@login_required
def show_task(task_id):
    task = get_visible_or_404(Task, task_id)
    return render("tasks/task.html", "tasks/_row.html", **row_context(task))


@bp.get("/<int:task_id>/edit")
@login_required
def edit_task(task_id):
    task = get_allowed_or_404(Task, task_id, "edit")
    form = form_for_task(task, queries.user_plants(current_user, "edit")).set_helpers(*assignable([task.garden_id]))
    return render("tasks/edit.html", block="edit_row", **row_context(task, form=form))


@bp.route("/<int:task_id>", methods=["POST", "PATCH"])
@login_required
def update_task(task_id):
    task = get_allowed_or_404(Task, task_id, "edit")
    form = form_for_task(task, queries.user_plants(current_user, "edit"), formdata=request.form)
    form.set_helpers(*assignable([task.garden_id]))
    try:
        service.update_task(db.session, task, form.raw(), user=current_user)
        if form.assignee_id.name in request.form:
            task.assignee_id = check_assignee(db.session, task.garden_id, form.assignee_id.data, utcnow())
    except ValidationError as error:
        db.session.rollback()
        form.add_errors(error.detail)
        return render("tasks/edit.html", block="edit_row", status=422, **row_context(task, form=form))
    db.session.commit()
    if not is_htmx():
        flash(gettext("Saved “%(title)s”.", title=task.title), "success")
        return see_other(return_to())
    return render("tasks/task.html", "tasks/_row.html", **row_context(task))


@bp.route("/<int:task_id>/complete", methods=["POST", "PATCH"])
@login_required
def complete_task(task_id):
    """Set the state the checkbox shows (not a blind toggle, so a double submit is harmless)."""
    task = get_allowed_or_404(Task, task_id, "care")
    created = service.set_completed(db.session, task, bool(request.form.get("completed")), utcnow(), by=current_user)
    db.session.commit()
    if not is_htmx():
        if created:
            flash(
                gettext(
                    "Done. The next “%(title)s” is due %(day)s.", title=created.title, day=created.due_date.isoformat()
                ),
                "success",
            )
        return see_other(return_to())
    filters = return_filters()
    counts = queries.status_counts(current_user, filters.plant_id)
    return render(
        "tasks/task.html",
        "tasks/_row_changed.html",
        **row_context(task, spawned=created, filters=filters, counts=counts),
    )


@bp.get("/<int:task_id>/delete")
@login_required
def confirm_delete_task(task_id):
    task = get_allowed_or_404(Task, task_id, "edit")
    return render("tasks/delete.html", block="delete_row", **row_context(task))


@bp.post("/<int:task_id>/delete")
@login_required
def delete_task(task_id):
    task = get_allowed_or_404(Task, task_id, "edit")
    title = task.title
    service.delete_task(db.session, task)
    db.session.commit()
    flash(gettext("Deleted “%(title)s”.", title=title), "info")
    return see_other(return_to())


@bp.delete("/<int:task_id>")
@login_required
def destroy_task(task_id):
    """htmx removes the row (an empty answer) and refreshes the tab counts; others get a 303."""
    task = get_allowed_or_404(Task, task_id, "edit")
    service.delete_task(db.session, task)
    db.session.commit()
    if not is_htmx():
        return see_other(return_to())
    filters = return_filters()
    counts = queries.status_counts(current_user, filters.plant_id)
    if counts[filters.status] == 0:
        return render("tasks/list.html", "tasks/_deleted.html", emptied=True, **list_context(filters, with_form=False))
    return render("tasks/list.html", "tasks/_deleted.html", emptied=False, filters=filters, counts=counts)
