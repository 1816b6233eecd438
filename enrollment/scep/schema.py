"""ASN.1 schemas (asn1crypto) that SCEP needs and asn1crypto's ``cms`` module lacks or defines differently.

* ``SignedData`` always uses the CMS ``EncapsulatedContentInfo`` with an OCTET STRING eContent (asn1crypto
  switches to the PKCS#7 ``ContentInfo`` for version 1), and keeps the ``certificates`` in the order given:
  clients such as micromdm's scepclient take the first certificate of a CertRep as theirs, and asn1crypto's
  ``CertificateSet`` would DER-sort them. An IMPLICIT [0] tag hides the SET/SEQUENCE difference on the wire.
* Signed attributes are parsed generically (type + SET OF ANY) so that an odd value in one attribute
  cannot break the others; the SCEP attribute values are decoded by the caller.
* The EnvelopedData's encryptedContent is read as ANY and decoded by :func:`implicit_octet_string`, which
  also accepts a BER constructed string with a definite length (Go's pkcs7, used by micromdm's
  scepclient, sends that; asn1crypto's OctetString only accepts the indefinite-length constructed form).
* ``IssuerAndSubject`` (RFC 8894 §3.3.3) has no asn1crypto class.
"""

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509

__all__ = [
    "Attribute",
    "Attributes",
    "ContentInfo",
    "EncapsulatedContentInfo",
    "EncryptedContentInfo",
    "EnvelopedData",
    "IssuerAndSubject",
    "OctetStringSegments",
    "OrderedCertificates",
    "SignedData",
    "SignerInfo",
    "SignerInfos",
    "implicit_octet_string",
]


class Attribute(core.Sequence):  # type: ignore[misc]  # asn1crypto has no type hints
    _fields = [("type", core.ObjectIdentifier), ("values", cms.SetOfAny)]


class Attributes(core.SetOf):  # type: ignore[misc]  # asn1crypto has no type hints
    _child_spec = Attribute


class SignerInfo(core.Sequence):  # type: ignore[misc]  # asn1crypto has no type hints
    _fields = [
        ("version", cms.CMSVersion),
        ("sid", cms.SignerIdentifier),
        ("digest_algorithm", algos.DigestAlgorithm),
        ("signed_attrs", Attributes, {"implicit": 0, "optional": True}),
        ("signature_algorithm", algos.SignedDigestAlgorithm),
        ("signature", core.OctetString),
        ("unsigned_attrs", Attributes, {"implicit": 1, "optional": True}),
    ]


class SignerInfos(core.SetOf):  # type: ignore[misc]  # asn1crypto has no type hints
    _child_spec = SignerInfo


class OrderedCertificates(core.SequenceOf):  # type: ignore[misc]  # asn1crypto has no type hints
    _child_spec = cms.CertificateChoices


class EncapsulatedContentInfo(core.Sequence):  # type: ignore[misc]  # asn1crypto has no type hints
    _fields = [
        ("content_type", cms.ContentType),
        ("content", core.OctetString, {"explicit": 0, "optional": True}),
    ]


class SignedData(core.Sequence):  # type: ignore[misc]  # asn1crypto has no type hints
    _fields = [
        ("version", cms.CMSVersion),
        ("digest_algorithms", cms.DigestAlgorithms),
        ("encap_content_info", EncapsulatedContentInfo),
        ("certificates", OrderedCertificates, {"implicit": 0, "optional": True}),
        ("crls", cms.RevocationInfoChoices, {"implicit": 1, "optional": True}),
        ("signer_infos", SignerInfos),
    ]


class EncryptedContentInfo(core.Sequence):  # type: ignore[misc]  # asn1crypto has no type hints
    _fields = [
        ("content_type", cms.ContentType),
        ("content_encryption_algorithm", cms.EncryptionAlgorithm),
        # [0] IMPLICIT OCTET STRING, read with implicit_octet_string(): Go's pkcs7 (micromdm's scepclient)
        # sends it constructed with a definite length, which asn1crypto's OctetString refuses.
        ("encrypted_content", core.Any, {"optional": True}),
    ]


class EnvelopedData(core.Sequence):  # type: ignore[misc]  # asn1crypto has no type hints
    _fields = [
        ("version", cms.CMSVersion),
        ("originator_info", cms.OriginatorInfo, {"implicit": 0, "optional": True}),
        ("recipient_infos", cms.RecipientInfos),
        ("encrypted_content_info", EncryptedContentInfo),
        ("unprotected_attrs", cms.CMSAttributes, {"implicit": 1, "optional": True}),
    ]


class ContentInfo(core.Sequence):  # type: ignore[misc]  # asn1crypto has no type hints
    _fields = [
        ("content_type", cms.ContentType),
        ("content", core.Any, {"explicit": 0, "optional": True}),
    ]
    _oid_pair = ("content_type", "content")
    _oid_specs = {"signed_data": SignedData, "enveloped_data": EnvelopedData}


class OctetStringSegments(core.SequenceOf):  # type: ignore[misc]  # asn1crypto has no type hints
    """A BER constructed OCTET STRING with a definite length, read as its primitive segments."""

    _child_spec = core.OctetString


def implicit_octet_string(value: core.Any, tag: int) -> bytes:
    """The octets of a ``[tag] IMPLICIT OCTET STRING`` held in an ANY field, in any BER form.

    Primitive and indefinite-length constructed forms are what asn1crypto reads; a definite-length
    constructed form (X.690 §8.7.3) is read as its segments. Raises ValueError for anything else.
    """
    try:
        return bytes(value.parse(core.OctetString, spec_params={"implicit": tag}).native)
    except ValueError:
        segments = value.parse(OctetStringSegments, spec_params={"implicit": tag})
        return b"".join(bytes(segment.native) for segment in segments)


class IssuerAndSubject(core.Sequence):  # type: ignore[misc]  # asn1crypto has no type hints
    _fields = [("issuer", asn1_x509.Name), ("subject", asn1_x509.Name)]
