"""The task form only renders and carries what the user typed; app.domain.tasks validates.

CSRF is checked for every unsafe request by CSRFProtect (the hidden `csrf_token`
input, or the X-CSRFToken header htmx sends), so the form does not add its own,
and edit forms can take a per-task prefix without renaming the token field.
"""

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.widgets import DateInput, NumberInput

from ..domain.tasks import DESCRIPTION_MAX, RECURRENCE_MAX, RECURRENCE_MIN, REPEAT_FROM, TITLE_MAX


class TaskForm(FlaskForm):
    class Meta:
        csrf = False

    title = StringField(_l("Title"), render_kw={"maxlength": TITLE_MAX, "required": True, "autocomplete": "off"})
    description = TextAreaField(_l("Notes"), render_kw={"maxlength": DESCRIPTION_MAX, "rows": 2})
    due_date = StringField(_l("Due"), widget=DateInput())
    plant_id = SelectField(_l("Plant"), validate_choice=False)
    recurrence_days = StringField(
        _l("Repeat every … days"),
        widget=NumberInput(min=RECURRENCE_MIN, max=RECURRENCE_MAX),
        render_kw={"inputmode": "numeric", "placeholder": _l("no repeat")},
    )
    repeat_from = SelectField(
        _l("Repeat from"),
        choices=[SelectChoice("", _l("Default (watering: when done)"))]
        + [SelectChoice(key, _l(label)) for key, label in REPEAT_FROM.items()],
        validate_choice=False,
    )

    assignee_id = SelectField(_l("Assigned to"), validate_choice=False)

    def set_helpers(self, helpers, garden_names=None):
        """The members a task may be assigned to: app.domain.members.helpers_of's (garden id,
        user id, name); with several gardens each name says its garden."""
        several = len({garden_id for garden_id, _, _ in helpers}) > 1
        self.assignee_id.choices = [("", gettext("Nobody in particular"))] + [
            (str(user_id), f"{name} ({(garden_names or {}).get(garden_id, '')})" if several else name)
            for garden_id, user_id, name in helpers
        ]
        return self

    def set_plants(self, plants):
        self.plant_id.choices = [("", _l("No plant"))] + [(str(plant.id), plant.name) for plant in plants]
        return self

    def raw(self):
        """What the user typed, keyed like the service's fields."""
        return {
            name: self[name].data
            for name in ("title", "description", "due_date", "plant_id", "recurrence_days", "repeat_from")
        }

    def add_errors(self, detail):
        for error in detail:
            field = self[error["field"]]
            field.errors = [*field.errors, error["message"]]


def form_for_task(task, plants, formdata=None):
    values = {
        "title": task.title,
        "description": task.description,
        "due_date": task.due_date.isoformat() if task.due_date else "",
        "plant_id": str(task.plant_id or ""),
        "recurrence_days": str(task.recurrence_days or ""),
        "repeat_from": task.repeat_from,
        "assignee_id": str(task.assignee_id or ""),
    }
    form = TaskForm(formdata=formdata, prefix=f"task-{task.id}", data=values)
    return form.set_plants(plants)
