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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from django.db import transaction
from django.http import HttpResponse
from django.test import Client

from ca.models import CertificateAuthority, CertificateTemplate
from ca.services import submission
from ca.tests.fixtures import Pki
from enrollment import scep
from enrollment.models import RegistrationAuthority, ScepService
from enrollment.ra import ra_identity
from enrollment.services.registration import registration_authority_create, scep_service_create

__all__ = [
    "STATIC_CHALLENGE",
    "Device",
    "ScepTester",
    "Sent",
    "device_keys",
    "legacy_scep_service",
    "next_registration_authority",
    "ra_rows",
    "registration_authority",
    "scep_service",
    "scep_tester",
]

STATIC_CHALLENGE = "s3cret-challenge"  # noqa: S105 - the fixture services' shared challenge

_RA_FIELDS = ("name", "certificate_pem", "encrypted_key_pem", "fingerprint_sha1", "fingerprint_sha256", "not_after")


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
def device_keys(rsa2048_key: rsa.RSAPrivateKey, other_rsa2048_key: rsa.RSAPrivateKey) -> list[rsa.RSAPrivateKey]:
    """Four RSA 2048 device keys for the session (key generation is the slow part of these tests)."""
    return [
        rsa2048_key,
        other_rsa2048_key,
        *(rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2)),
    ]


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
        return builder.sign(self.key, scep.DigestAlgorithm.SHA256.hash_algorithm())


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
    sent: list[Sent] = field(default_factory=list)

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
        )
        return Sent(der, tid, nonce, identity.certificate, identity.key, message_type)

    def pkcs_req(self, device: Device, csr: x509.CertificateSigningRequest | None = None, **kwargs: Any) -> Sent:
        return self.message(scep.MessageType.PKCS_REQ, csr or device.csr(), signer=device, **kwargs)

    def send(self, sent: Sent | bytes, *, method: str = "POST", path: str | None = None) -> HttpResponse:
        der = sent.der if isinstance(sent, Sent) else sent
        url = path or self.url
        if method == "POST":
            response = self.client.post(
                f"{url}?operation=PKIOperation", data=der, content_type=scep.CONTENT_TYPE_PKI_MESSAGE
            )
        else:
            message = base64.b64encode(der).decode("ascii")
            response = self.client.get(url, {"operation": "PKIOperation", "message": message})
        assert response.status_code != 500, response.content
        return response

    def reply(self, sent: Sent, response: HttpResponse, *, policy: scep.AlgorithmPolicy | None = None) -> scep.CertRepResult:
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

    def exchange(self, sent: Sent, **kwargs: Any) -> scep.CertRepResult:
        method = kwargs.pop("method", "POST")
        return self.reply(sent, self.send(sent, method=method, path=kwargs.pop("path", None)), **kwargs)

    def enroll(self, device: Device, csr: x509.CertificateSigningRequest | None = None, **kwargs: Any) -> scep.CertRepResult:
        method = kwargs.pop("method", "POST")
        return self.exchange(self.pkcs_req(device, csr, **kwargs), method=method)


@pytest.fixture
def scep_tester(client: Client, scep_service: ScepService) -> Callable[..., ScepTester]:
    """``scep_tester()`` for the strict default service, ``scep_tester(legacy_scep_service)`` for another."""

    def _tester(service: ScepService | None = None) -> ScepTester:
        chosen = service or scep_service
        identity = ra_identity(chosen.registration_authority)
        return ScepTester(client, chosen, (identity.certificate, *identity.ca_chain))

    return _tester


@pytest.fixture
def scep_client(scep_tester: Callable[..., ScepTester]) -> Iterator[ScepTester]:
    yield scep_tester()
