"""Gardens people share: my gardens, a garden's members and roles, and invitations (issue 19).

What each role may do is app.domain.gardens.ROLE_ACTIONS; managing members is the "members"
action (owners). Anything outside the user's gardens answers 404, like a missing id.
"""

from flask import Blueprint

bp = Blueprint("gardens", __name__)

from . import views  # noqa: E402,F401
