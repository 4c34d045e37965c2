"""Care tasks over JSON: the tasks area's service and queries, behind the models of `schemas.py`."""

from flask import request
from flask_babel import gettext
from flask_login import current_user

from ...clock import utcnow
from ...domain import tasks as service
from ...domain.gardens import STAYS_IN_GARDEN
from ...errors import ValidationError
from ...extensions import db
from ...models import Task as TaskRow
from ...ownership import choose_garden
from ...tasks import queries
from . import bp
from .document import operation
from .schemas import Task, TaskInput, TaskList, TaskPatch, TaskQuery
from .validation import json_body, merge_patch, query, visible_or_404

TAG = "tasks"


def task_json(task: TaskRow) -> dict:
    return Task.model_validate(task).model_dump(mode="json")


@bp.get("/tasks")
@operation("listTasks", TAG, (200, TaskList, "A page of tasks."), query=TaskQuery)
def list_tasks() -> dict:
    """Your tasks, due first"""
    args = query(TaskQuery)
    page = queries.list_tasks(current_user, args.status, args.plant_id, page=args.page, per_page=args.per_page)
    return {
        "items": [task_json(t) for t in page.items],
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
    }


@bp.post("/tasks")
@operation("createTask", TAG, (201, Task, "Created."), body=TaskInput)
def create_task() -> tuple[dict, int]:
    """Create a task"""
    fields = json_body(TaskInput)
    garden_id = choose_garden(fields.garden_id)
    task = service.create_task(
        db.session, current_user, fields.model_dump(exclude={"completed", "garden_id"}), garden_id=garden_id
    )
    _set_completed(task, fields.completed)
    db.session.commit()
    return task_json(task), 201


@bp.get("/tasks/<int:task_id>")
@operation("getTask", TAG, (200, Task, "The task."), by_id=True)
def get_task(task_id: int) -> dict:
    """One task"""
    return task_json(visible_or_404(TaskRow, task_id))


@bp.put("/tasks/<int:task_id>")
@operation("updateTask", TAG, (200, Task, "Replaced."), body=TaskInput, by_id=True)
def update_task(task_id: int) -> dict:
    """Replace a task: a field left out takes its default"""
    task = visible_or_404(TaskRow, task_id, "edit")
    _replace(task, json_body(TaskInput))
    return task_json(task)


@bp.patch("/tasks/<int:task_id>")
@operation("patchTask", TAG, (200, Task, "Updated."), body=TaskPatch, by_id=True)
def patch_task(task_id: int) -> dict:
    """Change some of a task's fields (JSON merge patch); `{"completed": ...}` alone needs only care"""
    body = request.get_json(silent=True)
    only_completed = isinstance(body, dict) and set(body) == {"completed"}
    task = visible_or_404(TaskRow, task_id, "care" if only_completed else "edit")
    _replace(task, merge_patch(TaskInput, TaskPatch, task_json(task)))
    return task_json(task)


@bp.delete("/tasks/<int:task_id>")
@operation("deleteTask", TAG, (204, None, "Deleted."), by_id=True)
def delete_task(task_id: int) -> tuple[str, int]:
    """Delete a task"""
    service.delete_task(db.session, visible_or_404(TaskRow, task_id, "edit"))
    db.session.commit()
    return "", 204


@bp.patch("/tasks/<int:task_id>/complete")
@operation("toggleTaskCompleted", TAG, (200, Task, "The task after the toggle."), by_id=True)
def toggle_task_completed(task_id: int) -> dict:
    """Toggle `completed` (completing a recurring task creates the next one)"""
    task = visible_or_404(TaskRow, task_id, "care")
    _set_completed(task, not task.completed)
    db.session.commit()
    return task_json(task)


def _replace(task: TaskRow, fields: TaskInput) -> None:
    if fields.garden_id is not None and fields.garden_id != task.garden_id:
        raise ValidationError([{"field": "garden_id", "message": gettext(STAYS_IN_GARDEN)}])
    service.update_task(db.session, task, fields.model_dump(exclude={"completed", "garden_id"}), user=current_user)
    _set_completed(task, fields.completed)
    db.session.commit()


def _set_completed(task: TaskRow, completed: bool) -> None:
    if completed != task.completed:
        service.set_completed(db.session, task, completed, utcnow(), by=current_user)
