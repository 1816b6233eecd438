"""Fixtures of the SCEP front end: RA certificates, SCEP services, device keys, and a SCEP test client.

The RA key pairs are made once per session by the real service (``registration_authority_create``,
inside a transaction that is rolled back, as ``ca.tests.fixtures.pki_rows`` does for the CAs) and their
rows are written again for each test: the issuing CA of ``pki`` is the same certificate and key in
every test, so the RA certificates chain to it.
"""

from __future__ import annotations

import base64
import copy
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from django.db import transaction
from django.test import Client

from ca.models import CertificateAuthority, CertificateRequest, IssuedCertificate
from ca.services import submission
from ca.tests.fixtures import Pki
from enrollment import scep
from enrollment.models import RegistrationAuthority, ScepService
from enrollment.ra import ra_identity
from enrollment.services.registration import registration_authority_create, scep_service_create
from eventlog.choices import EventId, EventLevel
from eventlog.models import ConnectorEvent

if TYPE_CHECKING:
    # What django.test.Client returns: an HttpResponse with the test client's attributes (stubs only).
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

__all__ = [
    "SCEP_CONTENT_TYPES",
    "STATIC_CHALLENGE",
    "Device",
    "ScepTester",
    "Sent",
    "assert_protocol_answer",
    "assert_refused",
    "device_keys",
    "enrol_now",
    "issued_row",
    "legacy_scep_service",
    "next_registration_authority",
    "ra_rows",
    "registration_authority",
    "scep_service",
    "scep_tester",
    "weak_rsa_key",
]

STATIC_CHALLENGE = "s3cret-challenge"

#: What the SCEP endpoint may answer with (RFC 8894 section 4), besides plain text.
SCEP_CONTENT_TYPES = frozenset(
    {
        scep.CONTENT_TYPE_PKI_MESSAGE,
        scep.CONTENT_TYPE_CA_CERT,
        scep.CONTENT_TYPE_CA_RA_CERT,
        scep.CONTENT_TYPE_NEXT_CA_CERT,
    }
)

_RA_FIELDS = (
    "name",
    "certificate_pem",
    "encrypted_key_pem",
    "fingerprint_sha1",
    "fingerprint_sha256",
    "not_after",
)


def name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certportal tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


# --- RA certificates and SCEP services ---------------------------------------------------------------


@pytest.fixture(scope="session")
def ra_rows(
    pki_rows: tuple[dict[str, Any], dict[str, Any]], django_db_blocker: Any
) -> dict[str, dict[str, Any]]:
    """Two RA key pairs of the session's issuing CA ("current" and "next", for rollover), as row values.

    Inside the rolled-back transaction ``transaction.on_commit`` never fires, so the request's dispatch
    to the (eager) CA task runs at once instead; everything else is the real service.
    """
    root_values, issuing_values = copy.deepcopy(pki_rows)
    rows: dict[str, dict[str, Any]] = {}
    with (
        django_db_blocker.unblock(),
        pytest.MonkeyPatch.context() as patch,
        transaction.atomic(),
    ):
        patch.setattr(submission, "_dispatch_on_commit", submission.certificate_request_dispatch)
        root = CertificateAuthority.objects.create(**root_values)
        issuing = CertificateAuthority.objects.create(parent=root, **issuing_values)
        for label, common_name in (("current", "Test SCEP RA"), ("next", "Test SCEP RA (next)")):
            ra = registration_authority_create(
                authority=issuing, name=common_name, subject=name(common_name), wait=0
            )
            rows[label] = {field: getattr(ra, field) for field in _RA_FIELDS}
        transaction.set_rollback(True)
    return rows


def _registration_authority(pki: Pki, values: dict[str, Any]) -> RegistrationAuthority:
    ra = RegistrationAuthority(authority=pki.issuing, **values)
    ra.full_clean()
    ra.save()
    return ra


@pytest.fixture
def registration_authority(pki: Pki, ra_rows: dict[str, dict[str, Any]]) -> RegistrationAuthority:
    """The RA of ``pki.issuing`` (created by ``registration_authority_create``)."""
    return _registration_authority(pki, ra_rows["current"])


@pytest.fixture
def next_registration_authority(pki: Pki, ra_rows: dict[str, dict[str, Any]]) -> RegistrationAuthority:
    """A second RA of ``pki.issuing``: what GetNextCACert serves during a rollover."""
    return _registration_authority(pki, ra_rows["next"])


@pytest.fixture
def legacy_scep_service(pki: Pki, registration_authority: RegistrationAuthority) -> ScepService:
    """/scep/legacy: DES, 3DES and SHA-1 allowed (micromdm's scepclient needs them); not the default."""
    return scep_service_create(
        slug="legacy",
        name="Legacy SCEP",
        authority=pki.issuing,
        registration_authority=registration_authority,
        general_purpose_template=pki.template,
        allow_legacy_algorithms=True,
        static_challenge=STATIC_CHALLENGE,
    )


