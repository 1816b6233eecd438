"""The bad-input matrix (issue 12, item 6): one row per hostile or broken request, one table.

Each row of ``CASES`` builds a request (valid, then broken the one way the row names), sends it through
the Django test client to the real SCEP view, and asserts:

* the exact answer: HTTP status and plain text, or a CertRep FAILURE (parsed and verified as a client does,
  signed by the RA, our nonce and transactionID echoed) with the exact failInfo and failInfoText;
* that nothing was issued: no new ``IssuedCertificate`` or ``CertificateRequest``, and nothing handed to
  the CA after commit;
* that the refusal was recorded where the design says so (docs/architecture.md): a 4020
  ScepMalformedRequest event for an HTTP refusal of a PKIOperation, a 4005 ScepVerifyFailure event with the
  failInfo for every CertRep FAILURE, and a ``ScepTransaction`` (what a retransmission is answered from)
  for a refused PKCSReq or RenewalReq once its request is bound.

``ELSEWHERE`` lists the rows whose exact assertions live in other tests (real processes, one-time
challenges of the profiles app, which this app may not import); ``test_referenced_tests_exist`` keeps the
references honest. docs/security.md's matrix is rendered from both tables:
``test_the_documented_matrix_is_this_table`` fails when they differ, and rewrites the section when run with
``CERTPORTAL_UPDATE_SECURITY_DOC=1``.
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from asn1crypto import cms, core
from asn1crypto import csr as asn1_csr
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from ca.models import CertificateRequest, IssuedCertificate
from ca.services.revocation import certificate_revoke
from ca.tests.fixtures import Pki
from enrollment import scep
from enrollment.choices import TransactionStatus
from enrollment.models import ScepService, ScepTransaction
from enrollment.scep import schema
from enrollment.scep.constants import (
    OID_MESSAGE_DIGEST,
    OID_MESSAGE_TYPE,
    OID_SENDER_NONCE,
    OID_SIGNING_TIME,
    OID_TRANSACTION_ID,
)
from enrollment.scep.envelope import DECRYPTION_FAILED, NOT_FOR_US
from enrollment.scep.message import scep_attributes
from enrollment.scep.signeddata import sign_signed_data
from enrollment.services.registration import scep_service_set_static_challenge
from enrollment.tests.fixtures import (
    STATIC_CHALLENGE,
    Device,
    ScepTester,
    Sent,
    assert_protocol_answer,
    name,
    weak_rsa_key,
)
from enrollment.views import NDES_ADMIN_TEXT, NO_OPERATION_TEXT
from eventlog.choices import EventId, EventLevel
from eventlog.models import ConnectorEvent

if TYPE_CHECKING:
    from django.test import Client

REPOSITORY = Path(__file__).resolve().parents[2]
SECURITY_DOC = REPOSITORY / "docs" / "security.md"
DOC_START = "<!-- bad-input-matrix: generated from enrollment/tests/test_bad_input_matrix.py -->"
DOC_END = "<!-- bad-input-matrix: end -->"

UPN = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")
SID_EXTENSION = x509.ObjectIdentifier("1.3.6.1.4.1.311.25.2")
ACCEPTED_TYPES = "(accepted: 17, 19, 20, 21, 22)"
SMALL_LIMIT = 2048  # CERTPORTAL_SCEP_MAX_MESSAGE_SIZE in the rows about the size limits


# --- what a row expects -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """HTTP 200, a CertRep FAILURE with ``fail_info`` and the failInfoText ``text`` (or a prefix of it)."""

    fail_info: scep.FailInfo
    text: str
    prefix: bool = False
    #: ``text`` is a regular expression the whole failInfoText matches (for serials and dates).
    regex: bool = False
    #: A ScepTransaction holds the refusal (PKCSReq/RenewalReq refused after its request was bound).
    transaction: bool = False

    def describe(self) -> str:
        stored = "; transaction stored" if self.transaction else ""
        return f"FAILURE {self.fail_info.name[0].lower()}{_camel(self.fail_info.name)[1:]}{stored}"


@dataclass(frozen=True)
class Http:
    """A plain-text HTTP answer: ``status`` and the body ``text`` (a prefix if ``prefix``)."""

    status: int
    text: str
    prefix: bool = False
    #: Recorded as a 4020 ScepMalformedRequest event (every refused PKIOperation is).
    event: bool = True
    #: The event's message, when it is not part of the answer's text.
    event_text: str | None = None

    def describe(self) -> str:
        return f"HTTP {self.status}" + ("; 4020 event" if self.event else "")


def _camel(upper: str) -> str:
    return "".join(part.capitalize() for part in upper.lower().split("_"))


# --- how a row builds its request ---------------------------------------------------------------------------


@dataclass
class Ctx:
    """What the builders work with: the strict default service's tester, the legacy one, keys, the PKI."""

    tester: ScepTester
    legacy: ScepTester
    keys: list[rsa.RSAPrivateKey]
    pki: Pki
    settings: Any
    client: Client
    enrol: Callable[..., IssuedCertificate]
    #: Run ``send`` and then what it scheduled on commit (the CA task), as a real commit would.
    committed: Callable[[Callable[[], Any]], None]

    @property
    def device(self) -> Device:
        return Device.create(self.keys[0])


@dataclass(frozen=True)
class Probe:
    """A request to send: a pkiMessage (``sent``, or ``der`` instead of its bytes), or a raw HTTP request."""

    sent: Sent | None = None
    der: bytes | None = None
    method: str = "POST"
    tester: ScepTester | None = None
    request: Callable[[Client], Any] | None = None


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    input: str
    expect: Failure | Http
    build: Callable[[Ctx], Probe] = field(repr=False)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", f"{self.id} {self.input}".lower()).strip("-")[:60]


@dataclass(frozen=True)
class Elsewhere:
    """A row whose exact assertions are in another test (``test``: path::function)."""

    id: str
    category: str
    input: str
    expected: str
    test: str


def pkcs(ctx: Ctx, **kwargs: Any) -> Probe:
    return Probe(ctx.tester.pkcs_req(ctx.device, **kwargs))


def pkcs_csr(csr: Callable[[Ctx], x509.CertificateSigningRequest | bytes]) -> Callable[[Ctx], Probe]:
    def build(ctx: Ctx) -> Probe:
        return Probe(ctx.tester.message(scep.MessageType.PKCS_REQ, csr(ctx), signer=ctx.device))

    return build


def with_challenge(challenge: str | None) -> Callable[[Ctx], Probe]:
    return pkcs_csr(lambda ctx: ctx.device.csr(challenge=challenge))


def with_sans(*names: x509.GeneralName) -> Callable[[Ctx], Probe]:
    return pkcs_csr(lambda ctx: ctx.device.csr(extensions=(x509.SubjectAlternativeName(list(names)),)))


def rewrite(der: bytes, change: Callable[[schema.SignedData], object]) -> bytes:
    """``der`` with ``change`` applied to its SignedData (the signature is not redone)."""
    content_info = schema.ContentInfo.load(der)
    change(content_info["content"])
    return bytes(content_info.dump(force=True))


def tampered(change: Callable[[schema.SignedData], object]) -> Callable[[Ctx], Probe]:
    def build(ctx: Ctx) -> Probe:
        sent = ctx.tester.pkcs_req(ctx.device)
        return Probe(sent, der=rewrite(sent.der, change))

    return build


def signer_info(change: Callable[[Any], object]) -> Callable[[schema.SignedData], None]:
    def apply(signed_data: schema.SignedData) -> None:
        change(signed_data["signer_infos"][0])

    return apply


