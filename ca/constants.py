"""OIDs, defaults and limits of the certificate authority."""

from __future__ import annotations

from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

__all__ = [
    "ALLOWED_CURVES",
    "ALLOWED_RSA_KEY_SIZES",
    "BACKDATE_SECONDS",
    "CA_KEY_CHOICES",
    "DEFAULT_EKUS",
    "MAX_RSA_KEY_SIZE",
    "MAX_SERIAL_ATTEMPTS",
    "OID_CERTIFICATE_REQUEST_AGENT",
    "OID_NTDS_CA_SECURITY_EXT",
    "OID_NTDS_OBJECTSID",
    "WELL_KNOWN_EKUS",
]

#: Key sizes a CA key may have (the issue's RSA 2048/3072/4096 and EC P-256/P-384).
ALLOWED_RSA_KEY_SIZES = (2048, 3072, 4096)
ALLOWED_CURVES = ("secp256r1", "secp384r1")
CA_KEY_CHOICES = (*(f"RSA-{n}" for n in ALLOWED_RSA_KEY_SIZES), "EC-P256", "EC-P384")

#: Largest RSA key we sign for: bigger keys only cost CPU (a denial-of-service lever); no client needs them.
MAX_RSA_KEY_SIZE = 8192

#: notBefore is set this far in the past, so that a device with a slightly slow clock accepts the certificate.
BACKDATE_SECONDS = 5 * 60

#: Serial collisions are astronomically unlikely with 159 random bits; a unique constraint catches them.
MAX_SERIAL_ATTEMPTS = 5

DEFAULT_EKUS = (ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string,)

#: Microsoft "Certificate Request Agent" (the NDES enrollment-agent certificate's EKU).
OID_CERTIFICATE_REQUEST_AGENT = ObjectIdentifier("1.3.6.1.4.1.311.20.2.1")
#: KB5014754 strong certificate mapping: the SID extension and its otherName type.
OID_NTDS_CA_SECURITY_EXT = ObjectIdentifier("1.3.6.1.4.1.311.25.2")
OID_NTDS_OBJECTSID = ObjectIdentifier("1.3.6.1.4.1.311.25.2.1")

#: Names shown next to well-known application policies (any dotted OID is accepted).
WELL_KNOWN_EKUS = {
    ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string: "Client Authentication",
    ExtendedKeyUsageOID.SERVER_AUTH.dotted_string: "Server Authentication",
    ExtendedKeyUsageOID.EMAIL_PROTECTION.dotted_string: "Secure Email",
    ExtendedKeyUsageOID.CODE_SIGNING.dotted_string: "Code Signing",
    ExtendedKeyUsageOID.SMARTCARD_LOGON.dotted_string: "Smart Card Logon",
    ExtendedKeyUsageOID.IPSEC_IKE.dotted_string: "IP security IKE intermediate",
    "1.3.6.1.4.1.311.10.3.4": "Encrypting File System",
    OID_CERTIFICATE_REQUEST_AGENT.dotted_string: "Certificate Request Agent",
}