@pytest.fixture
def scep_service(
    pki: Pki, registration_authority: RegistrationAuthority, legacy_scep_service: ScepService
) -> ScepService:
    """/scep/strict: modern algorithms only, static challenge; the default service (/scep, NDES paths)."""
    return scep_service_create(
        slug="strict",
        name="Strict SCEP",
        authority=pki.issuing,
        registration_authority=registration_authority,
        general_purpose_template=pki.template,
        static_challenge=STATIC_CHALLENGE,
        is_default=True,
    )


# --- devices ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def device_keys(
    rsa2048_key: rsa.RSAPrivateKey, other_rsa2048_key: rsa.RSAPrivateKey
) -> list[rsa.RSAPrivateKey]:
    """Four RSA 2048 device keys for the session (key generation is the slow part of these tests)."""
    return [
        rsa2048_key,
        other_rsa2048_key,
        *(rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2)),
    ]


def weak_rsa_key() -> rsa.RSAPrivateKey:
    """An RSA 1024 key, which policy refuses (badAlg)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the weak key under test


@dataclass(frozen=True)
class Device:
    """A requester: its key, the subject it asks for, and its RFC 8894 §2.3 self-signed signer."""

    key: rsa.RSAPrivateKey
    subject: x509.Name
    signer: x509.Certificate

    @classmethod
    def create(cls, key: rsa.RSAPrivateKey, common_name: str = "device-1") -> Device:
        subject = name(common_name)
        return cls(key=key, subject=subject, signer=scep.self_signed_signer(key, subject))

    @property
    def identity(self) -> scep.ScepIdentity:
        return scep.ScepIdentity(self.signer, self.key)

    def csr(
        self,
        *,
        challenge: str | None = STATIC_CHALLENGE,
        subject: x509.Name | None = None,
        extensions: tuple[x509.ExtensionType, ...] = (),
    ) -> x509.CertificateSigningRequest:
        builder = x509.CertificateSigningRequestBuilder().subject_name(subject or self.subject)
        for extension in extensions:
            builder = builder.add_extension(extension, critical=False)
        if challenge is not None:
            builder = builder.add_attribute(
                x509.oid.AttributeOID.CHALLENGE_PASSWORD, challenge.encode("utf-8")
            )
        return builder.sign(self.key, hashes.SHA256())


# --- assertions ----------------------------------------------------------------------------------------


def assert_protocol_answer(response: TestResponse) -> None:
    """Never a 500 and never a DRF (JSON/HTML) error page: plain text or a SCEP content type.

    503 is allowed: it is the endpoint's own "retry later" (RA key or database unavailable).
    """
    content_type = response["Content-Type"]
    assert response.status_code < 500 or response.status_code == 503, (response.status_code, response.content)
    assert content_type.startswith("text/plain") or content_type in SCEP_CONTENT_TYPES, content_type


def assert_refused(
    result: scep.CertRepResult, fail_info: scep.FailInfo, *, issued: int = 0, requests: int | None = None
) -> None:
    """A CertRep FAILURE with exactly ``fail_info``; nothing issued beyond the ``issued`` certificates that
    existed before; and the refusal in the event log (ScepVerifyFailure, 4005) with its failInfo."""
    assert result.status is scep.PkiStatus.FAILURE, (result.status, result.fail_info_text)
    assert result.fail_info is fail_info, (result.fail_info, result.fail_info_text)
    assert result.fail_info_text
    assert result.certificates == ()
    assert result.message.envelope is None
    assert IssuedCertificate.objects.count() == issued
    if requests is not None:
        assert CertificateRequest.objects.count() == requests
    assert ConnectorEvent.objects.filter(
        event_id=EventId.SCEP_VERIFY_FAILURE,
        level=EventLevel.WARNING,
        transaction_id=result.transaction_id,
        fail_info=int(fail_info),
    ).exists(), list(ConnectorEvent.objects.values_list("event_id", "fail_info", "message"))


def issued_row(result: scep.CertRepResult) -> IssuedCertificate:
    """The IssuedCertificate row of a SUCCESS reply's certificate."""
    assert result.certificate is not None, (result.status, result.fail_info_text)
    fingerprint = result.certificate.fingerprint(hashes.SHA256()).hex().upper()
    return IssuedCertificate.objects.get(fingerprint_sha256=fingerprint)


# --- the SCEP test client ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """A request as sent: what its CertRep must answer to."""

    der: bytes
    transaction_id: str
    sender_nonce: bytes
    signer_certificate: x509.Certificate
    signer_key: rsa.RSAPrivateKey
    message_type: scep.MessageType | int | str


