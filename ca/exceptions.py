"""Errors of the certificate authority's services."""

from __future__ import annotations

from core.exceptions import ApplicationError, Conflict

__all__ = [
    "AuthorityUnavailable",
    "CaQueueUnavailable",
    "CertificateAlreadyRevoked",
    "PolicyViolation",
    "RequestNotPending",
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
