from datetime import UTC, date, datetime, timedelta

from flask_login import current_user
from sqlalchemy import func

from ...errors import ValidationError
from ...extensions import db
from ...models import Plant, Task
from ...ownership import owned
from . import bp
from .shapes import task_json
from .spec import TASK_QUERY
from .validation import json_body, owned_or_404, query

# Pending first; soonest due first, undated last; then oldest first; the id keeps pages stable.
ORDER = (Task.completed, Task.due_date.is_(None), Task.due_date, Task.created_at, Task.id)
# A recurring task's next date must still be a date.
LAST_DUE_YEAR = 9000


@bp.get("/tasks")
def list_tasks():
    args = query(TASK_QUERY)
    selection = owned(Task)
    if args["status"] != "all":
        selection = selection.where(Task.completed.is_(args["status"] == "completed"))
    if args["plant_id"] is not None:
        selection = selection.where(Task.plant_id == args["plant_id"])
    total = db.session.scalar(selection.with_only_columns(func.count()).order_by(None))
    page, per_page = args["page"], args["per_page"]
    # The page's ids come from the (user_id, completed, due_date, created_at) index alone,
    # so thousands of narrow entries are sorted rather than whole rows; then 50 rows load.
    ids = db.session.scalars(
        selection.with_only_columns(Task.id).order_by(*ORDER).limit(per_page).offset((page - 1) * per_page)
    ).all()
    tasks = db.session.scalars(owned(Task).where(Task.id.in_(ids)).order_by(*ORDER)).all() if ids else []
    return {"items": [task_json(t) for t in tasks], "total": total, "page": page, "per_page": per_page}


@bp.post("/tasks")
def create_task():
    fields = _task_fields(json_body("TaskInput"))
    task = Task(user_id=current_user.id, source="user", **fields)
    db.session.add(task)
    db.session.commit()
    return task_json(task), 201


@bp.get("/tasks/<int:task_id>")
def get_task(task_id):
    return task_json(owned_or_404(Task, task_id))


@bp.put("/tasks/<int:task_id>")
def update_task(task_id):
    task = owned_or_404(Task, task_id)
    for name, value in _task_fields(json_body("TaskInput")).items():
        setattr(task, name, value)
    db.session.commit()
    return task_json(task)


@bp.delete("/tasks/<int:task_id>")
def delete_task(task_id):
    db.session.delete(owned_or_404(Task, task_id))
    db.session.commit()
    return "", 204


@bp.patch("/tasks/<int:task_id>/complete")
def toggle_task_completed(task_id):
    task = owned_or_404(Task, task_id)
    if task.completed:
        task.completed, task.completed_at = False, None
    else:
        task.completed, task.completed_at = True, datetime.now(UTC)
        if task.recurrence_days and task.next_task_id is None:
            task.next_task_id = _next_occurrence(task).id
    db.session.commit()
    return task_json(task)


def _next_occurrence(task):
    start = task.due_date or datetime.now(UTC).date()
    following = Task(
        user_id=task.user_id,
        plant_id=task.plant_id,
        source=task.source,
        title=task.title,
        description=task.description,
        due_date=start + timedelta(days=task.recurrence_days),
        recurrence_days=task.recurrence_days,
    )
    db.session.add(following)
    db.session.flush()
    return following


def _task_fields(body):
    plant_id = body.get("plant_id")
    if plant_id is not None and db.session.scalar(owned(Plant).where(Plant.id == plant_id)) is None:
        raise ValidationError([{"field": "plant_id", "message": "No such plant."}])
    due = date.fromisoformat(body["due_date"]) if body.get("due_date") else None
    if due and due.year > LAST_DUE_YEAR:
        raise ValidationError([{"field": "due_date", "message": f"Choose a date before {LAST_DUE_YEAR + 1}."}])
    return {
        "title": body["title"].strip(),
        "description": body.get("description", "").strip(),
        "due_date": due,
        "plant_id": plant_id,
        "recurrence_days": body.get("recurrence_days"),
    }