def flip_signature(signer: Any) -> None:
    signature = bytearray(signer["signature"].native)
    signature[len(signature) // 2] ^= 0x01
    signer["signature"] = bytes(signature)


def digest_set(*oids: str) -> Callable[[schema.SignedData], None]:
    def apply(signed_data: schema.SignedData) -> None:
        signed_data["digest_algorithms"] = [{"algorithm": oid} for oid in oids]

    return apply


def without_attribute(oid: str) -> Callable[[schema.SignedData], None]:
    def apply(signed_data: schema.SignedData) -> None:
        signer = signed_data["signer_infos"][0]
        signer["signed_attrs"] = [a.copy() for a in signer["signed_attrs"] if a["type"].dotted != oid]

    return apply


def message_type(value: int | str) -> Callable[[Ctx], Probe]:
    """A PKCSReq-shaped message (a valid static challenge) under messageType ``value``."""

    def build(ctx: Ctx) -> Probe:
        return Probe(ctx.tester.message(value, ctx.device.csr(), signer=ctx.device))

    return build


def signed(
    ctx: Ctx,
    *,
    envelope: bytes | None,
    attributes: list[tuple[str, core.Asn1Value]] | None = None,
    message_type_value: int | str = 19,
    transaction_id: str = "matrix-hand-built",
    nonce: bytes = b"n" * 16,
    device: Device | None = None,
) -> Probe:
    """A pkiMessage signed over ``envelope`` (so a change to the envelope is not a signature failure)."""
    device = device or ctx.device
    der = sign_signed_data(
        econtent=envelope,
        attributes=attributes
        if attributes is not None
        else scep_attributes(
            message_type=message_type_value, transaction_id=transaction_id, sender_nonce=nonce
        ),
        signer_certificate=device.signer,
        signer_key=device.key,
        digest=scep.DigestAlgorithm.SHA256,
    )
    return Probe(Sent(der, transaction_id, nonce, device.signer, device.key, message_type_value))


def raw_attributes(
    *, transaction_id: core.Asn1Value, nonce: core.Asn1Value, kind: str = "19"
) -> list[tuple[str, core.Asn1Value]]:
    return [
        (OID_MESSAGE_TYPE, core.PrintableString(kind)),
        (OID_TRANSACTION_ID, transaction_id),
        (OID_SENDER_NONCE, nonce),
    ]


def envelope_of(
    ctx: Ctx, plaintext: bytes, cipher: scep.ContentCipher = scep.ContentCipher.AES128_CBC
) -> bytes:
    return scep.encrypt_envelope(plaintext, recipient_certificate=ctx.tester.ra_certificate, cipher=cipher)


def changed_envelope(change: Callable[[Any], None]) -> Callable[[Ctx], Probe]:
    """A PKCSReq whose EnvelopedData is changed by ``change`` and then signed (the signature verifies)."""

    def build(ctx: Ctx) -> Probe:
        content_info = cms.ContentInfo.load(envelope_of(ctx, ctx.device.csr().public_bytes(Encoding.DER)))
        change(content_info["content"])
        return signed(ctx, envelope=bytes(content_info.dump(force=True)))

    return build


def use_oaep(enveloped: Any) -> None:
    enveloped["recipient_infos"][0].chosen["key_encryption_algorithm"] = {"algorithm": "1.2.840.113549.1.1.7"}


def cut_ciphertext(enveloped: Any) -> None:
    content = enveloped["encrypted_content_info"]["encrypted_content"]
    enveloped["encrypted_content_info"]["encrypted_content"] = content.native[:-16]


def damage_padding(enveloped: Any) -> None:
    content = bytearray(enveloped["encrypted_content_info"]["encrypted_content"].native)
    content[-17] ^= 0x5A  # the last block's plaintext (its padding) changes through CBC
    enveloped["encrypted_content_info"]["encrypted_content"] = bytes(content)


def damage_wrapped_key(enveloped: Any) -> None:
    info = enveloped["recipient_infos"][0].chosen
    wrapped = bytearray(info["encrypted_key"].native)
    wrapped[5] ^= 0x01
    info["encrypted_key"] = bytes(wrapped)


def http(method: str, path: str, **kwargs: Any) -> Callable[[Ctx], Probe]:
    def build(ctx: Ctx) -> Probe:
        return Probe(request=lambda client: client.generic(method, path, **kwargs))

    return build


def get_message(message: str) -> Callable[[Ctx], Probe]:
    return http("GET", f"/scep/strict?operation=PKIOperation&message={message}")


def post_body(body: bytes) -> Callable[[Ctx], Probe]:
    return http(
        "POST", "/scep/strict?operation=PKIOperation", data=body, content_type="application/x-pki-message"
    )


def garbage_of_size(size: int) -> bytes:
    return b"\x30" * size


def csr_resigned(ctx: Ctx, change: Callable[[Any], None]) -> bytes:
    """The device's CSR with ``change`` applied to its asn1crypto structure (self-signature not redone)."""
    request = asn1_csr.CertificationRequest.load(ctx.device.csr().public_bytes(Encoding.DER))
    change(request)
    return bytes(request.dump(force=True))


def csr_flip_signature(request: Any) -> None:
    signature = bytearray(request["signature"].native)
    signature[10] ^= 0x01
    request["signature"] = bytes(signature)


def _key_signed_csr(key: Any, subject: x509.Name, algorithm: Any) -> x509.CertificateSigningRequest:
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject)
        .add_attribute(x509.oid.AttributeOID.CHALLENGE_PASSWORD, STATIC_CHALLENGE.encode())
        .sign(key, algorithm)
    )


def other_key_signer(key_factory: Callable[[], Any], algorithm: Any) -> Callable[[Ctx], Probe]:
    """A PKCSReq whose signer and CSR hold a key of another kind (EC, Ed25519)."""

    def build(ctx: Ctx) -> Probe:
        key = key_factory()
        subject = name("other-key")
        signer = scep.ScepIdentity(scep.self_signed_signer(key, subject), key)
        csr = _key_signed_csr(key, subject, algorithm)
        return Probe(ctx.tester.message(scep.MessageType.PKCS_REQ, csr, signer=signer))

    return build


def weak_key(ctx: Ctx) -> Probe:
    device = Device.create(weak_rsa_key(), "weak-key")
    return Probe(ctx.tester.pkcs_req(device))


def rsa_3072_csr_for_2048_signer(ctx: Ctx) -> Probe:
    """The CSR holds another key than the self-signed signer (RFC 8894 section 2.3)."""
    return Probe(ctx.tester.pkcs_req(ctx.device, Device.create(ctx.keys[1]).csr()))


def subject_csr(subject: x509.Name, challenge: str | None = STATIC_CHALLENGE) -> Callable[[Ctx], Probe]:
    return pkcs_csr(lambda ctx: ctx.device.csr(subject=subject, challenge=challenge))


def challenge_attribute(value: core.Asn1Value) -> Callable[[Ctx], Probe]:
    """A CSR whose challengePassword is ``value`` (another string type), signed properly."""

    def build(ctx: Ctx) -> Probe:
        request = asn1_csr.CertificationRequest.load(
            ctx.device.csr(challenge=None).public_bytes(Encoding.DER)
        )
        info = request["certification_request_info"]
        info["attributes"] = [{"type": "challenge_password", "values": [value]}]
        der = _resign_csr(request, ctx.device.key)
        return Probe(ctx.tester.message(scep.MessageType.PKCS_REQ, der, signer=ctx.device))

    return build


def _resign_csr(request: Any, key: rsa.RSAPrivateKey) -> bytes:
    info = request["certification_request_info"]
    tbs = info.dump(force=True)
    request["signature"] = key.sign(tbs, padding.PKCS1v15(), hashes.SHA256())
    return bytes(request.dump(force=True))


def other_service_challenge(ctx: Ctx) -> Probe:
    scep_service_set_static_challenge(service=ctx.legacy.service, challenge="legacy-only-challenge")
    return with_challenge("legacy-only-challenge")(ctx)


def template_without_subject_from_request(ctx: Ctx) -> Probe:
    ctx.pki.template.subject_supplied_in_request = False
    ctx.pki.template.save()
    return pkcs(ctx)


# --- renewal ------------------------------------------------------------------------------------------------


def renewal_by(ctx: Ctx, current: IssuedCertificate, *, subject: x509.Name | None = None) -> Probe:
    device = ctx.device
    return Probe(
        ctx.tester.message(
            scep.MessageType.RENEWAL_REQ,
            device.csr(challenge=None, subject=subject),
            signer=scep.ScepIdentity(current.certificate, device.key),
        )
    )


def renewal_revoked(ctx: Ctx) -> Probe:
    current = ctx.enrol(ctx.device)
    certificate_revoke(certificate_id=current.pk, reason="key_compromise")
    return renewal_by(ctx, current)


def renewal_expired(ctx: Ctx) -> Probe:
    current = ctx.enrol(ctx.device)
    IssuedCertificate.objects.filter(pk=current.pk).update(
        not_after=dt.datetime.now(tz=dt.UTC) - dt.timedelta(days=1)
    )
    return renewal_by(ctx, current)


