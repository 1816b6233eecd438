"""Choices of the SCEP front end: transaction states and the event log's IDs and diagnostic codes."""

from __future__ import annotations

from django.db import models

__all__ = ["Authorization", "DiagnosticCode", "EventId", "EventLevel", "TransactionStatus"]


class TransactionStatus(models.TextChoices):
    """pkiStatus of the last CertRep for a transaction (RFC 8894 3.2.1.3)."""

    PENDING = "pending", "Pending"
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"


class Authorization(models.TextChoices):
    """What authorised a SCEP request (a challenge verifier's grant, or the renewal rules)."""

    STATIC_CHALLENGE = "static_challenge", "Static challenge"
    ONE_TIME_CHALLENGE = "one_time_challenge", "One-time device challenge"
    RENEWAL = "renewal", "Renewal (signed by the current certificate)"


class EventLevel(models.TextChoices):
    INFORMATION = "information", "Information"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"


class EventId(models.IntegerChoices):
    """Event IDs of the Intune Certificate Connector's SCEP log (Microsoft-Intune-CertificateConnectors),
    so that an admin's existing runbooks and queries keep their meaning.
    """

    SCEP_REQUEST_SUCCESS = 4000, "ScepRequestSuccess"
    SCEP_REQUEST_ISSUED_FAILURE = 4001, "ScepRequestIssuedFailure"
    SCEP_REQUEST_RECEIVED = 4003, "ScepRequestReceived"
    SCEP_VERIFY_SUCCESS = 4004, "ScepVerifySuccess"
    SCEP_VERIFY_FAILURE = 4005, "ScepVerifyFailure"
    SCEP_ISSUED_SUCCESS = 4006, "ScepIssuedSuccess"
    SCEP_ISSUED_FAILURE = 4007, "ScepIssuedFailure"
    SCEP_PENDING = 4011, "ScepRequestPending"
    SCEP_MALFORMED_REQUEST = 4020, "ScepMalformedRequest"
    SCEP_NOTIFY_FAILURE = 20602, "CRPNotifyMetric_Failure"


class DiagnosticCode(models.IntegerChoices):
    """Diagnostic codes of the legacy Intune connector (the reference's table), where one applies."""

    SUCCESS = 0x00000000, "Success"
    PKCS_ISSUE_CA_UNAVAILABLE = 0x00000400, "PKCS_Issue_CA_Unavailable"
    CERTIFICATE_NOT_FOUND = 0x00000404, "Certificate_NotFound"
    CERTIFICATE_EXPIRED = 0x00000405, "Certificate_Expired"
    CRP_SCEP_CERT_NOT_FOUND = 0x00000408, "CRPSCEPCert_NotFound"
    CRP_SCEP_SIGNING_CERT_NOT_FOUND = 0x00000409, "CRPSCEPSigningCert_NotFound"
    CRP_SCEP_DESERIALIZE_FAILED = 0x00000410, "CRPSCEPDeserialize_Failed"
    CRP_SCEP_CHALLENGE_EXPIRED = 0x00000411, "CRPSCEPChallenge_Expired"
    UNKNOWN_ERROR = 0x0FFFFFFF, "Unknown_Error"
