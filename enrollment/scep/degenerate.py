"""Degenerate certificates-only SignedData (RFC 8894 §3.4) and the GetNextCACert reply (§4.7).

A degenerate SignedData has no signers and no content; it carries certificates (GetCACert with an RA, the
issued certificate inside a CertRep) or CRLs (GetCRL). Certificates keep the order given: clients take the
first certificate of a CertRep as the issued one.
"""

from collections.abc import Sequence

from asn1crypto import cms
from asn1crypto import crl as asn1_crl
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from . import schema
from .algorithms import AlgorithmPolicy, DigestAlgorithm
from .constants import MAX_MESSAGE_BYTES, OID_DATA, OID_SIGNED_DATA, FailInfo
from .errors import MalformedMessage, MessageTooLarge, ScepFailure
from .signeddata import (
    DECODING_ERRORS,
    SignerKey,
    asn1_certificate,
    describe_error,
    parse_signed_data,
    sign_signed_data,
    verify_signed_content,
)

__all__ = ["build_degenerate", "build_next_ca_cert", "parse_degenerate", "parse_next_ca_cert"]


def build_degenerate(
    certificates: Sequence[x509.Certificate] = (), crls: Sequence[x509.CertificateRevocationList] = ()
) -> bytes:
    """Encode a degenerate certs-only ContentInfo(SignedData): version 1, no digests, no signers."""
    signed_data: dict[str, object] = {
        "version": "v1",
        "digest_algorithms": [],
        "encap_content_info": {"content_type": OID_DATA},
        "signer_infos": [],
    }
    if certificates:
        signed_data["certificates"] = [
            cms.CertificateChoices(name="certificate", value=asn1_certificate(certificate))
            for certificate in certificates
        ]
    if crls:
        signed_data["crls"] = [
            cms.RevocationInfoChoice(
                name="crl",
                value=asn1_crl.CertificateList.load(crl.public_bytes(serialization.Encoding.DER)),
            )
            for crl in crls
        ]
    return bytes(schema.ContentInfo({"content_type": OID_SIGNED_DATA, "content": signed_data}).dump())


def parse_degenerate(
    der: bytes, *, max_size: int = MAX_MESSAGE_BYTES
) -> tuple[list[x509.Certificate], list[x509.CertificateRevocationList]]:
    """Decode the certificates and CRLs of a (degenerate) SignedData, in the order received.

    Signers, if any, are ignored: this is for bundles whose trust comes from elsewhere (GetCACert is
    checked by fingerprint, a CertRep's envelope by the CertRep signature).

    Raises:
        MalformedMessage: if it is no SignedData.
    """
    if len(der) > max_size:
        raise MessageTooLarge(len(der), max_size)
    try:
        content_info = schema.ContentInfo.load(der, strict=True)
        signed_data = content_info["content"]
        if content_info["content_type"].dotted != OID_SIGNED_DATA or not isinstance(
            signed_data, schema.SignedData
        ):
            raise MalformedMessage("not a CMS SignedData")
        certificates = [
            x509.load_der_x509_certificate(choice.chosen.dump())
            for choice in signed_data["certificates"]
            if choice.name == "certificate"
        ]
        crls = [
            x509.load_der_x509_crl(choice.chosen.dump())
            for choice in signed_data["crls"]
            if choice.name == "crl"
        ]
    except DECODING_ERRORS as exc:
        raise MalformedMessage(f"not a valid certificates-only SignedData: {describe_error(exc)}") from exc
    return certificates, crls


def build_next_ca_cert(
    certificates: Sequence[x509.Certificate],
    *,
    signer_certificate: x509.Certificate,
    signer_key: SignerKey,
    digest: DigestAlgorithm = DigestAlgorithm.SHA256,
    extra_certificates: Sequence[x509.Certificate] = (),
) -> bytes:
    """Build the GetNextCACert reply (RFC 8894 §4.7.1).

    A SignedData signed by the *current* CA/RA whose eContent (id-data) is the degenerate SignedData
    holding the rollover CA (and RA) ``certificates``.
    """
    return sign_signed_data(
        econtent=build_degenerate(certificates),
        attributes=(),
        signer_certificate=signer_certificate,
        signer_key=signer_key,
        digest=digest,
        certificates=extra_certificates,
    )


def parse_next_ca_cert(
    der: bytes, *, signer_certificates: Sequence[x509.Certificate], policy: AlgorithmPolicy
) -> list[x509.Certificate]:
    """Client side of GetNextCACert: verify the reply and return the rollover certificates.

    The reply must be signed by one of ``signer_certificates`` (the current CA/RA from GetCACert).

    Raises:
        MalformedMessage: if it cannot be parsed.
        ScepFailure: BAD_MESSAGE_CHECK if it is not signed by a current CA/RA certificate or does not verify;
            BAD_ALG for a refused algorithm.
    """
    signed = parse_signed_data(der, extra_certificates=signer_certificates)
    if signed.signer_certificate not in signer_certificates:
        raise ScepFailure(
            FailInfo.BAD_MESSAGE_CHECK, "GetNextCACert reply is not signed by the current CA or RA"
        )
    verify_signed_content(signed, policy=policy)
    if not signed.econtent:
        raise MalformedMessage("GetNextCACert reply has no content")
    certificates, _ = parse_degenerate(signed.econtent)
    return certificates