def renewal_foreign(ctx: Ctx) -> Probe:
    device = ctx.device
    ctx.enrol(device)
    now = dt.datetime.now(tz=dt.UTC)
    foreign = (
        x509.CertificateBuilder()
        .subject_name(device.subject)
        .issuer_name(name("Foreign CA"))
        .public_key(device.key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(ctx.keys[3], hashes.SHA256())
    )
    return Probe(
        ctx.tester.message(
            scep.MessageType.RENEWAL_REQ,
            device.csr(challenge=None),
            signer=scep.ScepIdentity(foreign, device.key),
        )
    )


def renewal_self_signed(ctx: Ctx) -> Probe:
    device = ctx.device
    return Probe(ctx.tester.message(scep.MessageType.RENEWAL_REQ, device.csr(challenge=None), signer=device))


def renewal_superseded(ctx: Ctx) -> Probe:
    """The certificate was renewed already: renewing it again (another CSR) would mint a second live one."""
    device = ctx.device
    current = ctx.enrol(device)
    ctx.settings.CERTPORTAL_SCEP_ISSUE_WAIT = 0
    first = Probe(
        ctx.tester.message(
            scep.MessageType.RENEWAL_REQ,
            Device.create(ctx.keys[1]).csr(challenge=None, subject=device.subject),
            signer=scep.ScepIdentity(current.certificate, device.key),
        )
    )
    assert first.sent is not None
    sent = first.sent
    ctx.committed(lambda: ctx.tester.exchange(sent))
    assert ctx.tester.exchange(sent).status is scep.PkiStatus.SUCCESS
    return renewal_by(ctx, current)


def renewal_other_subject(ctx: Ctx) -> Probe:
    return renewal_by(ctx, ctx.enrol(ctx.device), subject=name("somebody-else"))


def renewal_disabled(ctx: Ctx) -> Probe:
    current = ctx.enrol(ctx.device)
    ScepService.objects.filter(pk=ctx.tester.service.pk).update(allow_renewal=False)
    ctx.tester.service.refresh_from_db()
    return renewal_by(ctx, current)


def renewal_too_early(ctx: Ctx) -> Probe:
    current = ctx.enrol(ctx.device)
    ScepService.objects.filter(pk=ctx.tester.service.pk).update(renewal_window_days=30)
    return renewal_by(ctx, current)


def renewal_other_service_ca(ctx: Ctx) -> Probe:
    """Signed by a certificate of our root CA, not of the service's issuing CA."""
    device = ctx.device
    ctx.enrol(device)
    issued = ctx.enrol(Device.create(ctx.keys[2], "device-3"))
    IssuedCertificate.objects.filter(pk=issued.pk).update(authority=ctx.pki.root)
    return Probe(
        ctx.tester.message(
            scep.MessageType.RENEWAL_REQ,
            Device.create(ctx.keys[2], "device-3").csr(challenge=None),
            signer=scep.ScepIdentity(issued.certificate, ctx.keys[2]),
        )
    )


# --- CertPoll, GetCert, GetCRL, transactions ----------------------------------------------------------------


def poll(ctx: Ctx, transaction_id: str, *, signer: Device | None = None) -> Probe:
    device = ctx.device
    return Probe(
        ctx.tester.message(
            scep.MessageType.CERT_POLL,
            scep.build_issuer_and_subject(ctx.pki.issuing.certificate.subject, device.subject),
            signer=signer or device,
            transaction_id=transaction_id,
        )
    )


def pending(ctx: Ctx) -> Sent:
    ctx.pki.template.requires_approval = True
    ctx.pki.template.save()
    sent = ctx.tester.pkcs_req(ctx.device)
    assert ctx.tester.exchange(sent).status is scep.PkiStatus.PENDING
    return sent


def poll_hijack(ctx: Ctx) -> Probe:
    sent = pending(ctx)
    return poll(ctx, sent.transaction_id, signer=Device.create(ctx.keys[1]))


def same_tid_other_csr_while_pending(ctx: Ctx) -> Probe:
    sent = pending(ctx)
    csr = ctx.device.csr(subject=name("device-1-other"))
    return Probe(ctx.tester.pkcs_req(ctx.device, csr, transaction_id=sent.transaction_id))


def same_tid_other_signer(ctx: Ctx) -> Probe:
    sent = pending(ctx)
    thief = Device.create(ctx.keys[1])
    return Probe(ctx.tester.pkcs_req(thief, transaction_id=sent.transaction_id))


def get_cert(issuer: Callable[[Ctx], x509.Name], serial: Callable[[Ctx], int]) -> Callable[[Ctx], Probe]:
    def build(ctx: Ctx) -> Probe:
        data = scep.build_issuer_and_serial(issuer(ctx), serial(ctx))
        return Probe(ctx.tester.message(scep.MessageType.GET_CERT, data, signer=Device.create(ctx.keys[1])))

    return build


def issued_serial(ctx: Ctx) -> int:
    return ctx.enrol(ctx.device).serial_int + 1


def get_crl_unknown_issuer(ctx: Ctx) -> Probe:
    data = scep.build_issuer_and_serial(name("Unknown CA"), 1)
    return Probe(ctx.tester.message(scep.MessageType.GET_CRL, data, signer=ctx.device))


# --- oversize -----------------------------------------------------------------------------------------------


def many_attributes(count: int) -> Callable[[Ctx], Probe]:
    def build(ctx: Ctx) -> Probe:
        sent = ctx.tester.pkcs_req(ctx.device)

        def add(signed_data: schema.SignedData) -> None:
            signer = signed_data["signer_infos"][0]
            extra = b"".join(
                schema.Attribute({"type": f"1.3.6.1.4.1.99999.{i}", "values": [core.Null()]}).dump()
                for i in range(count)
            )
            signer["signed_attrs"] = schema.Attributes(contents=signer["signed_attrs"].contents + extra)

        return Probe(sent, der=rewrite(sent.der, add))

    return build


def many_certificates(ctx: Ctx) -> Probe:
    sent = ctx.tester.pkcs_req(ctx.device)

    def add(signed_data: schema.SignedData) -> None:
        signed_data["certificates"] = [signed_data["certificates"][0].copy() for _ in range(40)]

    return Probe(sent, der=rewrite(sent.der, add))


def two_signers(signed_data: schema.SignedData) -> None:
    signer = signed_data["signer_infos"][0]
    signed_data["signer_infos"] = [signer.copy(), signer.copy()]


def long_get(ctx: Ctx) -> Probe:
    message = base64.b64encode(garbage_of_size(SMALL_LIMIT + 64)).decode("ascii")
    return get_message(message.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D"))(ctx)


def get_decoded_over_limit(ctx: Ctx) -> Probe:
    """Under the 414 bound (4/3 of the limit + 4 characters) but decoding to more than the limit."""
    message = base64.b64encode(garbage_of_size(SMALL_LIMIT + 2)).decode("ascii").rstrip("=")
    assert len(message) <= SMALL_LIMIT * 4 // 3 + 4
    return get_message(message.replace("+", "%2B").replace("/", "%2F"))(ctx)


def nested(depth: int) -> bytes:
    inner = b""
    for _ in range(depth):
        length = len(inner)
        if length < 0x80:
            header = bytes([0x30, length])
        else:
            size = (length.bit_length() + 7) // 8
            header = bytes([0x30, 0x80 | size]) + length.to_bytes(size, "big")
        inner = header + inner
    return inner


def disabled_service(ctx: Ctx) -> Probe:
    ScepService.objects.filter(slug="legacy").update(enabled=False)
    return http("GET", "/scep/legacy?operation=GetCACaps")(ctx)


def malformed(text: str, *, prefix: bool = False) -> Http:
    return Http(400, f"malformed SCEP message: {text}", prefix=prefix)


def refused(
    fail_info: scep.FailInfo,
    text: str,
    *,
    prefix: bool = False,
    regex: bool = False,
    transaction: bool = False,
) -> Failure:
    return Failure(fail_info, text, prefix=prefix, regex=regex, transaction=transaction)


BAD_REQUEST = scep.FailInfo.BAD_REQUEST
BAD_ALG = scep.FailInfo.BAD_ALG
BAD_MESSAGE_CHECK = scep.FailInfo.BAD_MESSAGE_CHECK
BAD_TIME = scep.FailInfo.BAD_TIME
BAD_CERT_ID = scep.FailInfo.BAD_CERT_ID

HTTP = "HTTP"
LIMITS = "size limits"
CMS = "CMS SignedData"
DIGESTS = "digestAlgorithms"
TYPES = "messageType allow-list"
ENVELOPE = "pkcsPKIEnvelope"
CSR = "PKCS#10"
CHALLENGE = "challenge"
RENEWAL = "renewal"
QUERIES = "CertPoll, GetCert, GetCRL, transactions"

BAD_TIME_TEXT = r"signingTime \S+ is more than 1 day, 0:00:00 away from the server's clock"
NOT_A_REQUEST = "is not a request this server accepts " + ACCEPTED_TYPES


def _digest_tag_changed(ctx: Ctx) -> Probe:
    """digestAlgorithms' AlgorithmIdentifier SEQUENCE tag changed to OCTET STRING (same length)."""
    sent = ctx.tester.pkcs_req(ctx.device)
    identifier = schema.ContentInfo.load(sent.der)["content"]["digest_algorithms"][0].dump()
    start = sent.der.index(bytes([0x31, len(identifier)]) + identifier)
    der = bytearray(sent.der)
    der[start + 2] = 0x04
    return Probe(sent, der=bytes(der))


def type_case(number: int, value: int | str, label: str) -> Case:
    return Case(
        f"T-{number:02d}",
        TYPES,
        f"messageType {value!r} ({label}), valid challenge",
        refused(BAD_REQUEST, f"messageType {str(value)!r} {NOT_A_REQUEST}"),
        message_type(value),
    )


_REGISTRY_GAPS = [
    (0, "unassigned"),
    (1, "unassigned"),
    (2, "unassigned"),
    (3, "CertRep sent to the server"),
    *((value, "unassigned") for value in range(4, 17)),
    (18, "UpdateReq of old drafts"),
    (23, "unassigned"),
    (99, "unassigned"),
    (255, "unassigned"),
]
_ODD_TYPES = [
    ("abc", "not a number"),
    ("", "empty"),
    ("019", "leading zero"),
    ("+19", "sign"),
    ("-19", "negative"),
    ("19.0", "decimal"),
    (" 19", "leading space"),
]

CASES: list[Case] = [
    # --- HTTP -----------------------------------------------------------------------------------------------
    Case(
        "H-01", HTTP, "no operation", Http(403, NO_OPERATION_TEXT, event=False), http("GET", "/scep/strict")
    ),
    Case(
        "H-02",
        HTTP,
        "operation=Bogus",
        Http(400, "unknown operation 'Bogus'", event=False),
        http("GET", "/scep/strict?operation=Bogus"),
    ),
    Case(
        "H-02b",
        HTTP,
        "operation= (empty)",
        Http(400, "unknown operation ''", event=False),
        http("GET", "/scep/strict?operation="),
    ),
    Case(
        "H-08",
        HTTP,
        "GetNextCACert with no rollover configured",
        Http(
            404,
            "no CA rollover is configured for this SCEP service (GetNextCACert is not advertised)",
            event=False,
        ),
        http("GET", "/scep/strict?operation=GetNextCACert"),
    ),
    Case(
        "H-10",
        HTTP,
        "POST PKIOperation, empty body",
        Http(400, "empty PKIOperation body"),
        post_body(b""),
    ),
    Case(
        "H-10b",
        HTTP,
        "POST of operation=GetCACaps",
        Http(400, "POST is for operation=PKIOperation only", event=False),
        http("POST", "/scep/strict?operation=GetCACaps", data=b"x", content_type="text/plain"),
    ),
    Case(
        "H-12",
        HTTP,
        "GET message=!!! (not base64)",
        Http(400, "the message parameter is not base64: ", prefix=True),
        get_message("!!!"),
    ),
    Case(
        "H-12b",
        HTTP,
        "GET PKIOperation without a message",
        Http(400, "PKIOperation by GET needs a message parameter"),
        http("GET", "/scep/strict?operation=PKIOperation"),
    ),
    Case(
        "H-17",
        HTTP,
        "PUT PKIOperation",
        Http(405, "method PUT not allowed; use GET or POST", event=False),
        http("PUT", "/scep/strict?operation=PKIOperation", data=b"x"),
    ),
    Case(
        "H-17b",
        HTTP,
        "DELETE",
        Http(405, "method DELETE not allowed; use GET or POST", event=False),
        http("DELETE", "/scep/strict?operation=GetCACaps"),
    ),
    Case(
        "H-17c",
        HTTP,
        "PATCH",
        Http(405, "method PATCH not allowed; use GET or POST", event=False),
        http("PATCH", "/scep/strict?operation=PKIOperation", data=b"x"),
    ),
    Case(
        "H-17d",
        HTTP,
        "OPTIONS",
        Http(405, "method OPTIONS not allowed; use GET or POST", event=False),
        http("OPTIONS", "/scep/strict?operation=GetCACaps"),
    ),
    Case(
        "H-20",
        HTTP,
        "unknown SCEP service /scep/nope",
        Http(404, "no SCEP service 'nope'", event=False),
        http("GET", "/scep/nope?operation=GetCACaps"),
    ),
    Case(
        "H-21",
        HTTP,
        "disabled SCEP service",
        Http(404, "no SCEP service 'legacy'", event=False),
        disabled_service,
    ),
    Case(
        "H-22",
        HTTP,
        "/certsrv/mscep_admin/ (NDES challenge page)",
        Http(404, NDES_ADMIN_TEXT, event=False),
        http("GET", "/certsrv/mscep_admin/"),
    ),
    Case(
        "H-22b",
        HTTP,
        "POST /certsrv/mscep_admin/",
        Http(404, NDES_ADMIN_TEXT, event=False),
        http("POST", "/certsrv/mscep_admin/", data=b"x", content_type="text/plain"),
    ),
    # --- size limits ----------------------------------------------------------------------------------------
    Case(
        "H-11",
        LIMITS,
        f"POST body of limit + 1 bytes (limit {SMALL_LIMIT})",
        Http(413, f"body of {SMALL_LIMIT + 1} bytes is over the limit of {SMALL_LIMIT} bytes"),
        post_body(garbage_of_size(SMALL_LIMIT + 1)),
        {"CERTPORTAL_SCEP_MAX_MESSAGE_SIZE": SMALL_LIMIT},
    ),
    Case(
        "H-11b",
        LIMITS,
        "POST body of exactly the limit (garbage)",
        malformed("not a valid CMS SignedData: ", prefix=True),
        post_body(garbage_of_size(SMALL_LIMIT)),
        {"CERTPORTAL_SCEP_MAX_MESSAGE_SIZE": SMALL_LIMIT},
    ),
    Case(
        "H-11c",
        LIMITS,
        "POST body of the default limit (256 KiB) + 1",
        Http(413, "body of 262145 bytes is over the limit of 262144 bytes"),
        post_body(garbage_of_size(256 * 1024 + 1)),
    ),
    Case(
        "H-11d",
        LIMITS,
        "chunked POST without Content-Length",
        Http(
            411,
            "Content-Length required: send the PKIOperation body with its length",
            event_text="PKIOperation POST without Content-Length",
        ),
        http(
            "POST",
            "/scep/strict?operation=PKIOperation",
            data=garbage_of_size(4096),
            content_type="application/x-pki-message",
            CONTENT_LENGTH="",
            HTTP_TRANSFER_ENCODING="chunked",
        ),
    ),
    Case(
        "H-11e",
        LIMITS,
        "GET message longer than 4/3 of the limit",
        Http(414, f"message parameter longer than the limit of {SMALL_LIMIT} bytes (decoded); use POST"),
        long_get,
        {"CERTPORTAL_SCEP_MAX_MESSAGE_SIZE": SMALL_LIMIT},
    ),
    Case(
        "H-11f",
        LIMITS,
        "GET message under the 414 bound, decoding to limit + 2 bytes",
        Http(413, f"message is {SMALL_LIMIT + 2} bytes, more than the limit of {SMALL_LIMIT} bytes"),
        get_decoded_over_limit,
        {"CERTPORTAL_SCEP_MAX_MESSAGE_SIZE": SMALL_LIMIT},
    ),
    Case(
        "C-23",
        LIMITS,
        "12,000 signed attributes",
        malformed("SignerInfo has more than 64 signed attributes"),
        many_attributes(12_000),
    ),
    Case(
        "C-23b",
        LIMITS,
        "40 certificates in the SignedData",
        malformed("SignedData has more than 32 certificates"),
        many_certificates,
    ),
    Case(
        "C-23c",
        LIMITS,
        "SEQUENCE nested 30,000 deep",
        malformed("not a valid CMS SignedData: ", prefix=True),
        post_body(nested(30_000)),
    ),
    Case(
        "C-23d",
        LIMITS,
        "indefinite-length BER, 50,000 levels",
        malformed("not a valid CMS SignedData: ", prefix=True),
        post_body(b"\x30\x80" * 50_000),
    ),
    Case(
        "C-23e",
        LIMITS,
        "length field of 4 GiB",
        malformed("not a valid CMS SignedData: ", prefix=True),
        post_body(b"\x30\x84\xff\xff\xff\xff"),
    ),
    # --- CMS ------------------------------------------------------------------------------------------------
    Case(
        "C-01",
        CMS,
        "GET base64 of 'hello' (not DER)",
        malformed("not a valid CMS SignedData: ", prefix=True),
        get_message(base64.b64encode(b"hello").decode()),
    ),
    Case(
        "C-01b",
        CMS,
        "POST an HTTP request as the body",
        malformed("not a valid CMS SignedData: ", prefix=True),
        post_body(b"GET / HTTP/1.0\r\n\r\n" * 10),
    ),
    Case(
        "C-02",
        CMS,
        "an EnvelopedData at top level",
        malformed("not a CMS SignedData (content type 1.2.840.113549.1.7.3)"),
        lambda ctx: post_body(envelope_of(ctx, b"x"))(ctx),
    ),
    Case(
        "C-02b",
        CMS,
        "a bare certificate",
        malformed("not a valid CMS SignedData: ", prefix=True),
        lambda ctx: post_body(ctx.device.signer.public_bytes(Encoding.DER))(ctx),
    ),
    Case(
        "C-03",
        CMS,
        "SignedData with 0 signerInfos (degenerate)",
        malformed("SignedData must have exactly one SignerInfo, it has 0"),
        lambda ctx: post_body(scep.build_degenerate([ctx.tester.ra_certificate]))(ctx),
    ),
    Case(
        "C-04",
        CMS,
        "SignedData with 2 signerInfos",
        malformed("SignedData must have exactly one SignerInfo, it has 2"),
        tampered(two_signers),
    ),
    Case(
        "C-05",
        CMS,
        "signer certificate missing",
        malformed("the signer's certificate is not included in the SignedData"),
        tampered(lambda sd: sd.__setitem__("certificates", [])),
    ),
    Case(
        "C-05b",
        CMS,
        "certificates hold only someone else's certificate",
        malformed("the signer's certificate is not included in the SignedData"),
        lambda ctx: tampered(
            lambda sd: sd.__setitem__(
                "certificates",
                [
                    schema.ContentInfo.load(scep.build_degenerate([ctx.tester.ra_certificate]))["content"][
                        "certificates"
                    ][0].copy()
                ],
            )
        )(ctx),
    ),
    Case(
        "C-06",
        CMS,
        "one bit of the signature flipped",
        refused(BAD_MESSAGE_CHECK, "the signature does not verify with the signer certificate's key"),
        tampered(signer_info(flip_signature)),
    ),
    Case(
        "C-07",
        CMS,
        "messageDigest does not match the content",
        refused(BAD_MESSAGE_CHECK, "messageDigest attribute does not match the content"),
        lambda ctx: tampered(
            lambda sd: sd["encap_content_info"].__setitem__(
                "content",
                schema.ContentInfo.load(ctx.tester.pkcs_req(ctx.device).der)["content"]["encap_content_info"][
                    "content"
                ].native,
            )
        )(ctx),
    ),
    Case(
        "C-07b",
        CMS,
        "messageDigest attribute removed",
        refused(BAD_MESSAGE_CHECK, "signed attributes lack contentType or messageDigest"),
        tampered(without_attribute(OID_MESSAGE_DIGEST)),
    ),
    Case(
        "C-08",
        CMS,
        "signer digest MD5",
        refused(BAD_ALG, "digest algorithm MD5 (1.2.840.113549.2.5) is never accepted"),
        tampered(signer_info(lambda s: s["digest_algorithm"].__setitem__("algorithm", "md5"))),
    ),
    Case(
        "C-08b",
        CMS,
        "signer digest an unknown OID",
        refused(BAD_ALG, "digest algorithm 1.3.6.1.4.1.99999.1 is not supported by this CA"),
        tampered(
            signer_info(lambda s: s["digest_algorithm"].__setitem__("algorithm", "1.3.6.1.4.1.99999.1"))
        ),
    ),
    Case(
        "C-08c",
        CMS,
        "signature algorithm an unknown OID",
        refused(BAD_ALG, "signature algorithm 1.3.6.1.4.1.99999.2 is not supported"),
        tampered(
            signer_info(lambda s: s["signature_algorithm"].__setitem__("algorithm", "1.3.6.1.4.1.99999.2"))
        ),
    ),
    Case(
        "C-09",
        CMS,
        "SHA-1 signature, legacy algorithms off",
        refused(
            BAD_ALG,
            "digest algorithm SHA-1 (1.3.14.3.2.26) is a legacy algorithm and legacy algorithms are disabled "
            "for this CA; use SHA-256",
        ),
        lambda ctx: pkcs(ctx, digest=scep.DigestAlgorithm.SHA1),
    ),
    Case(
        "C-10",
        CMS,
        "transactionID missing",
        malformed("transactionID attribute is missing"),
        tampered(without_attribute(OID_TRANSACTION_ID)),
    ),
    Case(
        "C-10b",
        CMS,
        "messageType missing",
        malformed("messageType attribute is missing"),
        tampered(without_attribute(OID_MESSAGE_TYPE)),
    ),
    Case(
        "C-10c",
        CMS,
        "senderNonce missing",
        malformed("senderNonce attribute is missing"),
        tampered(without_attribute(OID_SENDER_NONCE)),
    ),
    Case(
        "C-10d",
        CMS,
        "no signed attributes at all",
        malformed("the SignerInfo has no signed attributes"),
        tampered(signer_info(lambda s: s.__setitem__("signed_attrs", None))),
    ),
    Case(
        "C-13",
        CMS,
        "transactionID as a BMPString",
        malformed("transactionID must be a PrintableString"),
        lambda ctx: signed(
            ctx,
            envelope=envelope_of(ctx, ctx.device.csr().public_bytes(Encoding.DER)),
            attributes=raw_attributes(
                transaction_id=core.BMPString("bmp"), nonce=core.OctetString(b"n" * 16)
            ),
            transaction_id="bmp",
        ),
    ),
    Case(
        "C-14",
        CMS,
        "transactionID of 10,000 characters",
        malformed("transactionID must be 1 to 128 characters"),
        lambda ctx: signed(
            ctx,
            envelope=envelope_of(ctx, ctx.device.csr().public_bytes(Encoding.DER)),
            attributes=raw_attributes(
                transaction_id=core.PrintableString("T" * 10_000), nonce=core.OctetString(b"n" * 16)
            ),
        ),
    ),
    Case(
        "C-14b",
        CMS,
        "transactionID of 129 characters",
        malformed("transactionID must be 1 to 128 characters"),
        lambda ctx: signed(
            ctx,
            envelope=envelope_of(ctx, ctx.device.csr().public_bytes(Encoding.DER)),
            attributes=raw_attributes(
                transaction_id=core.PrintableString("T" * 129), nonce=core.OctetString(b"n" * 16)
            ),
        ),
    ),
    Case(
        "C-14c",
        CMS,
        "transactionID with control characters",
        malformed("transactionID must be printable ASCII"),
        lambda ctx: signed(
            ctx,
            envelope=envelope_of(ctx, ctx.device.csr().public_bytes(Encoding.DER)),
            attributes=raw_attributes(
                transaction_id=core.UTF8String("evil\x1b[31m\x00"), nonce=core.OctetString(b"n" * 16)
            ),
        ),
    ),
    Case(
        "C-15",
        CMS,
        "senderNonce of 0 bytes",
        malformed("senderNonce must be 8 to 32 bytes, not 0"),
        lambda ctx: signed(ctx, envelope=envelope_of(ctx, b"x"), nonce=b""),
    ),
    Case(
        "C-15b",
        CMS,
        "senderNonce of 7 bytes",
        malformed("senderNonce must be 8 to 32 bytes, not 7"),
        lambda ctx: signed(ctx, envelope=envelope_of(ctx, b"x"), nonce=b"n" * 7),
    ),
    Case(
        "C-15c",
        CMS,
        "senderNonce of 1000 bytes",
        malformed("senderNonce must be 8 to 32 bytes, not 1000"),
        lambda ctx: signed(ctx, envelope=envelope_of(ctx, b"x"), nonce=b"n" * 1000),
    ),
    Case(
        "C-16",
        CMS,
        "signingTime 2 days ahead",
        refused(BAD_TIME, BAD_TIME_TEXT, regex=True),
        lambda ctx: pkcs(ctx, signing_time=dt.datetime.now(tz=dt.UTC) + dt.timedelta(days=2)),
    ),
    Case(
        "C-16b",
        CMS,
        "signingTime 2 days behind",
        refused(BAD_TIME, BAD_TIME_TEXT, regex=True),
        lambda ctx: pkcs(ctx, signing_time=dt.datetime.now(tz=dt.UTC) - dt.timedelta(days=2)),
    ),
    Case(
        "C-16c",
        CMS,
        "signingTime attribute twice",
        malformed("signed attribute 1.2.840.113549.1.9.5 appears more than once"),
        lambda ctx: signed(
            ctx,
            envelope=envelope_of(ctx, b"x"),
            attributes=[
                *scep_attributes(message_type=19, transaction_id="matrix-hand-built", sender_nonce=b"n" * 16),
                (OID_SIGNING_TIME, core.OctetString(b"yesterday")),
            ],
        ),
    ),
    Case(
        "C-26",
        CMS,
        "signer certificate with an EC key",
        refused(BAD_ALG, "the signer certificate needs an RSA key: the reply is encrypted to it"),
        other_key_signer(lambda: ec.generate_private_key(ec.SECP256R1()), hashes.SHA256()),
    ),
    Case(
        "C-26b",
        CMS,
        "RSA signer, CSR with an EC P-256 key",
        refused(BAD_REQUEST, "the certificate request's key is not the key that signed the message"),
        pkcs_csr(
            lambda ctx: _key_signed_csr(ec.generate_private_key(ec.SECP256R1()), name("ec"), hashes.SHA256())
        ),
    ),
    # --- digestAlgorithms -----------------------------------------------------------------------------------
    Case(
        "D-01",
        DIGESTS,
        "digestAlgorithms {SHA-512}, signer SHA-256",
        refused(
            BAD_MESSAGE_CHECK,
            "the signer's digest algorithm SHA-256 is not among SignedData.digestAlgorithms",
        ),
        tampered(digest_set(scep.DigestAlgorithm.SHA512.oid)),
    ),
    Case(
        "D-02",
        DIGESTS,
        "digestAlgorithms empty",
        refused(
            BAD_MESSAGE_CHECK,
            "the signer's digest algorithm SHA-256 is not among SignedData.digestAlgorithms",
        ),
        tampered(digest_set()),
    ),
    Case(
        "D-03",
        DIGESTS,
        "digestAlgorithms {SHA-256, unknown OID}",
        refused(
            BAD_MESSAGE_CHECK,
            "SignedData.digestAlgorithms lists 1.3.6.1.4.1.99999.7, which is not a known digest algorithm",
        ),
        tampered(digest_set(scep.DigestAlgorithm.SHA256.oid, "1.3.6.1.4.1.99999.7")),
    ),
    Case(
        "D-04",
        DIGESTS,
        "digestAlgorithms {MD5}",
        refused(
            BAD_MESSAGE_CHECK,
            "the signer's digest algorithm SHA-256 is not among SignedData.digestAlgorithms",
        ),
        tampered(digest_set("1.2.840.113549.2.5")),
    ),
    Case(
        "D-05",
        DIGESTS,
        "digestAlgorithms of 20 entries",
        malformed("SignedData lists more than 8 digest algorithms"),
        tampered(digest_set(*[scep.DigestAlgorithm.SHA256.oid] * 20)),
    ),
    Case(
        "D-06",
        DIGESTS,
        "digestAlgorithms entry not an AlgorithmIdentifier",
        malformed(
            "not a valid CMS SignedData: Error parsing asn1crypto.algos.DigestAlgorithm - method should "
            "have been constructed, but primitive was found"
        ),
        _digest_tag_changed,
    ),
    # --- messageType ----------------------------------------------------------------------------------------
    *(type_case(index + 1, value, label) for index, (value, label) in enumerate(_REGISTRY_GAPS)),
    *(
        type_case(len(_REGISTRY_GAPS) + index + 1, value, label)
        for index, (value, label) in enumerate(_ODD_TYPES)
    ),
    Case(
        "T-40",
        TYPES,
        "messageType of 17 characters",
        malformed("messageType is longer than 16 characters"),
        message_type("1" * 17),
    ),
    # --- pkcsPKIEnvelope ------------------------------------------------------------------------------------
    Case(
        "C-17",
        ENVELOPE,
        "envelope encrypted to a foreign certificate",
        refused(BAD_MESSAGE_CHECK, NOT_FOR_US),
        lambda ctx: pkcs(ctx, recipient=scep.self_signed_signer(ctx.keys[2], name("Foreign RA"))),
    ),
    Case(
        "C-17b",
        ENVELOPE,
        "envelope encrypted to the issuing CA, not the RA",
        refused(BAD_MESSAGE_CHECK, NOT_FOR_US),
        lambda ctx: pkcs(ctx, recipient=ctx.pki.issuing.certificate),
    ),
    Case(
        "C-18",
        ENVELOPE,
        "DES-CBC envelope",
        refused(
            BAD_ALG,
            "content encryption algorithm DES-CBC (1.3.14.3.2.7) is a legacy algorithm and legacy "
            "algorithms are disabled for this CA; use AES",
        ),
        lambda ctx: pkcs(ctx, cipher=scep.ContentCipher.DES_CBC),
    ),
    Case(
        "C-19",
        ENVELOPE,
        "3DES envelope, legacy algorithms off",
        refused(
            BAD_ALG,
            "content encryption algorithm 3DES-CBC (1.2.840.113549.3.7) is a legacy algorithm and legacy "
            "algorithms are disabled for this CA; use AES",
        ),
        lambda ctx: pkcs(ctx, cipher=scep.ContentCipher.DES3_CBC),
    ),
    Case(
        "C-21",
        ENVELOPE,
        "RSA-OAEP key transport",
        refused(BAD_ALG, "RSA-OAEP key transport is not supported; use RSA PKCS#1 v1.5 (rsaEncryption)"),
        changed_envelope(use_oaep),
    ),
    Case(
        "C-22",
        ENVELOPE,
        "ciphertext cut by one block",
        refused(BAD_MESSAGE_CHECK, DECRYPTION_FAILED),
        changed_envelope(cut_ciphertext),
    ),
    Case(
        "C-22b",
        ENVELOPE,
        "bad CBC padding",
        refused(BAD_MESSAGE_CHECK, DECRYPTION_FAILED),
        changed_envelope(damage_padding),
    ),
    Case(
        "C-22c",
        ENVELOPE,
        "wrapped content key damaged",
        refused(BAD_MESSAGE_CHECK, DECRYPTION_FAILED),
        changed_envelope(damage_wrapped_key),
    ),
    Case(
        "C-24",
        ENVELOPE,
        "PKCSReq without a pkcsPKIEnvelope",
        refused(BAD_REQUEST, "the message has no pkcsPKIEnvelope"),
        lambda ctx: signed(ctx, envelope=None, transaction_id="no-envelope"),
    ),
    Case(
        "C-24b",
        ENVELOPE,
        "envelope content that is not an EnvelopedData",
        refused(BAD_REQUEST, "the pkcsPKIEnvelope is not a valid CMS EnvelopedData: ", prefix=True),
        lambda ctx: signed(ctx, envelope=b"\x04\x05hello"),
    ),
    # --- PKCS#10 --------------------------------------------------------------------------------------------
    Case(
        "P-01",
        CSR,
        "PKCSReq whose content is not a PKCS#10",
        refused(BAD_MESSAGE_CHECK, DECRYPTION_FAILED),
        pkcs_csr(lambda ctx: b"\x04\x05hello"),
    ),
    Case(
        "P-01b",
        CSR,
        "RenewalReq whose content is not a PKCS#10",
        refused(BAD_MESSAGE_CHECK, DECRYPTION_FAILED),
        lambda ctx: Probe(
            ctx.tester.message(scep.MessageType.RENEWAL_REQ, b"\x04\x05hello", signer=ctx.device)
        ),
    ),
    Case(
        "P-01c",
        CSR,
        "CertPoll whose content is not an IssuerAndSubject",
        refused(BAD_MESSAGE_CHECK, DECRYPTION_FAILED),
        lambda ctx: Probe(
            ctx.tester.message(scep.MessageType.CERT_POLL, b"\x04\x05hello", signer=ctx.device)
        ),
    ),
    Case(
        "P-01d",
        CSR,
        "GetCert whose content is not an IssuerAndSerialNumber",
        refused(BAD_MESSAGE_CHECK, DECRYPTION_FAILED),
        lambda ctx: Probe(ctx.tester.message(scep.MessageType.GET_CERT, b"\x04\x05hello", signer=ctx.device)),
    ),
    Case(
        "P-02",
        CSR,
        "CSR self-signature invalid",
        refused(BAD_MESSAGE_CHECK, "the certificate request's self-signature is invalid"),
        pkcs_csr(lambda ctx: csr_resigned(ctx, csr_flip_signature)),
    ),
    Case(
        "P-03",
        CSR,
        "CSR key is not the signer's key",
        refused(BAD_REQUEST, "the certificate request's key is not the key that signed the message"),
        rsa_3072_csr_for_2048_signer,
    ),
    Case(
        "P-11",
        CSR,
        "RSA 1024 key",
        refused(BAD_ALG, "RSA key of 1024 bits is below the minimum of 2048", transaction=True),
        weak_key,
    ),
    Case(
        "P-09",
        CSR,
        "static challenge with a UPN SAN (ESC1)",
        refused(
            BAD_REQUEST,
            "a static challenge never authorises a UPN subject alternative name: it would be a logon "
            "certificate for that account; enroll users with a one-time challenge from a SCEP profile",
            transaction=True,
        ),
        with_sans(x509.DNSName("dev.example"), x509.OtherName(UPN, b"\x0c\x12administrator@corp")),
    ),
    Case(
        "P-09b",
        CSR,
        "static challenge with another otherName",
        refused(
            BAD_REQUEST,
            "a static challenge cannot authorise otherName 1.3.6.1.4.1.99999.3 subject alternative names",
            transaction=True,
        ),
        with_sans(x509.OtherName(x509.ObjectIdentifier("1.3.6.1.4.1.99999.3"), b"\x0c\x01x")),
    ),
    Case(
        "P-09c",
        CSR,
        "static challenge with an email SAN (not listed)",
        refused(
            BAD_REQUEST,
            "SCEP service strict does not let a static challenge request Email (RFC 822 name) subject "
            "alternative names (allowed: dns)",
            transaction=True,
        ),
        with_sans(x509.RFC822Name("ceo@example.com")),
    ),
    Case(
        "P-09d",
        CSR,
        "static challenge with a URI SAN (not listed)",
        refused(
            BAD_REQUEST,
            "SCEP service strict does not let a static challenge request URI (never the KB5014754 SID URI) "
            "subject alternative names (allowed: dns)",
            transaction=True,
        ),
        with_sans(x509.UniformResourceIdentifier("https://example.com/")),
    ),
    Case(
        "P-09e",
        CSR,
        "static challenge with the KB5014754 SID URI",
        refused(
            BAD_REQUEST,
            "a static challenge never authorises the KB5014754 SID URI "
            "(tag:microsoft.com,2022-09-14:sid:): it maps the certificate to an AD account",
            transaction=True,
        ),
        with_sans(x509.UniformResourceIdentifier("tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-500")),
    ),
    Case(
        "P-09f",
        CSR,
        "static challenge with the SID extension",
        refused(
            BAD_REQUEST,
            "a static challenge never authorises the SID extension (1.3.6.1.4.1.311.25.2): it maps the "
            "certificate to an AD account",
            transaction=True,
        ),
        pkcs_csr(
            lambda ctx: ctx.device.csr(extensions=(x509.UnrecognizedExtension(SID_EXTENSION, b"\x30\x00"),))
        ),
    ),
    Case(
        "P-12",
        CSR,
        "CSR extensions that do not parse",
        refused(BAD_REQUEST, "the request's extensions cannot be parsed: ", prefix=True, transaction=True),
        pkcs_csr(
            lambda ctx: ctx.device.csr(
                extensions=(x509.UnrecognizedExtension(x509.oid.ExtensionOID.KEY_USAGE, b"\x05\x00"),)
            )
        ),
    ),
    Case(
        "P-15",
        CSR,
        "subject CN of 64 KB",
        refused(BAD_REQUEST, "the requested subject is longer than 512 characters", transaction=True),
        subject_csr(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x" * 65_536, _validate=False)])),
    ),
    Case(
        "P-15b",
        CSR,
        "subject of 1000 RDNs",
        refused(BAD_REQUEST, "the requested subject is longer than 512 characters", transaction=True),
        subject_csr(
            x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"u{i}") for i in range(1000)])
        ),
    ),
    Case(
        "P-15c",
        CSR,
        "subject with NUL and escape bytes",
        refused(BAD_REQUEST, "the requested subject contains control characters", transaction=True),
        subject_csr(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "evil\x00\x1b[31mname")])),
    ),
    Case(
        "P-15d",
        CSR,
        "DNS SAN with a NUL byte",
        refused(
            BAD_REQUEST, "a requested subject alternative name contains control characters", transaction=True
        ),
        with_sans(x509.DNSName("bank.example\x00.evil.example")),
    ),
    Case(
        "P-16",
        CSR,
        "template does not take the subject from the request",
        refused(
            BAD_REQUEST,
            "certificate template TestClientAuth does not let the request supply its subject; enroll with "
            "a device challenge from a SCEP profile",
            transaction=True,
        ),
        template_without_subject_from_request,
    ),
    # --- challenge ------------------------------------------------------------------------------------------
    Case(
        "P-04",
        CHALLENGE,
        "PKCSReq without a challengePassword",
        refused(BAD_REQUEST, "PKCSReq without a challengePassword", transaction=True),
        with_challenge(None),
    ),
    Case(
        "P-05",
        CHALLENGE,
        "wrong static challenge",
        refused(BAD_REQUEST, "the challenge password is not valid for this SCEP service", transaction=True),
        with_challenge("wrong"),
    ),
    Case(
        "P-05b",
        CHALLENGE,
        "static challenge in upper case",
        refused(BAD_REQUEST, "the challenge password is not valid for this SCEP service", transaction=True),
        with_challenge(STATIC_CHALLENGE.upper()),
    ),
    Case(
        "P-05c",
        CHALLENGE,
        "static challenge with a trailing space",
        refused(BAD_REQUEST, "the challenge password is not valid for this SCEP service", transaction=True),
        with_challenge(STATIC_CHALLENGE + " "),
    ),
    Case(
        "P-05d",
        CHALLENGE,
        "empty challengePassword",
        refused(BAD_REQUEST, "PKCSReq without a challengePassword", transaction=True),
        with_challenge(""),
    ),
    Case(
        "P-05e",
        CHALLENGE,
        "static challenge of another SCEP service",
        refused(BAD_REQUEST, "the challenge password is not valid for this SCEP service", transaction=True),
        other_service_challenge,
    ),
    Case(
        "P-14",
        CHALLENGE,
        "challengePassword of 1 KB",
        refused(BAD_REQUEST, "challengePassword is longer than 255 characters", transaction=True),
        with_challenge("c" * 1024),
    ),
    Case(
        "P-14b",
        CHALLENGE,
        "a wrong challenge as a BMPString",
        refused(BAD_REQUEST, "the challenge password is not valid for this SCEP service", transaction=True),
        challenge_attribute(core.BMPString("wrong-" + STATIC_CHALLENGE)),
    ),
    # --- renewal --------------------------------------------------------------------------------------------
    Case(
        "P-17",
        RENEWAL,
        "RenewalReq signed by a revoked certificate",
        refused(BAD_REQUEST, "certificate [0-9A-F]+ is revoked", regex=True, transaction=True),
        renewal_revoked,
    ),
    Case(
        "P-17b",
        RENEWAL,
        "RenewalReq signed by an expired certificate",
        refused(BAD_REQUEST, "certificate [0-9A-F]+ has expired", regex=True, transaction=True),
        renewal_expired,
    ),
    Case(
        "P-17c",
        RENEWAL,
        "RenewalReq signed by a foreign CA's certificate (same key and subject)",
        refused(BAD_REQUEST, "RenewalReq must be signed by a certificate this CA issued", transaction=True),
        renewal_foreign,
    ),
    Case(
        "P-17d",
        RENEWAL,
        "RenewalReq signed by a self-signed certificate (no challenge)",
        refused(BAD_REQUEST, "RenewalReq must be signed by a certificate this CA issued", transaction=True),
        renewal_self_signed,
    ),
    Case(
        "P-17e",
        RENEWAL,
        "RenewalReq signed by a certificate renewed already (superseded)",
        refused(
            BAD_REQUEST,
            "certificate [0-9A-F]+ was renewed already \\(certificate [0-9A-F]+\\); renew with that one",
            regex=True,
            transaction=True,
        ),
        renewal_superseded,
    ),
    Case(
        "P-17f",
        RENEWAL,
        "RenewalReq signed by a certificate of another CA of ours",
        refused(BAD_REQUEST, "RenewalReq must be signed by a certificate this CA issued", transaction=True),
        renewal_other_service_ca,
    ),
    Case(
        "P-18",
        RENEWAL,
        "RenewalReq for another subject",
        refused(
            BAD_REQUEST,
            "RenewalReq asks for a different subject than the certificate that signed it",
            transaction=True,
        ),
        renewal_other_subject,
    ),
    Case(
        "P-19",
        RENEWAL,
        "RenewalReq when the service disallows renewal",
        refused(BAD_REQUEST, "renewal is disabled on this SCEP service", transaction=True),
        renewal_disabled,
    ),
    Case(
        "P-20",
        RENEWAL,
        "RenewalReq before the renewal window",
        refused(
            BAD_REQUEST,
            "renewal opens 30 days before expiry \\([0-9-]+\\); too early",
            regex=True,
            transaction=True,
        ),
        renewal_too_early,
    ),
    # --- CertPoll, GetCert, GetCRL, transactions ------------------------------------------------------------
    Case(
        "P-21",
        QUERIES,
        "CertPoll with an unknown transactionID",
        refused(BAD_CERT_ID, "no transaction with this transactionID"),
        lambda ctx: poll(ctx, "no-such-transaction"),
    ),
    Case(
        "P-22",
        QUERIES,
        "CertPoll of a pending transactionID from another key",
        refused(BAD_REQUEST, "this transactionID belongs to another requester"),
        poll_hijack,
    ),
    Case(
        "P-24",
        QUERIES,
        "GetCert for an unknown serial",
        refused(BAD_CERT_ID, "no certificate with serial [0-9A-F]+", regex=True),
        get_cert(lambda ctx: ctx.pki.issuing.certificate.subject, issued_serial),
    ),
    Case(
        "P-24b",
        QUERIES,
        "GetCert for an unknown issuer",
        refused(BAD_CERT_ID, "no CA named CN=Unknown CA,O=certportal tests"),
        get_cert(lambda ctx: name("Unknown CA"), lambda ctx: 1),
    ),
    Case(
        "P-24c",
        QUERIES,
        "GetCert for the requester's own self-signed certificate",
        refused(BAD_CERT_ID, "no CA named CN=device-1,O=certportal tests"),
        lambda ctx: Probe(
            ctx.tester.message(
                scep.MessageType.GET_CERT,
                scep.build_issuer_and_serial(ctx.device.signer.issuer, ctx.device.signer.serial_number),
                signer=ctx.device,
            )
        ),
    ),
    Case(
        "P-26",
        QUERIES,
        "GetCRL for an unknown issuer",
        refused(BAD_CERT_ID, "no CA named CN=Unknown CA,O=certportal tests"),
        get_crl_unknown_issuer,
    ),
    Case(
        "F-05",
        QUERIES,
        "same transactionID, another CSR, while pending",
        refused(BAD_REQUEST, "this transactionID belongs to another request that is still pending"),
        same_tid_other_csr_while_pending,
    ),
    Case(
        "F-05b",
        QUERIES,
        "same transactionID and CSR shape from another signer key",
        refused(BAD_REQUEST, "this transactionID belongs to another request that is still pending"),
        same_tid_other_signer,
    ),
]


