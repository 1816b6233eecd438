"""The one refusal of the SCEP front end's policy (the NDES policy module's "deny")."""

from __future__ import annotations

from collections.abc import Mapping

from enrollment.scep.constants import FailInfo
from enrollment.scep.errors import ScepFailure

__all__ = ["EnrollmentRefused"]


class EnrollmentRefused(ScepFailure):
    """A request that policy refuses: answered with a CertRep FAILURE carrying ``fail_info``.

    ``diagnostic_code`` is the Intune Certificate Connector's (e.g. 0x00000411 challenge expired) where one
    applies; ``reason_code`` the reason in the Intune validator's terms (SubjectNameMismatch,
    ChallengeExpired, ...). Both are recorded in the event log; the device sees only failInfo and the text.

    ``admin_detail`` (a sentence) and ``admin_fields`` (event details) are for the administrator only: what
    the request should have asked for, e.g. the expected and the received subject of a one-time challenge.
    They go to the event log (20501) and the device's certificate state, never into the CertRep, whose
    failInfoText (``text``) must not tell whoever holds a challenge which identity it is good for.
    """

    def __init__(
        self,
        fail_info: FailInfo,
        text: str,
        *,
        diagnostic_code: int | None = None,
        reason_code: str = "",
        holder: Mapping[str, str | int | None] | None = None,
        transient: bool = False,
        admin_detail: str = "",
        admin_fields: Mapping[str, str | list[str]] | None = None,
    ) -> None:
        super().__init__(fail_info, text)
        self.diagnostic_code = diagnostic_code
        self.reason_code = reason_code
        #: The condition may pass (a queue that drains): the refusal is recorded as an event but not stored
        #: on a transaction, so the same request sent again is considered afresh.
        self.transient = transient
        #: Whom the refused request was for, when the verifier knows (device_id, device_external_id, user_id,
        #: user_principal_name): the event log links the refusal to them.
        self.holder: dict[str, str | int | None] = dict(holder or {})
        self.admin_detail = admin_detail
        self.admin_fields: dict[str, str | list[str]] = dict(admin_fields or {})

    @property
    def admin_text(self) -> str:
        """The text with the administrator's detail: for the event log and the device state only."""
        return f"{self.text}; {self.admin_detail}" if self.admin_detail else self.text

    def __reduce__(self) -> tuple[type[ScepFailure], tuple[FailInfo, str]]:  # pragma: no cover - not pickled
        return (ScepFailure, (self.fail_info, self.text))
