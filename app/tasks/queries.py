"""The selects of care tasks, always scoped to their owner through app.ownership."""

from dataclasses import dataclass

from sqlalchemy import false, func, true

from ..extensions import db
from ..models import Plant, Task
from ..ownership import owned

STATUSES = ("all", "pending", "completed")
PER_PAGE = 50
# Soonest due first, undated last, then oldest first; the id keeps pages stable.
ORDER = (Task.due_date.is_(None), Task.due_date, Task.created_at, Task.id)


@dataclass
class TaskPage:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def has_next(self):
        return self.page * self.per_page < self.total


def filtered(user, status="all", plant_id=None):
    query = owned(Task, user)
    if status == "pending":
        query = query.where(Task.completed == false())
    elif status == "completed":
        query = query.where(Task.completed == true())
    if plant_id is not None:
        query = query.where(Task.plant_id == plant_id)
    return query


def status_counts(user, plant_id=None):
    """How many tasks each tab holds: {"all": n, "pending": n, "completed": n}, in one query."""
    query = filtered(user, plant_id=plant_id).with_only_columns(Task.completed, func.count()).group_by(Task.completed)
    counts = {"pending": 0, "completed": 0}
    for completed, count in db.session.execute(query):
        counts["completed" if completed else "pending"] = count
    return {"all": counts["pending"] + counts["completed"], **counts}


def list_tasks(user, status="all", plant_id=None, page=1, per_page=PER_PAGE, total=None):
    """One page of tasks in ORDER. Pass `total` when the caller already counted (status_counts).

    The page's ids are picked first from the (user_id, completed, due_date, created_at)
    index alone, so the sort handles thousands of narrow index entries rather than
    whole rows; then only those rows are loaded.
    """
    query = filtered(user, status, plant_id)
    if total is None:
        total = db.session.scalar(query.with_only_columns(func.count()).order_by(None))
    ids = db.session.scalars(
        query.with_only_columns(Task.id).order_by(*ORDER).limit(per_page).offset((page - 1) * per_page)
    ).all()
    items = []
    if ids:
        items = db.session.scalars(owned(Task, user).where(Task.id.in_(ids)).order_by(*ORDER)).all()
    return TaskPage(items=list(items), total=total, page=page, per_page=per_page)


def user_plants(user):
    """The user's plants for the plant select, by name."""
    return db.session.scalars(owned(Plant, user).order_by(Plant.name, Plant.id)).all()


def plant_names(user):
    """{plant id: name} of the user's plants: rows show their plant's name without loading
    a Plant per task (a user has a handful of plants and thousands of tasks)."""
    return dict(db.session.execute(owned(Plant, user).with_only_columns(Plant.id, Plant.name)).tuples().all())


def pending_for_plant(user, plant_id, limit=10):
    """The next pending tasks of one plant, for its page."""
    return list_tasks(user, "pending", plant_id, per_page=limit)