ELSEWHERE: list[Elsewhere] = [
    Elsewhere(
        "H-15",
        LIMITS,
        "GET PKIOperation of a 4096-bit request (~6 KB line) and a line over gunicorn's 8,190",
        "200 SUCCESS; over the limit a 4xx from gunicorn, never a 500",
        "portal/tests/test_topology.py::test_gunicorn_takes_a_4096_bit_get_pkioperation_and_refuses_oversize"
        "d_lines",
    ),
    Elsewhere(
        "H-15b",
        LIMITS,
        "request and header lines of 65,534 bytes through nginx, and longer",
        "passed to gunicorn; longer: nginx's 414/400",
        "portal/tests/test_front_door.py::test_request_and_header_lines_up_to_65534_bytes_pass_and_longer_on"
        "es_get_nginx_errors",
    ),
    Elsewhere(
        "H-15c",
        LIMITS,
        "a 60,000-byte GET PKIOperation through nginx and gunicorn",
        "200 SUCCESS",
        "portal/tests/test_front_door.py::test_a_60000_byte_get_pki_operation_passes_nginx_and_gunicorn_and_"
        "is_issued",
    ),
    Elsewhere(
        "H-19",
        HTTP,
        "PKIOperation over the rate limit",
        "HTTP 429 plain text with Retry-After",
        "enrollment/tests/views/test_scep_faults.py::test_pki_operation_is_rate_limited_with_a_plain_text_42"
        "9",
    ),
    Elsewhere(
        "P-06",
        CHALLENGE,
        "one-time challenge expired",
        "FAILURE badRequest; 20501 with 0x00000411",
        "profiles/tests/test_scep_enrollment.py::test_an_expired_challenge_is_refused_with_diagnostic_0x411",
    ),
    Elsewhere(
        "P-07",
        CHALLENGE,
        "one-time challenge already used, new transaction",
        "FAILURE badRequest; the device keeps its issued state",
        "profiles/tests/test_scep_enrollment.py::test_a_used_challenge_is_refused_and_the_issued_state_is_ke"
        "pt",
    ),
    Elsewhere(
        "P-07b",
        CHALLENGE,
        "one-time challenge tampered",
        "FAILURE badRequest; 20502 with 0x00000410",
        "profiles/tests/test_scep_enrollment.py::test_a_tampered_challenge_is_refused_with_diagnostic_0x410",
    ),
    Elsewhere(
        "P-08",
        CHALLENGE,
        "one-time challenge, CSR subject other than the challenge's (ESC1)",
        "FAILURE badRequest; expected and received subject only in the 20501 event",
        "profiles/tests/test_scep_enrollment.py::test_another_subject_is_refused_and_recorded",
    ),
    Elsewhere(
        "P-08b",
        CHALLENGE,
        "one-time challenge, CSR SANs other than the challenge's",
        "FAILURE badRequest",
        "profiles/tests/test_scep_enrollment.py::test_other_sans_are_refused_and_recorded",
    ),
    Elsewhere(
        "P-08c",
        CHALLENGE,
        "one-time challenge at the SCEP service of another CA",
        "FAILURE badRequest",
        "profiles/tests/test_scep_enrollment.py::test_a_challenge_presented_to_the_scep_service_of_another_c"
        "a_is_refused",
    ),
    Elsewhere(
        "P-08d",
        CHALLENGE,
        "one-time challenge of a retired device",
        "FAILURE badRequest",
        "profiles/tests/test_scep_enrollment.py::test_a_challenge_of_a_retired_device_is_refused",
    ),
    Elsewhere(
        "P-08e",
        CHALLENGE,
        "one-time challenge handed out before the profile was edited",
        "FAILURE badRequest (ScepProfileVersionMismatch)",
        "profiles/tests/test_scep_enrollment.py::test_a_challenge_handed_out_before_the_profile_was_edited_i"
        "s_refused",
    ),
    Elsewhere(
        "P-10",
        CSR,
        "CSR asks for basicConstraints CA:TRUE, extra EKUs, key usage",
        "issued from the template only; nothing copied from the CSR",
        "enrollment/tests/views/test_scep_pki_operation.py::test_csr_extensions_are_not_copied",
    ),
    Elsewhere(
        "R-01",
        RENEWAL,
        "renewal of a device's certificate once the device, user or profile changed",
        "FAILURE badRequest 'renewal refused: ...'; 4005 with the device and user",
        "profiles/tests/test_scep_renewal_policy.py",
    ),
    Elsewhere(
        "F-07",
        QUERIES,
        "20 identical PKCSReqs at once",
        "one certificate; every answer carries it",
        "enrollment/tests/views/test_scep_idempotency.py::test_concurrent_identical_pkcs_reqs_issue_one_cert"
        "ificate",
    ),
    Elsewhere(
        "F-08",
        QUERIES,
        "pending requests over the caps (address, subject, service)",
        "FAILURE badRequest; 4005, not stored",
        "enrollment/tests/test_storage_bounds.py::test_the_pending_cap_per_address_refuses_the_next_request",
    ),
]


