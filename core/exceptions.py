"""The base class of every business-rule error the services raise.

Views and the API turn an ``ApplicationError`` into a 4xx answer with its message; the SCEP view
turns it into a CertRep FAILURE. Anything else escaping a service is a bug.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ApplicationError", "Conflict", "NotFound"]


class ApplicationError(Exception):
    """A request that the rules refuse. ``code`` is stable and machine-readable."""

    code = "invalid"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.extra = extra or {}

    def record(self) -> None:
        """What the refusal leaves in the logs, written by the edge once the refused work is rolled back
        (the API's exception handler, the admin). Nothing by default.
        """


class Conflict(ApplicationError):
    """The request is valid but conflicts with the current state (already revoked, already decided)."""

    code = "conflict"
    http_status = 409


class NotFound(ApplicationError):
    code = "not_found"
    http_status = 404
