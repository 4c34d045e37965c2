"""The selects of care tasks, always scoped to the user's gardens through app.ownership."""

from dataclasses import dataclass

from sqlalchemy import false, func, true

from ..clock import utcnow
from ..domain.gardens import garden_ids_of
from ..extensions import db
from ..models import Plant, Task
from ..ownership import visible

STATUSES = ("all", "pending", "completed")
PER_PAGE = 50
# Soonest due first, undated last, then oldest first; the id keeps pages stable. The indexes
# ix_tasks_user_order and ix_tasks_user_completed_order hold this order, so a page reads its
# rows off the index rather than sorting every task (NULLS LAST: both databases walk it).
ORDER = (Task.due_date.asc().nulls_last(), Task.created_at, Task.id)


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
    query = visible(Task, user)
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
    """One page of tasks in ORDER. Pass `total` when the caller already counted (status_counts)."""
    query = filtered(user, status, plant_id)
    if total is None:
        total = db.session.scalar(query.with_only_columns(func.count()).order_by(None))
    items = db.session.scalars(query.order_by(*ORDER).limit(per_page).offset((page - 1) * per_page)).all()
    return TaskPage(items=list(items), total=total, page=page, per_page=per_page)


def user_plants(user, action="view"):
    """The plants of the user's gardens for the plant select (with `action`, only of the
    gardens where their role allows it), by name."""
    query = visible(Plant, user)
    if action != "view":
        query = query.where(Plant.garden_id.in_(garden_ids_of(user.id, utcnow(), action)))
    return db.session.scalars(query.order_by(Plant.name, Plant.id)).all()


def plant_names(user):
    """{plant id: name} of the user's plants: rows show their plant's name without loading
    a Plant per task (a user has a handful of plants and thousands of tasks)."""
    return dict(db.session.execute(visible(Plant, user).with_only_columns(Plant.id, Plant.name)).tuples().all())


def pending_for_plant(user, plant_id, limit=10):
    """The next pending tasks of one plant, for its page."""
    return list_tasks(user, "pending", plant_id, per_page=limit)