# --- the test -----------------------------------------------------------------------------------------------


@pytest.fixture
def ctx(
    client: Client,
    scep_tester: Callable[..., ScepTester],
    legacy_scep_service: ScepService,
    device_keys: list[rsa.RSAPrivateKey],
    pki: Pki,
    settings: Any,
    enrol_now: Callable[..., IssuedCertificate],
    django_capture_on_commit_callbacks: Any,
) -> Ctx:
    def committed(send: Callable[[], Any]) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            send()

    return Ctx(
        tester=scep_tester(),
        legacy=scep_tester(legacy_scep_service),
        keys=device_keys,
        pki=pki,
        settings=settings,
        client=client,
        enrol=enrol_now,
        committed=committed,
    )


def _counts() -> tuple[int, int, int, int, int]:
    return (
        IssuedCertificate.objects.count(),
        CertificateRequest.objects.count(),
        ScepTransaction.objects.count(),
        ConnectorEvent.objects.filter(event_id=EventId.SCEP_MALFORMED_REQUEST).count(),
        ConnectorEvent.objects.filter(event_id=EventId.SCEP_VERIFY_FAILURE).count(),
    )


def _text_matches(actual: str, expected: str, prefix: bool) -> bool:
    return actual.startswith(expected) if prefix else actual == expected


