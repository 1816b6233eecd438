"""Events of revocations refused before any request exists (apart from the services, so that the error
that records them, ``RevocationNotPermitted``, needs no service import).
"""

from __future__ import annotations

from ca.models import IssuedCertificate
from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.services import event_record

__all__ = ["revocation_denied_record"]


def revocation_denied_record(*, certificate_id: str, requested_by: str) -> None:
    """Record 20202 RevokeCert_Failure with 0x00000402 RevokeCert_AccessDenied: someone without the revoke
    right asked to revoke a certificate (the API answers 403).
    """
    certificate = (
        IssuedCertificate.objects.select_related("authority").filter(pk=int(certificate_id)).first()
        if certificate_id.isdigit()
        else None
    )
    event_record(
        event_id=EventId.REVOKE_CERT_FAILURE,
        level=EventLevel.WARNING,
        message=f"{requested_by} may not revoke certificates",
        diagnostic_code=DiagnosticCode.REVOKE_CERT_ACCESS_DENIED,
        details={"requested_by": requested_by},
        serial=certificate.serial if certificate else "",
        thumbprint=certificate.fingerprint_sha1 if certificate else "",
        authority_slug=certificate.authority.slug if certificate else "",
        ca_name=certificate.authority.name if certificate else "",
    )
