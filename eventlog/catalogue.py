"""What each event ID and diagnostic code means: the reference's descriptions and messages, when
certportal records the event, and what an admin does about a code, in certportal's terms.

docs/architecture.md ("The event log") has the same tables; a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from eventlog.choices import DiagnosticCode, EventId

__all__ = [
    "DIAGNOSTICS",
    "EVENTS",
    "DiagnosticDescription",
    "EventDescription",
    "EventSource",
    "diagnostic_describe",
    "diagnostic_display",
]


class EventSource:
    REFERENCE = "Intune Certificate Connector"
    SCEP_MODULE = "connector SCEP module"
    CERTPORTAL = "certportal"


@dataclass(frozen=True)
class EventDescription:
    #: The reference's description (for certportal's own IDs: ours).
    description: str
    #: When certportal records it ("" = defined, never recorded).
    recorded_when: str
    source: str = EventSource.REFERENCE


@dataclass(frozen=True)
class DiagnosticDescription:
    #: The reference's message.
    message: str
    #: What to do, in certportal's terms.
    action: str


_RA = "the RA certificate (NDES's enrollment agent and CEP encryption certificate in one)"

EVENTS: MappingProxyType[EventId, EventDescription] = MappingProxyType(
    {
        EventId.STARTED_CONNECTOR_SERVICE: EventDescription(
            "Connector service started",
            "A Celery worker that serves the CA queue is ready (worker_ready): its hostname and queues; "
            "0x0FFFFFFF if the start hook failed.",
        ),
        EventId.STOPPED_CONNECTOR_SERVICE: EventDescription(
            "Connector service stopped", "That worker shuts down (worker_shutdown, e.g. on SIGTERM)."
        ),
        EventId.CERTIFICATE_RENEWAL_SUCCESS: EventDescription(
            "Connector enrollment certificate successfully renewed",
            f"The RA renewal job renewed {_RA} of the active SCEP services that use it; they serve the "
            "new one at once.",
        ),
        EventId.CERTIFICATE_RENEWAL_FAILURE: EventDescription(
            "Connector enrollment certificate failed to renew. Reinstall the connector.",
            "The RA renewal failed: 0x00000405 if the RA certificate has already expired, else "
            "0x0FFFFFFF; the job tries again on its next run.",
        ),
        EventId.RETRIEVE_CERTIFICATE_WARNING: EventDescription(
            "Check diagnostic information in event details.",
            "The RA renewal job does not find the RA certificate's thumbprint among its CA's issued "
            "certificates (0x00000403); the RA is renewed all the same when due.",
        ),
        EventId.RETRIEVE_CERTIFICATE_ERROR: EventDescription(
            "Failed to retrieve the connector enrollment certificate from the registry. Review event "
            "details for the certificate thumbprint related to this event.",
            "A SCEP operation cannot load the RA: 0x00000408 (its certificate) or 0x00000409 (its key), "
            "answered 503; or loads an expired RA certificate (0x00000405, still served until renewed). "
            "The renewal job: 0x00000404 (certificate unreadable) or 0x00000405 (expired).",
        ),
        EventId.PKCS_CERT_ISSUE_SUCCESS: EventDescription(
            "Successfully issued a PKCS certificate. Review event details for the device ID, user ID, "
            "CA name, certificate template name, and certificate thumbprint related to this event.",
            "The CA worker issued the certificate of a PKCS certificate profile (the key it generated, kept "
            "only as an encrypted PKCS#12 until delivery; docs/resource-profiles.md), with the device, the "
            "user, the CA, the template, the serial and the thumbprint.",
        ),
        EventId.PKCS_CERT_ISSUE_FAILURE: EventDescription(
            "Failed to issue a PKCS certificate. Review event details for the device ID, user ID, CA "
            "name, certificate template name, and certificate thumbprint related to this event.",
            "The CA worker refuses to sign a queued request because the CA is disabled or has expired "
            "(0x00000400); the request fails. A PKCS request refused by policy: 0x00000400 for the CA, else "
            "0x0FFFFFFF, with the device and the user.",
        ),
        EventId.REVOKE_CERT_SUCCESS: EventDescription(
            "Successfully revoked the certificate. Review event details for the device ID, user ID, CA "
            "name, and certificate serial number related to this event.",
            "The CA worker revoked a certificate (the revocation services).",
        ),
        EventId.REVOKE_CERT_FAILURE: EventDescription(
            "Failed to revoke the certificate. Review event details for the device ID, user ID, CA name, "
            "and certificate serial number related to this event. For additional information, see the "
            "NDES SVC Logs.",
            "A revocation was refused or failed; 0x00000402 when the requester lacks the revoke right.",
        ),
        EventId.UPLOAD_SUCCESS: EventDescription(
            "Successfully uploaded the certificate's request or revocation data. Review the event details "
            "for the upload details.",
            "The RA handed a certificate or revocation request to the CA queue (ca.dispatch).",
        ),
        EventId.UPLOAD_FAILURE: EventDescription(
            "Failed to upload the certificate's request or revocation data. Review the event details > "
            "Upload State to determine the point of failure.",
            "The RA could not hand a request to the CA queue (the broker is unreachable); the request "
            "stays queued and the beat sweep sends it again.",
        ),
        EventId.DOWNLOAD_SUCCESS: EventDescription(
            "Successfully downloaded request to sign a certificate, download a client certificate, or "
            "revoke a certificate. Review the event details for the download details.",
            "The CA worker took a certificate or revocation request off the queue and stored its result "
            "(ca.tasks), with the certificate's serial and thumbprint when one was issued.",
        ),
        EventId.DOWNLOAD_FAILURE: EventDescription(
            "Failed to download request to sign a certificate, download client certificate, or revoke a "
            "certificate. Review the event details for the download details.",
            "The CA worker's task failed: 0x00000400 if the CA key cannot be loaded, else 0x0FFFFFFF; "
            "the request stays queued.",
        ),
        EventId.CRP_VERIFY_SUCCESS: EventDescription(
            "Certificate Registration Point successfully verified a client challenge",
            "A challenge verifier granted a PKCSReq (with the device and user of a one-time challenge).",
        ),
        EventId.CRP_VERIFY_WARNING: EventDescription(
            "Certificate Registration Point completed but rejected the request. See diagnostic code and "
            "message for more details.",
            "A PKCSReq's challenge was rejected: 0x00000411 if it expired, otherwise the validator's "
            "reason in the details.",
        ),
        EventId.CRP_VERIFY_FAILURE: EventDescription(
            "Certificate Registration Point failed to verify a client challenge. See diagnostic code and "
            "message for more details. See event message details for the Device ID corresponding to the "
            "challenge.",
            "A PKCSReq's challenge cannot be verified at all: 0x00000410 (no such challenge, or a wrong "
            "secret), 0x00000408 / 0x00000409 (the RA certificate or key cannot be loaded).",
        ),
        EventId.CRP_NOTIFY_SUCCESS: EventDescription(
            "Certificate Registration Point successfully finished notify process and has sent the "
            "certificate to the client device.",
            "The first SUCCESS CertRep with the new certificate is sent, and every verifier recorded it.",
        ),
        EventId.CRP_NOTIFY_FAILURE: EventDescription(
            "Certificate Registration Point failed to finish notify process. See the event message details "
            "for information on the request. Verify connection between the NDES server and the CA.",
            "A verifier could not record a transaction's outcome (the device's certificate state); it "
            "is rolled back and the device still gets its answer.",
        ),
        EventId.SCEP_REQUEST_SUCCESS: EventDescription(
            "SCEP request answered",
            "A request answered from its transaction's stored result (a retransmission, CertPoll), "
            "GetCert, GetCRL.",
            EventSource.SCEP_MODULE,
        ),
        EventId.SCEP_REQUEST_ISSUED_FAILURE: EventDescription(
            "SCEP request failed after issuance", "", EventSource.SCEP_MODULE
        ),
        EventId.SCEP_REQUEST_RECEIVED: EventDescription("SCEP request received", "", EventSource.SCEP_MODULE),
        EventId.SCEP_VERIFY_SUCCESS: EventDescription(
            "SCEP request verified",
            "Not recorded any more: 20500 CRPVerifyMetric_Success (the reference's) says it.",
            EventSource.SCEP_MODULE,
        ),
        EventId.SCEP_VERIFY_FAILURE: EventDescription(
            "SCEP request refused",
            "A PKIOperation was refused (protocol, algorithms, challenge, renewal rules), with its "
            "failInfo; also a stored refusal answered again.",
            EventSource.SCEP_MODULE,
        ),
        EventId.SCEP_ISSUED_SUCCESS: EventDescription(
            "SCEP certificate issued",
            "Not recorded any more: 20600 CRPNotifyMetric_Success (the reference's) says it.",
            EventSource.SCEP_MODULE,
        ),
        EventId.SCEP_ISSUED_FAILURE: EventDescription(
            "SCEP certificate not issued", "The CA denied or failed the request.", EventSource.SCEP_MODULE
        ),
        EventId.SCEP_PENDING: EventDescription(
            "SCEP request pending",
            "Answered PENDING: waiting for approval or for the CA worker.",
            EventSource.SCEP_MODULE,
        ),
        EventId.SCEP_MALFORMED_REQUEST: EventDescription(
            "Malformed SCEP request",
            "Input that is not a SCEP request: not a pkiMessage, an empty body, bad base64, no "
            "Content-Length.",
            EventSource.SCEP_MODULE,
        ),
        EventId.DEVICE_CHECK_IN: EventDescription(
            "A device checked in and received its profiles",
            "Each check-in (not a preview): the trusted-root and SCEP profiles delivered, and why any "
            "was not (a warning then). On the device's timeline.",
            EventSource.CERTPORTAL,
        ),
        EventId.CHALLENGE_ISSUED: EventDescription(
            "A one-time SCEP challenge was handed out to a device",
            "A check-in issues a new challenge (never its secret): its id, profile version, subject "
            "and expiry. Handing out the live one again is not recorded.",
            EventSource.CERTPORTAL,
        ),
    }
)

DIAGNOSTICS: MappingProxyType[DiagnosticCode, DiagnosticDescription] = MappingProxyType(
    {
        DiagnosticCode.SUCCESS: DiagnosticDescription("Success", "Nothing to do."),
        DiagnosticCode.PKCS_ISSUE_CA_UNAVAILABLE: DiagnosticDescription(
            "Certification authority is not valid or is unreachable. Verify that the certification "
            "authority is available, and that your server can communicate with it.",
            "Check the CA in the admin (enabled, not expired). On the CA worker, check "
            "CERTPORTAL_CA_KEY_PASSPHRASE and the key backend (manage.py check). A request refused at "
            "signing time must be submitted again; one left queued is sent again by the sweep.",
        ),
        DiagnosticCode.SYMANTEC_CLIENT_AUTH_CERT_NOT_FOUND: DiagnosticDescription(
            "Symantec Client Auth certificate was not found in the local cert store. See the article "
            "Install the Symantec registration authorization certificate for more information.",
            "Does not occur: certportal has no third-party CA connector.",
        ),
        DiagnosticCode.REVOKE_CERT_ACCESS_DENIED: DiagnosticDescription(
            "The specified account does not have permissions to revoke a certificate from CA. See CA Name "
            "field in the event message details to determine the issuing CA.",
            "Give the user the permission 'Can revoke certificates' (ca.revoke_issuedcertificate), "
            "directly or through a group.",
        ),
        DiagnosticCode.CERT_THUMBPRINT_NOT_FOUND: DiagnosticDescription(
            "Could not find a certificate that matched your input. Enroll the certificate connector and "
            "try again.",
            "The RA certificate is not among its CA's issued certificates: create a new RA "
            "(manage.py init_ra) and select it on the SCEP services.",
        ),
        DiagnosticCode.CERTIFICATE_NOT_FOUND: DiagnosticDescription(
            "Could not find a certificate that matched the input supplied. Re-enroll the certificate "
            "connector and try again.",
            "The stored RA certificate cannot be read: create a new RA (manage.py init_ra) and select it "
            "on the SCEP services.",
        ),
        DiagnosticCode.CERTIFICATE_EXPIRED: DiagnosticDescription(
            "A certificate expired. Re-enroll the certificate connector to renew the certificate and try "
            "again.",
            "The RA certificate has expired: check that beat and the default worker run (the RA renewal "
            "job) and that the default worker has CERTPORTAL_RA_KEY_PASSPHRASE, or create a new RA "
            "(manage.py init_ra).",
        ),
        DiagnosticCode.CRP_SCEP_CERT_NOT_FOUND: DiagnosticDescription(
            "CRP Encryption certificate could not be found. Verify that NDES and the Intune Connector is "
            "setup correctly.",
            "The SCEP service's RA certificate (what devices encrypt to) cannot be loaded: check the "
            "service's RA in the admin, or create a new one (manage.py init_ra).",
        ),
        DiagnosticCode.CRP_SCEP_SIGNING_CERT_NOT_FOUND: DiagnosticDescription(
            "Signing certificate could not be retrieved. Verify the Intune Connector Service is configured "
            "correctly, and the Intune Connector Service is running. Verify also that the certificate "
            "download events were successful.",
            "The RA key (what signs CertReps) cannot be loaded by the web tier: give it "
            "CERTPORTAL_RA_KEY_PASSPHRASE, the passphrase the RA was created with.",
        ),
        DiagnosticCode.CRP_SCEP_DESERIALIZE_FAILED: DiagnosticDescription(
            "Failed to deserialize SCEP challenge request. Verify the NDES and Intune Connector is setup "
            "correctly.",
            "The device sent a challenge in certportal's format that matches no issued challenge "
            "(truncated, tampered or forged): let it check in again for a new one. Many such events from "
            "one address suggest an attack.",
        ),
        DiagnosticCode.CRP_SCEP_CHALLENGE_EXPIRED: DiagnosticDescription(
            "Request denied due to expired certificate challenge. The client device can retry after "
            "obtaining a new challenge from the management server.",
            "The device enrolled after its one-time challenge expired: it gets a new one at its next "
            "check-in. Raise CERTPORTAL_CHALLENGE_TTL_MINUTES if devices are often this slow.",
        ),
        # The reference prints this code with nine digits (0x0FFFFFFFF); the connector logs 0x0FFFFFFF.
        DiagnosticCode.UNKNOWN_ERROR: DiagnosticDescription(
            "We are unable to complete your request because a server-side error occurred. Please try again.",
            "Read the event's details and the process's log at that time: they name the error.",
        ),
    }
)


def diagnostic_display(code: int | None) -> str:
    """``0x00000411 CRPSCEPChallenge_Expired``; a code outside the catalogue shows as its hex alone."""
    if code is None:
        return ""
    try:
        return f"0x{code:08X} {DiagnosticCode(code).label}"
    except ValueError:
        return f"0x{code:08X}"


def diagnostic_describe(code: int | None) -> DiagnosticDescription | None:
    """The reference's message and what to do, for a code in the catalogue."""
    if code is None:
        return None
    try:
        return DIAGNOSTICS[DiagnosticCode(code)]
    except ValueError:
        return None
