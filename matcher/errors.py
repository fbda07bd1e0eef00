"""The one exception family of the engine.

Every error the engine raises on purpose is a :class:`RismepError` subclass carrying its HTTP status, a
message that names the bad value and the fix, and optionally the offending field and the accepted values.
The web layer turns them into one JSON error shape (``web/errors.py``); the engine never builds responses.
"""

from __future__ import annotations


class RismepError(Exception):
    """Base class. ``status`` is the HTTP status the web layer answers with."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None, allowed=None, errors=None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.allowed = list(allowed) if allowed is not None else None
        self.extra_errors = list(errors or [])

    def details(self) -> list[dict]:
        """The ``errors`` list of the JSON error shape: one entry per bad field."""
        if self.extra_errors:
            return self.extra_errors
        entry = {"field": self.field, "message": self.message}
        if self.allowed is not None:
            entry["allowed"] = self.allowed
        return [entry]


class BadRequest(RismepError):
    status = 400


class Unauthorized(RismepError):
    status = 401


class Forbidden(RismepError):
    status = 403


class NotFound(RismepError):
    status = 404


class Conflict(RismepError):
    status = 409


class Unprocessable(RismepError):
    status = 422


class TooManyRequests(RismepError):
    status = 429


class Unavailable(RismepError):
    status = 503


class DataError(RismepError):
    """The project's own data files (reference tables, the intake corpus or lexicon, a saved model) are
    missing or malformed: a problem for whoever runs the service, not for the caller (HTTP 500)."""

    status = 500