def _send(context: Ctx, probe: Probe) -> Any:
    if probe.request is not None:
        return probe.request(context.client)
    tester = probe.tester or context.tester
    assert probe.sent is not None
    return tester.send(probe.der if probe.der is not None else probe.sent, method=probe.method)


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=[case.slug for case in CASES])
def test_bad_input(case: Case, ctx: Ctx, django_capture_on_commit_callbacks: Any) -> None:
    for setting, value in case.settings.items():
        setattr(ctx.settings, setting, value)
    probe = case.build(ctx)
    issued, requests, transactions, malformed_events, verify_events = _counts()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _send(ctx, probe)

    assert_protocol_answer(response)
    assert callbacks == [], "something was handed to the CA"
    assert IssuedCertificate.objects.count() == issued
    assert CertificateRequest.objects.count() == requests
    expect = case.expect
    if isinstance(expect, Http):
        text = response.content.decode("utf-8")
        assert (response.status_code, response["Content-Type"]) == (
            expect.status,
            "text/plain; charset=utf-8",
        ), text
        assert _text_matches(text.rstrip("\n"), expect.text, expect.prefix), text
        assert "Traceback" not in text
        assert ScepTransaction.objects.count() == transactions
        events = ConnectorEvent.objects.filter(event_id=EventId.SCEP_MALFORMED_REQUEST)
        assert events.count() == malformed_events + (1 if expect.event else 0)
        if expect.event:
            event = events.order_by("-pk").first()
            assert event is not None
            assert event.level == EventLevel.WARNING
            assert event.message
            if expect.event_text is None:
                assert event.message in text
            else:
                assert event.message == expect.event_text
        return
    assert probe.sent is not None
    result = (probe.tester or ctx.tester).reply(probe.sent, response)
    assert result.status is scep.PkiStatus.FAILURE, (result.status, result.fail_info_text)
    assert result.fail_info is expect.fail_info, (result.fail_info, result.fail_info_text)
    assert result.fail_info_text
    if expect.regex:
        assert re.fullmatch(expect.text, result.fail_info_text), result.fail_info_text
    else:
        assert _text_matches(result.fail_info_text, expect.text, expect.prefix), result.fail_info_text
    assert result.certificates == ()
    assert result.message.envelope is None
    event = (
        ConnectorEvent.objects.filter(
            event_id=EventId.SCEP_VERIFY_FAILURE, transaction_id=probe.sent.transaction_id
        )
        .order_by("-pk")
        .first()
    )
    assert event is not None, "the refusal is not in the event log"
    assert (event.level, event.fail_info, event.message) == (
        EventLevel.WARNING,
        int(expect.fail_info),
        result.fail_info_text,
    )
    assert ConnectorEvent.objects.filter(event_id=EventId.SCEP_VERIFY_FAILURE).count() == verify_events + 1
    assert ConnectorEvent.objects.filter(event_id=EventId.SCEP_MALFORMED_REQUEST).count() == malformed_events
    if expect.transaction:
        assert ScepTransaction.objects.count() == transactions + 1
        stored = ScepTransaction.objects.order_by("-pk").first()
        assert stored is not None
        assert (stored.transaction_id, stored.status, stored.fail_info, stored.certificate) == (
            probe.sent.transaction_id,
            TransactionStatus.FAILURE,
            int(expect.fail_info),
            None,
        )
        assert stored.fail_info_text == result.fail_info_text
    else:
        assert ScepTransaction.objects.count() == transactions


