"""Care tasks over JSON: the tasks area's service and queries, behind the contract's shapes."""

from flask_login import current_user

from ...domain import tasks as service
from ...extensions import db
from ...models import Task, utcnow
from ...tasks import queries
from . import bp
from .shapes import task_json
from .spec import TASK_QUERY
from .validation import json_body, owned_or_404, query

# PUT replaces: a field left out takes its default.
DEFAULTS = {"description": "", "due_date": None, "plant_id": None, "recurrence_days": None}


@bp.get("/tasks")
def list_tasks():
    args = query(TASK_QUERY)
    page = queries.list_tasks(
        current_user, args["status"], args["plant_id"], page=args["page"], per_page=args["per_page"]
    )
    return {
        "items": [task_json(t) for t in page.items],
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
    }


@bp.post("/tasks")
def create_task():
    task = service.create_task(db.session, current_user, json_body("TaskInput"))
    db.session.commit()
    return task_json(task), 201


@bp.get("/tasks/<int:task_id>")
def get_task(task_id):
    return task_json(owned_or_404(Task, task_id))


@bp.put("/tasks/<int:task_id>")
def update_task(task_id):
    task = owned_or_404(Task, task_id)
    service.update_task(db.session, task, {**DEFAULTS, **json_body("TaskInput")})
    db.session.commit()
    return task_json(task)


@bp.delete("/tasks/<int:task_id>")
def delete_task(task_id):
    service.delete_task(db.session, owned_or_404(Task, task_id))
    db.session.commit()
    return "", 204


@bp.patch("/tasks/<int:task_id>/complete")
def toggle_task_completed(task_id):
    task = owned_or_404(Task, task_id)
    service.set_completed(db.session, task, not task.completed, utcnow())
    db.session.commit()
    return task_json(task)
