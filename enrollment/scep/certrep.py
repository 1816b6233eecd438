"""Server side: build the CertRep (RFC 8894 §3.3.2) that answers every PKIOperation."""

import os
from collections.abc import Sequence
from datetime import datetime

from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from .algorithms import ContentCipher, DigestAlgorithm
from .constants import (
    NONCE_LENGTH,
    OID_FAIL_INFO,
    OID_FAIL_INFO_TEXT,
    OID_PKI_STATUS,
    FailInfo,
    MessageType,
    PkiStatus,
)
from .degenerate import build_degenerate
from .envelope import encrypt_envelope
from .message import scep_attributes
from .signeddata import sign_signed_data

__all__ = ["build_cert_rep"]

#: The eContent of a FAILURE or PENDING CertRep: present and empty (see ``build_cert_rep``).
_NO_ENVELOPE = b""


def build_cert_rep(
    *,
    transaction_id: str,
    recipient_nonce: bytes,
    status: PkiStatus,
    signer_certificate: x509.Certificate,
    signer_key: rsa.RSAPrivateKey,
    digest: DigestAlgorithm,
    fail_info: FailInfo | None = None,
    fail_info_text: str | None = None,
    recipient_certificate: x509.Certificate | None = None,
    cipher: ContentCipher | None = None,
    certificates: Sequence[x509.Certificate] = (),
    crl: x509.CertificateRevocationList | None = None,
    extra_certificates: Sequence[x509.Certificate] = (),
    signing_time: datetime | None = None,
) -> bytes:
    """Build a DER CertRep signed by the RA key.

    * ``transaction_id`` and ``recipient_nonce`` come from the request (its senderNonce); a fresh 16-byte
      senderNonce is added.
    * SUCCESS: the eContent is a pkcsPKIEnvelope, encrypted to ``recipient_certificate`` (the request's
      signer certificate) with ``cipher``, of a degenerate SignedData holding ``certificates`` (issued
      certificate first, chain after) or ``crl`` (GetCRL).
    * FAILURE: ``fail_info`` (and the optional ``fail_info_text``, UTF8String); no pkcsPKIEnvelope.
    * PENDING: no pkcsPKIEnvelope.

    FAILURE and PENDING omit the pkcsPKIEnvelope (RFC 8894 §3.3.2.2, §3.3.2.3) by carrying an empty eContent
    (a zero-length OCTET STRING), not by leaving eContent out: an absent eContent is a detached signature
    (RFC 5652 §5.2), which strict verifiers such as OpenSSL's ``PKCS7_verify`` (certmonger's scep-submit)
    refuse without the content ("no content"). The messageDigest is the digest of the empty string either
    way, and step-ca and micromdm sign their FAILURE CertReps the same way (Go's ``NewSignedData(nil)``).

    The RA certificate and then ``extra_certificates`` (e.g. the CA chain) go into ``certificates``.

    Raises:
        ValueError: when the arguments do not fit ``status`` (programming errors, not client errors).
        ScepFailure: BAD_ALG if ``recipient_certificate`` has no RSA key (nothing can be encrypted to it).
    """
    if status is PkiStatus.FAILURE:
        if fail_info is None:
            raise ValueError("a FAILURE CertRep needs fail_info")
    elif fail_info is not None or fail_info_text is not None:
        raise ValueError("fail_info and fail_info_text belong to a FAILURE CertRep only")
    envelope = _NO_ENVELOPE
    if status is PkiStatus.SUCCESS:
        if recipient_certificate is None or cipher is None:
            raise ValueError("a SUCCESS CertRep needs recipient_certificate and cipher")
        if not certificates and crl is None:
            raise ValueError("a SUCCESS CertRep needs certificates or a CRL")
        degenerate = build_degenerate(certificates, [crl] if crl is not None else [])
        envelope = encrypt_envelope(degenerate, recipient_certificate=recipient_certificate, cipher=cipher)
    elif certificates or crl is not None or recipient_certificate is not None or cipher is not None:
        raise ValueError("only a SUCCESS CertRep carries certificates, a CRL or an envelope")

    attributes = scep_attributes(
        message_type=MessageType.CERT_REP,
        transaction_id=transaction_id,
        sender_nonce=os.urandom(NONCE_LENGTH),
        recipient_nonce=recipient_nonce,
    )
    attributes.append((OID_PKI_STATUS, core.PrintableString(status.value)))
    if fail_info is not None:
        attributes.append((OID_FAIL_INFO, core.PrintableString(str(int(fail_info)))))
        if fail_info_text is not None:
            attributes.append((OID_FAIL_INFO_TEXT, core.UTF8String(fail_info_text)))
    return sign_signed_data(
        econtent=envelope,
        attributes=attributes,
        signer_certificate=signer_certificate,
        signer_key=signer_key,
        digest=digest,
        certificates=extra_certificates,
        signing_time=signing_time,
    )
