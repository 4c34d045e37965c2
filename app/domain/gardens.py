"""Gardens and roles without HTTP: what each role may do, and who is a member now.

A garden holds plants, devices, tasks, care and alerts. Its members have one role each
(models.GARDEN_ROLES). `ROLE_ACTIONS` is the one table of what a role allows; the route
matrix in docs/security.md is written from it and tests/integration/test_role_matrix.py
checks every route against that matrix. Anything outside a user's gardens is "not found"
(404) wherever it is asked for; an action the role does not allow on something the user can
see is "forbidden" (403) with `FORBIDDEN_MESSAGES[action]`.
"""

from datetime import datetime

from ..models import GARDEN_ROLES

# view: see the garden's plants, readings, devices, tasks, care log and alerts.
# care: log care, complete or snooze tasks, acknowledge alerts.
# edit: add, edit and delete plants, tasks and devices' settings; bind sensors; mute plants.
# members: invite, change roles, remove members; rename or delete the garden.
ACTIONS = ("view", "care", "edit", "members")

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "owner": frozenset({"view", "care", "edit", "members"}),
    "caretaker": frozenset({"view", "care", "edit"}),
    "sitter": frozenset({"view", "care"}),
    "viewer": frozenset({"view"}),
}
assert set(ROLE_ACTIONS) == set(GARDEN_ROLES)

ROLE_LABELS = {
    "owner": "Owner",
    "caretaker": "Caretaker",
    "sitter": "Plant-sitter",
    "viewer": "Viewer",
}

FORBIDDEN_MESSAGES = {
    "view": "You cannot see this garden.",
    "care": "Your role in this garden lets you look, not log care or complete tasks.",
    "edit": "Your role in this garden does not let you change plants, tasks or devices.",
    "members": "Only the garden's owners can manage its members.",
}


def allows(role: str | None, action: str) -> bool:
    """Whether `role` may do `action` (an unknown or missing role may do nothing)."""
    return action in ROLE_ACTIONS.get(role or "", frozenset())


def is_current(until: datetime | None, now: datetime) -> bool:
    """A membership with an end (a plant-sitter's) ends by itself at that moment."""
    return until is None or now < until