def test_the_matrix_has_at_least_70_distinct_rows() -> None:
    ids = [case.id for case in CASES] + [row.id for row in ELSEWHERE]
    assert len(set(ids)) == len(ids), sorted(i for i in ids if ids.count(i) > 1)
    assert len({case.input for case in CASES}) == len(CASES)
    assert len(CASES) >= 70, len(CASES)


@pytest.mark.parametrize("row", ELSEWHERE, ids=[row.id for row in ELSEWHERE])
def test_referenced_tests_exist(row: Elsewhere) -> None:
    path, _, function = row.test.partition("::")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    if function:
        assert callable(getattr(module, function, None)), row.test


def _expected(case: Case) -> str:
    expect = case.expect
    if isinstance(expect, Http):
        text = expect.text.splitlines()[0]
        shown = f"{text}…" if expect.prefix else text
        return f"{expect.describe()}: `{shown}`" if shown else expect.describe()
    text = expect.text
    if expect.regex:
        return f"{expect.describe()}: `{text}` (regular expression)"
    return f"{expect.describe()}: `{text}{'…' if expect.prefix else ''}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def matrix_markdown() -> str:
    """docs/security.md's bad-input matrix, rendered from CASES and ELSEWHERE."""
    lines = [
        DOC_START,
        f"{len(CASES)} rows run in `enrollment/tests/test_bad_input_matrix.py`; {len(ELSEWHERE)} more are "
        "asserted in the tests named.",
        "",
        "| # | area | input | answer |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {case.id} | {case.category} | {_cell(case.input)} | {_cell(_expected(case))} |" for case in CASES
    ]
    lines += ["", "| # | area | input | answer | test |", "|---|---|---|---|---|"]
    lines += [
        f"| {row.id} | {row.category} | {_cell(row.input)} | {_cell(row.expected)} | `{row.test}` |"
        for row in ELSEWHERE
    ]
    lines.append(DOC_END)
    return "\n".join(lines)


def test_the_documented_matrix_is_this_table() -> None:
    document = SECURITY_DOC.read_text(encoding="utf-8")
    assert DOC_START in document, "docs/security.md has no generated matrix section"
    assert DOC_END in document
    before, rest = document.split(DOC_START, 1)
    _, after = rest.split(DOC_END, 1)
    current = DOC_START + rest.split(DOC_END, 1)[0] + DOC_END
    expected = matrix_markdown()
    if current != expected and os.environ.get("CERTPORTAL_UPDATE_SECURITY_DOC") == "1":
        SECURITY_DOC.write_text(before + expected + after, encoding="utf-8")
        return
    assert current == expected, (
        "docs/security.md's bad-input matrix differs from the test's table; "
        "run this test with CERTPORTAL_UPDATE_SECURITY_DOC=1 to rewrite it"
    )
