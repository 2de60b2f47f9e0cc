"""Domain errors raised by services; the API and pages map them to responses."""

from __future__ import annotations

from typing import Any


class WorkbenchError(Exception):
    """Base class: ``message`` is one line a person can read."""

    status = 400

    def __init__(self, message: str, *, details: list[Any] | None = None, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.extra = extra or {}


class InvalidInput(WorkbenchError):
    """Bad input: a form, a file, a JSON body."""


class InvalidAnnotation(InvalidInput):
    """A span, relation or attribution that does not fit the text or the schema."""


class NotFound(WorkbenchError):
    status = 404


class Forbidden(WorkbenchError):
    status = 403


class Conflict(WorkbenchError):
    status = 409


class ImportError_(InvalidInput):
    """A file that cannot be imported; ``message`` names the file and line."""

    def __init__(self, filename: str, line: int | None, reason: str):
        where = f"{filename}:{line}" if line else filename
        super().__init__(f"{where}: {reason}")
        self.filename = filename
        self.line = line
        self.reason = reason