def der_of(value: x509.CertificateSigningRequest | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    return value.public_bytes(serialization.Encoding.DER)


@dataclass
class ScepTester:
    """Builds pkiMessages for a SCEP service and sends them through the Django test client."""

    client: Client
    service: ScepService
    #: The RA certificate, then the issuing CA and the root (what GetCACert serves).
    certificates: tuple[x509.Certificate, ...]

    @property
    def ra_certificate(self) -> x509.Certificate:
        return self.certificates[0]

    @property
    def url(self) -> str:
        return f"/scep/{self.service.slug}"

    def message(
        self,
        message_type: scep.MessageType | int | str,
        data: x509.CertificateSigningRequest | bytes,
        *,
        signer: Device | scep.ScepIdentity,
        transaction_id: str | None = None,
        cipher: scep.ContentCipher = scep.ContentCipher.AES128_CBC,
        digest: scep.DigestAlgorithm = scep.DigestAlgorithm.SHA256,
        recipient: x509.Certificate | None = None,
        signing_time: Any = None,
        extra_certificates: tuple[x509.Certificate, ...] | list[x509.Certificate] = (),
    ) -> Sent:
        identity = signer.identity if isinstance(signer, Device) else signer
        tid = transaction_id or scep.transaction_id_for(identity.key.public_key())
        nonce = os.urandom(16)
        der = scep.build_pki_message(
            message_type=message_type,
            transaction_id=tid,
            sender_nonce=nonce,
            message_data=der_of(data),
            recipient_certificate=recipient or self.ra_certificate,
            signer_certificate=identity.certificate,
            signer_key=identity.key,
            cipher=cipher,
            digest=digest,
            signing_time=signing_time,
            extra_certificates=extra_certificates,
        )
        return Sent(der, tid, nonce, identity.certificate, identity.key, message_type)

    def pkcs_req(
        self, device: Device, csr: x509.CertificateSigningRequest | None = None, **kwargs: Any
    ) -> Sent:
        return self.message(scep.MessageType.PKCS_REQ, csr or device.csr(), signer=device, **kwargs)

    def send(self, sent: Sent | bytes, *, method: str = "POST", path: str | None = None) -> TestResponse:
        der = sent.der if isinstance(sent, Sent) else sent
        url = path or self.url
        if method == "POST":
            response = self.client.post(
                f"{url}?operation=PKIOperation", data=der, content_type=scep.CONTENT_TYPE_PKI_MESSAGE
            )
        else:
            message = base64.b64encode(der).decode("ascii")
            response = self.client.get(url, {"operation": "PKIOperation", "message": message})
        assert_protocol_answer(response)
        return response

    def reply(
        self, sent: Sent, response: TestResponse, *, policy: scep.AlgorithmPolicy | None = None
    ) -> scep.CertRepResult:
        """Verify the CertRep as a client does: signed by the RA, our nonce and transactionID echoed."""
        assert response.status_code == 200, response.content
        assert response["Content-Type"] == scep.CONTENT_TYPE_PKI_MESSAGE
        return scep.parse_cert_rep(
            response.content,
            signer_key=sent.signer_key,
            signer_certificate=sent.signer_certificate,
            expected_recipient_nonce=sent.sender_nonce,
            ra_certificate=self.ra_certificate,
            expected_transaction_id=sent.transaction_id,
            policy=policy,
        )

    def exchange(
        self,
        sent: Sent,
        *,
        method: str = "POST",
        path: str | None = None,
        policy: scep.AlgorithmPolicy | None = None,
    ) -> scep.CertRepResult:
        return self.reply(sent, self.send(sent, method=method, path=path), policy=policy)

    def enroll(
        self,
        device: Device,
        csr: x509.CertificateSigningRequest | None = None,
        *,
        method: str = "POST",
        policy: scep.AlgorithmPolicy | None = None,
        **message: Any,
    ) -> scep.CertRepResult:
        """PKCSReq (19) for ``device``: send it and verify the CertRep."""
        return self.exchange(self.pkcs_req(device, csr, **message), method=method, policy=policy)


@pytest.fixture
def scep_tester(client: Client, scep_service: ScepService) -> Callable[..., ScepTester]:
    """``scep_tester()`` for the strict default service, ``scep_tester(legacy_scep_service)`` for another."""

    def _tester(service: ScepService | None = None) -> ScepTester:
        chosen = service or scep_service
        identity = ra_identity(chosen.registration_authority)
        return ScepTester(client, chosen, (identity.certificate, *identity.ca_chain))

    return _tester


@pytest.fixture
def scep_client(scep_tester: Callable[..., ScepTester]) -> ScepTester:
    """The SCEP test client of the strict default service."""
    return scep_tester()


@pytest.fixture
def enrol_now(
    scep_client: ScepTester, settings: Any, django_capture_on_commit_callbacks: Any
) -> Callable[..., IssuedCertificate]:
    """For ``db`` tests (no commit, so no dispatch to the CA): enrol a device through the endpoint.

    The PKCSReq is answered PENDING at once (no wait), the CA task runs on the captured commit, and the
    retransmitted PKCSReq gets the certificate. Returns its IssuedCertificate row. The wait stays 0 for
    the rest of the test.
    """
    settings.CERTPORTAL_SCEP_ISSUE_WAIT = 0

    def _enrol(device: Device, csr: x509.CertificateSigningRequest | None = None) -> IssuedCertificate:
        csr = csr or device.csr()
        with django_capture_on_commit_callbacks(execute=True):
            assert scep_client.enroll(device, csr).status is scep.PkiStatus.PENDING
        result = scep_client.enroll(device, csr)
        assert result.status is scep.PkiStatus.SUCCESS, result.fail_info_text
        return issued_row(result)

    return _enrol
