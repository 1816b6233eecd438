"""Errors of the profiles app."""

from __future__ import annotations

from core.exceptions import ApplicationError

__all__ = ["ChallengeInvalid"]


class ChallengeInvalid(ApplicationError):
    """A one-time challenge that does not authorise this request. ``diagnostic_code`` is the connector's
    (0x00000411 expired, 0x00000410 cannot be decoded), ``code`` the reason in Intune's validator terms.
    """

    code = "challenge_invalid"

    def __init__(self, message: str, *, code: str, diagnostic_code: int | None = None) -> None:
        super().__init__(message, code=code)
        self.diagnostic_code = diagnostic_code
