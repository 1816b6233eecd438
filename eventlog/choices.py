"""The event log's vocabulary: levels, event IDs and diagnostic codes (described in ``catalogue``).

Event IDs come in three ranges, side by side:

- 10000-29999: the Intune Certificate Connector's own events (the reference's table), with the
  reference's names, recorded where the same thing happens in certportal;
- 4000-4099: the connector's SCEP-module events (Microsoft-Intune-CertificateConnectors), where the
  reference's table has none for a step of the SCEP exchange;
- 30000-30999: certportal's own, for what the connector does not log but a device's timeline needs.

The labels are the reference's names, so that an admin's runbooks and queries keep their meaning.
"""

from __future__ import annotations

from django.db import models

__all__ = ["DiagnosticCode", "EventId", "EventLevel"]


class EventLevel(models.TextChoices):
    INFORMATION = "information", "Information"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"


class EventId(models.IntegerChoices):
    # --- the connector service (the reference's table) ---------------------------------------------
    STARTED_CONNECTOR_SERVICE = 10010, "StartedConnectorService"
    STOPPED_CONNECTOR_SERVICE = 10020, "StoppedConnectorService"
    CERTIFICATE_RENEWAL_SUCCESS = 10100, "CertificateRenewal_Success"
    CERTIFICATE_RENEWAL_FAILURE = 10102, "CertificateRenewal_Failure"
    RETRIEVE_CERTIFICATE_WARNING = 10301, "RetrieveCertificate_Warning"
    RETRIEVE_CERTIFICATE_ERROR = 10302, "RetrieveCertificate_Error"
    PKCS_CERT_ISSUE_SUCCESS = 20100, "PkcsCertIssue_Success"
    PKCS_CERT_ISSUE_FAILURE = 20102, "PkcsCertIssue_Failure"
    REVOKE_CERT_SUCCESS = 20200, "RevokeCert_Success"
    REVOKE_CERT_FAILURE = 20202, "RevokeCert_Failure"
    UPLOAD_SUCCESS = 20300, "Upload_Success"
    UPLOAD_FAILURE = 20302, "Upload_Failure"
    DOWNLOAD_SUCCESS = 20400, "Download_Success"
    DOWNLOAD_FAILURE = 20402, "Download_Failure"
    CRP_VERIFY_SUCCESS = 20500, "CRPVerifyMetric_Success"
    CRP_VERIFY_WARNING = 20501, "CRPVerifyMetric_Warning"
    CRP_VERIFY_FAILURE = 20502, "CRPVerifyMetric_Failure"
    CRP_NOTIFY_SUCCESS = 20600, "CRPNotifyMetric_Success"
    CRP_NOTIFY_FAILURE = 20602, "CRPNotifyMetric_Failure"
    # --- the connector's SCEP module ---------------------------------------------------------------
    SCEP_REQUEST_SUCCESS = 4000, "ScepRequestSuccess"
    SCEP_REQUEST_ISSUED_FAILURE = 4001, "ScepRequestIssuedFailure"
    SCEP_REQUEST_RECEIVED = 4003, "ScepRequestReceived"
    SCEP_VERIFY_SUCCESS = 4004, "ScepVerifySuccess"
    SCEP_VERIFY_FAILURE = 4005, "ScepVerifyFailure"
    SCEP_ISSUED_SUCCESS = 4006, "ScepIssuedSuccess"
    SCEP_ISSUED_FAILURE = 4007, "ScepIssuedFailure"
    SCEP_PENDING = 4011, "ScepRequestPending"
    SCEP_MALFORMED_REQUEST = 4020, "ScepMalformedRequest"
    # --- certportal's own --------------------------------------------------------------------------
    DEVICE_CHECK_IN = 30001, "DeviceCheckIn"
    CHALLENGE_ISSUED = 30002, "ChallengeIssued"


class DiagnosticCode(models.IntegerChoices):
    """The connector's diagnostic codes (the reference's table), with the reference's names."""

    SUCCESS = 0x00000000, "Success"
    PKCS_ISSUE_CA_UNAVAILABLE = 0x00000400, "PKCS_Issue_CA_Unavailable"
    SYMANTEC_CLIENT_AUTH_CERT_NOT_FOUND = 0x00000401, "Symantec_ClientAuthCertNotFound"
    REVOKE_CERT_ACCESS_DENIED = 0x00000402, "RevokeCert_AccessDenied"
    CERT_THUMBPRINT_NOT_FOUND = 0x00000403, "CertThumbprint_NotFound"
    CERTIFICATE_NOT_FOUND = 0x00000404, "Certificate_NotFound"
    CERTIFICATE_EXPIRED = 0x00000405, "Certificate_Expired"
    CRP_SCEP_CERT_NOT_FOUND = 0x00000408, "CRPSCEPCert_NotFound"
    CRP_SCEP_SIGNING_CERT_NOT_FOUND = 0x00000409, "CRPSCEPSigningCert_NotFound"
    CRP_SCEP_DESERIALIZE_FAILED = 0x00000410, "CRPSCEPDeserialize_Failed"
    CRP_SCEP_CHALLENGE_EXPIRED = 0x00000411, "CRPSCEPChallenge_Expired"
    UNKNOWN_ERROR = 0x0FFFFFFF, "Unknown_Error"
