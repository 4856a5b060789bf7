"""The one family of errors Patron raises on purpose.

Each maps to an HTTP status (see ``api/errors.py``) and a CLI exit code. ``field``
names the offending input (``lines[2].quantity``) so a caller can fix it.
"""

from __future__ import annotations

from typing import Any


class PatronError(Exception):
    status_code = 400
    exit_code = 1
    title = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra

    def to_problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://patron.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status_code,
            "detail": self.detail,
        }
        if self.field is not None:
            body["field"] = self.field
        body.update(self.extra)
        return body

    @property
    def code(self) -> str:
        name = type(self).__name__
        return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")


class InvalidInput(PatronError):
    status_code = 422
    exit_code = 2
    title = "Invalid input"


class NotFound(PatronError):
    status_code = 404
    exit_code = 3
    title = "Not found"


class Conflict(PatronError):
    status_code = 409
    exit_code = 4
    title = "Conflict"


class ContentTooLarge(PatronError):
    status_code = 413
    exit_code = 2
    title = "Content too large"


class InsufficientPoints(PatronError):
    status_code = 409
    exit_code = 5
    title = "Insufficient points"


class Unauthorized(PatronError):
    status_code = 401
    exit_code = 6
    title = "Unauthorized"


class Forbidden(PatronError):
    status_code = 403
    exit_code = 6
    title = "Forbidden"


def within(place: str, inner: str | None) -> str:
    """The full path of what a model's own check refused (``ctx.path``, inside the
    model at ``place``): ``lines[0]`` and ``sku`` give ``lines[0].sku``."""
    if inner is None:
        return place
    return inner if place == "body" else f"{place}.{inner}"


# What to do about a validation error, where pydantic's message says only what is
# wrong (a spreadsheet's times have no zone).
_HINTS = {"timezone_aware": "end the time with Z (UTC) or an offset such as +01:00"}


def with_hint(message: str, error_type: str | None) -> str:
    """Pydantic's ``message`` for an error of ``error_type``, and what to do about it.

    The prefix pydantic puts before a validator's own words ("Value error, a
    birthday cannot be in the future") is dropped: it names Python's exception.
    """
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    hint = _HINTS.get(error_type or "")
    return f"{message}: {hint}" if hint else message
