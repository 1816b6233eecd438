"""Errors of the certificate authority's services."""

from __future__ import annotations

from core.exceptions import ApplicationError, Conflict

__all__ = [
    "AuthorityUnavailable",
    "CaQueueUnavailable",
    "CertificateAlreadyRevoked",
    "PolicyViolation",
    "RequestNotPending",
    "RevocationNotPermitted",
]


class PolicyViolation(ApplicationError):
    """The request is outside the template's or the CA's policy. ``code`` says which rule:

    key_too_small, key_too_large, key_type_unsupported, signature_hash_not_allowed, csr_malformed,
    csr_signature_invalid, validity_not_allowed, validity_too_long, template_not_published,
    template_disabled, authority_disabled, name_missing.
    """

    code = "policy_violation"


class AuthorityUnavailable(ApplicationError):
    """The CA cannot issue now: disabled, expired, or not yet valid."""

    code = "authority_unavailable"
    http_status = 409


class CertificateAlreadyRevoked(Conflict):
    code = "already_revoked"


class RequestNotPending(Conflict):
    code = "request_not_pending"


class CaQueueUnavailable(ApplicationError):
    """The broker behind the ``ca`` queue cannot be reached: nothing was handed to the CA worker."""

    code = "ca_queue_unavailable"
    http_status = 503


class RevocationNotPermitted(ApplicationError):
    """The requester lacks the revoke right that this change needs (it would revoke certificates)."""

    code = "revocation_not_permitted"
    http_status = 403

    def __init__(self, message: str, *, requested_by: str, certificate_ids: tuple[int, ...]) -> None:
        super().__init__(message, extra={"certificates": len(certificate_ids)})
        self.requested_by = requested_by
        self.certificate_ids = certificate_ids

    def record(self) -> None:
        """20202 RevokeCert_Failure with 0x00000402 for each certificate, once the refused change is rolled
        back (the edges call it after the transaction is gone).
        """
        from ca.services.revocation_events import revocation_denied_record  # noqa: PLC0415 - models load late

        for certificate_id in self.certificate_ids:
            revocation_denied_record(certificate_id=str(certificate_id), requested_by=self.requested_by)
