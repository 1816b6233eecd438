"""SCEP (RFC 8894) message types, statuses, failure codes, OIDs and input limits."""

from enum import IntEnum, StrEnum

__all__ = [
    "CONTENT_TYPE_CA_CERT",
    "CONTENT_TYPE_CA_RA_CERT",
    "CONTENT_TYPE_NEXT_CA_CERT",
    "CONTENT_TYPE_PKI_MESSAGE",
    "MAX_CERTIFICATES",
    "MAX_CHALLENGE_PASSWORD_LENGTH",
    "MAX_DIGEST_ALGORITHMS",
    "MAX_MESSAGE_BYTES",
    "MAX_MESSAGE_TYPE_LENGTH",
    "MAX_NONCE_LENGTH",
    "MAX_SIGNED_ATTRIBUTES",
    "MAX_TRANSACTION_ID_LENGTH",
    "MIN_NONCE_LENGTH",
    "NONCE_LENGTH",
    "OID_CHALLENGE_PASSWORD",
    "OID_CONTENT_TYPE",
    "OID_DATA",
    "OID_ENVELOPED_DATA",
    "OID_FAIL_INFO",
    "OID_FAIL_INFO_TEXT",
    "OID_MESSAGE_DIGEST",
    "OID_MESSAGE_TYPE",
    "OID_PKI_STATUS",
    "OID_RECIPIENT_NONCE",
    "OID_RSAES_OAEP",
    "OID_RSA_ENCRYPTION",
    "OID_SENDER_NONCE",
    "OID_SIGNED_DATA",
    "OID_SIGNING_TIME",
    "OID_TRANSACTION_ID",
    "REQUEST_MESSAGE_TYPES",
    "FailInfo",
    "MessageType",
    "PkiStatus",
]


class MessageType(IntEnum):
    """messageType values (RFC 8894 §3.2.1.2); carried as a decimal PrintableString."""

    CERT_REP = 3
    RENEWAL_REQ = 17
    PKCS_REQ = 19
    CERT_POLL = 20
    GET_CERT = 21
    GET_CRL = 22


#: The only message types a server may act on. Everything else (3, the old UpdateReq 18, unassigned values,
#: non-numbers) is answered with FAILURE/badRequest before any other processing (CVE-2026-30836).
REQUEST_MESSAGE_TYPES: frozenset[int] = frozenset(
    {
        MessageType.RENEWAL_REQ,
        MessageType.PKCS_REQ,
        MessageType.CERT_POLL,
        MessageType.GET_CERT,
        MessageType.GET_CRL,
    }
)


class PkiStatus(StrEnum):
    """pkiStatus values (RFC 8894 §3.2.1.3)."""

    SUCCESS = "0"
    FAILURE = "2"
    PENDING = "3"


class FailInfo(IntEnum):
    """failInfo values (RFC 8894 §3.2.1.4); carried as a decimal PrintableString."""

    BAD_ALG = 0
    BAD_MESSAGE_CHECK = 1
    BAD_REQUEST = 2
    BAD_TIME = 3
    BAD_CERT_ID = 4

    @property
    def rfc_name(self) -> str:
        """The name RFC 8894 uses, e.g. ``badMessageCheck``."""
        return _FAIL_INFO_NAMES[self]


_FAIL_INFO_NAMES = {
    FailInfo.BAD_ALG: "badAlg",
    FailInfo.BAD_MESSAGE_CHECK: "badMessageCheck",
    FailInfo.BAD_REQUEST: "badRequest",
    FailInfo.BAD_TIME: "badTime",
    FailInfo.BAD_CERT_ID: "badCertId",
}

# SCEP signed attributes (RFC 8894 §3.2.1), VeriSign id-attributes arc 2.16.840.1.113733.1.9.
OID_MESSAGE_TYPE = "2.16.840.1.113733.1.9.2"
OID_PKI_STATUS = "2.16.840.1.113733.1.9.3"
OID_FAIL_INFO = "2.16.840.1.113733.1.9.4"
OID_SENDER_NONCE = "2.16.840.1.113733.1.9.5"
OID_RECIPIENT_NONCE = "2.16.840.1.113733.1.9.6"
OID_TRANSACTION_ID = "2.16.840.1.113733.1.9.7"
OID_FAIL_INFO_TEXT = "1.3.6.1.5.5.7.24.1"  # id-scep-failInfoText, new in RFC 8894

# CMS (RFC 5652) and PKCS#9 (RFC 2985).
OID_DATA = "1.2.840.113549.1.7.1"
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_ENVELOPED_DATA = "1.2.840.113549.1.7.3"
OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_SIGNING_TIME = "1.2.840.113549.1.9.5"
OID_CHALLENGE_PASSWORD = "1.2.840.113549.1.9.7"  # noqa: S105 (an OID, not a password)

# Key transport.
OID_RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
OID_RSAES_OAEP = "1.2.840.113549.1.1.7"

# HTTP content types (RFC 8894 §4).
CONTENT_TYPE_PKI_MESSAGE = "application/x-pki-message"
CONTENT_TYPE_CA_CERT = "application/x-x509-ca-cert"
CONTENT_TYPE_CA_RA_CERT = "application/x-x509-ca-ra-cert"
CONTENT_TYPE_NEXT_CA_CERT = "application/x-x509-next-ca-cert"

# Limits on untrusted input.
#: Largest pkiMessage we parse. A PKCSReq with a 4096-bit key and a chain in the signer is a few KiB.
MAX_MESSAGE_BYTES = 256 * 1024
#: transactionID is opaque; clients send 28 (micromdm), 32 (sscep) or 77 (certmonger) characters.
MAX_TRANSACTION_ID_LENGTH = 128
#: Longest messageType string we keep for the allow-list check; anything longer is malformed.
MAX_MESSAGE_TYPE_LENGTH = 16
#: RFC 8894 §3.2.1.5 nonces are 16 bytes. We send 16 and accept 8..32 from peers, because the RFC gives no
#: rule for other lengths and some clients are sloppy; shorter than 8 bytes is no longer a usable nonce.
NONCE_LENGTH = 16
MIN_NONCE_LENGTH = 8
MAX_NONCE_LENGTH = 32
#: A SignerInfo carries about 9 signed attributes and a SignedData a short chain; more is an attack on
#: parsing time (reference matrix C-23), refused before the attributes or certificates are decoded.
MAX_SIGNED_ATTRIBUTES = 64
MAX_CERTIFICATES = 32
#: SignedData.digestAlgorithms lists the one signer's digest; a few more are tolerated, not hundreds.
MAX_DIGEST_ALGORITHMS = 8
#: PKCS#9 ub-challengePassword.
MAX_CHALLENGE_PASSWORD_LENGTH = 255
