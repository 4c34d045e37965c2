"""The exception family: raised by the domain, turned into responses by app.errors."""

from typing import Any


class PlantOpsError(Exception):
    status = 500
    code = "internal_error"
    message = "Something went wrong on our side."

    def __init__(self, detail: Any = None) -> None:
        super().__init__(detail or self.message)
        self.detail: Any = detail or self.message


class NotFoundError(PlantOpsError):
    status = 404
    code = "not_found"
    message = "Not found."


class ValidationError(PlantOpsError):
    """`detail` is a message or a list of {"field", "message"}."""

    status = 422
    code = "validation_error"
    message = "The input is not valid."


class AuthenticationError(PlantOpsError):
    status = 401
    code = "unauthorized"
    message = "Authentication required."


class ForbiddenError(PlantOpsError):
    """Something the user can see, asked for an action their role in its garden does not allow."""

    status = 403
    code = "forbidden"
    message = "Your role in this garden does not allow this."
