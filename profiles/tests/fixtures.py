"""Fixtures of the profiles tests: SCEP services of our CAs, a trusted root profile, a user in a user group
with an iOS device, a SCEP profile factory, and helpers to check devices in and to enroll through /scep.

The RA key pairs are made once per session by the real service (``registration_authority_create``,
inside a transaction that is rolled back, as ``ca.tests.fixtures.pki_rows`` does for the CAs) and their
rows are written again for each test, so no RSA key is generated per test.
"""

from __future__ import annotations

import copy
import itertools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from django.db import transaction
from django.test import Client

from ca.models import CertificateAuthority
from ca.services import submission
from ca.tests.fixtures import Pki
from directory.models import Device, DirectoryUser, Group, GroupKind, Platform
from directory.tests.factories import DeviceFactory, DirectoryUserFactory, GroupFactory
from enrollment import scep
from enrollment.models import RegistrationAuthority, ScepService
from enrollment.services.registration import registration_authority_create, scep_service_create
from profiles.choices import AssignmentIntent, AssignmentTarget
from profiles.models import ProfileAssignment, ResourceProfile, ScepProfile, TrustedRootProfile
from profiles.naming.subject import SubjectNameFormat
from profiles.naming.variables import CertificateType
from profiles.services.checkin import ScepDelivery, device_checkin
from profiles.services.profiles import assignment_create, scep_profile_create, trusted_root_profile_create

__all__ = [
    "SCEP_URL",
    "SID",
    "assign",
    "assign_to_users",
    "assigned",
    "build_csr",
    "delivery_for",
    "device",
    "make_profile",
    "profiles_ra_rows",
    "root_profile",
    "root_scep_service",
    "scep_enroll",
    "scep_profile",
    "scep_service",
    "user",
    "user_group",
]

SID = "S-1-5-21-1004336348-1177238915-682003330-1001"
SCEP_URL = "https://certportal.example/scep/profiles"

_RA_FIELDS = (
    "name",
    "certificate_pem",
    "encrypted_key_pem",
    "fingerprint_sha1",
    "fingerprint_sha256",
    "not_after",
)


# --- RA certificates and SCEP services --------------------------------------------------------------------


@pytest.fixture(scope="session")
def profiles_ra_rows(
    pki_rows: tuple[dict[str, Any], dict[str, Any]], django_db_blocker: Any
) -> dict[str, dict[str, Any]]:
    """RA key pairs certified by the session's issuing CA and by its root CA, as row values.

    Inside the rolled-back transaction ``on_commit`` never fires, so the request is dispatched to the
    (eager) CA task at once instead; everything else is the real service.
    """
    root_values, issuing_values = copy.deepcopy(pki_rows)
    rows: dict[str, dict[str, Any]] = {}
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch, transaction.atomic():
        patch.setattr(submission, "_dispatch_on_commit", submission.certificate_request_dispatch)
        root = CertificateAuthority.objects.create(**root_values)
        issuing = CertificateAuthority.objects.create(parent=root, **issuing_values)
        for label, authority in (("issuing", issuing), ("root", root)):
            common_name = f"Profiles SCEP RA ({label})"
            ra = registration_authority_create(
                authority=authority,
                name=common_name,
                subject=x509.Name(
                    [
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certportal tests"),
                        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                    ]
                ),
                wait=0,
            )
            rows[label] = {name: getattr(ra, name) for name in _RA_FIELDS}
        transaction.set_rollback(True)
    return rows


def _registration_authority(authority: CertificateAuthority, values: dict[str, Any]) -> RegistrationAuthority:
    ra = RegistrationAuthority(authority=authority, **values)
    ra.full_clean()
    ra.save()
    return ra


@pytest.fixture
def scep_service(pki: Pki, profiles_ra_rows: dict[str, dict[str, Any]]) -> ScepService:
    """/scep/profiles: the issuing CA's SCEP service; legacy algorithms (scepclient); no static challenge."""
    return scep_service_create(
        slug="profiles",
        name="Profiles SCEP",
        authority=pki.issuing,
        registration_authority=_registration_authority(pki.issuing, profiles_ra_rows["issuing"]),
        general_purpose_template=pki.template,
        allow_legacy_algorithms=True,
    )


@pytest.fixture
def root_scep_service(pki: Pki, profiles_ra_rows: dict[str, dict[str, Any]]) -> ScepService:
    """/scep/root-ca: a SCEP service of another CA (the root CA)."""
    return scep_service_create(
        slug="root-ca",
        name="Root CA SCEP",
        authority=pki.root,
        registration_authority=_registration_authority(pki.root, profiles_ra_rows["root"]),
        general_purpose_template=pki.template,
    )


# --- directory ------------------------------------------------------------------------------------------


@pytest.fixture
def user(db: None) -> DirectoryUser:
    return DirectoryUserFactory.create(
        user_name="jdoe",
        user_principal_name="jdoe@corp.example.com",
        email="jdoe@corp.example.com",
        on_premises_security_identifier=SID,
    )


@pytest.fixture
def user_group(user: DirectoryUser) -> Group:
    return GroupFactory.create(name="SCEP users", kind=GroupKind.USER, members=[user])


@pytest.fixture
def device(user: DirectoryUser) -> Device:
    """An iOS device whose primary user is ``user``."""
    return DeviceFactory.create(
        name="iPhone-1",
        platform=Platform.IOS,
        os_version="17.4",
        serial_number="F2LX1234",
        imei="356938035643809",
        primary_user=user,
    )


# --- profiles -------------------------------------------------------------------------------------------


@pytest.fixture
def root_profile(pki: Pki) -> TrustedRootProfile:
    """The iOS trusted certificate profile with the root of the issuing CA's chain."""
    return trusted_root_profile_create(authority=pki.root, name="Test Root CA (iOS)", platform=Platform.IOS)


def profile_fields(pki: Pki, root_profile: TrustedRootProfile, **overrides: Any) -> dict[str, Any]:
    """Valid settings of an iOS user SCEP profile; ``overrides`` replace any of them."""
    fields: dict[str, Any] = {
        "name": "iOS user certificate",
        "platform": Platform.IOS,
        "certificate_type": CertificateType.USER,
        "subject_name_format": SubjectNameFormat.CUSTOM,
        "subject_name_format_string": "CN={{UserName}},O=certportal tests",
        "subject_alternative_names": [{"type": "upn", "value": "{{UserPrincipalName}}"}],
        "hash_algorithms": [],
        "key_size": 2048,
        "root_profile": root_profile,
        "authority": pki.issuing,
        "template": pki.template,
        "scep_server_urls": [SCEP_URL],
    }
    fields.update(overrides)
    return fields


@pytest.fixture
def make_profile(pki: Pki, root_profile: TrustedRootProfile) -> Callable[..., ScepProfile]:
    """``make_profile(**overrides)``: an iOS user SCEP profile saved by ``scep_profile_create``."""
    counter = itertools.count(1)

    def _make(**overrides: Any) -> ScepProfile:
        overrides.setdefault("name", f"SCEP profile {next(counter)}")
        root = overrides.pop("root_profile", root_profile)
        return scep_profile_create(**profile_fields(pki, root, **overrides))

    return _make


@pytest.fixture
def scep_profile(make_profile: Callable[..., ScepProfile]) -> ScepProfile:
    return make_profile(name="iOS user certificate")


@pytest.fixture
def assign_to_users(
    make_profile: Callable[..., ScepProfile], user_group: Group
) -> Callable[..., ScepProfile]:
    """``assign_to_users(**overrides)``: a new SCEP profile assigned, with its root, to ``user_group``."""

    def _assign(**overrides: Any) -> ScepProfile:
        profile = make_profile(**overrides)
        assign(profile, user_group)
        if not ProfileAssignment.objects.filter(
            trusted_root_profile=profile.root_profile, group=user_group
        ).exists():
            assign(profile.root_profile, user_group)
        return profile

    return _assign


@pytest.fixture
def assigned(scep_profile: ScepProfile, root_profile: TrustedRootProfile, user_group: Group) -> ScepProfile:
    """``scep_profile`` and its root profile, both assigned to ``user_group``."""
    assign(scep_profile, user_group)
    assign(root_profile, user_group)
    return scep_profile


def assign(
    profile: ScepProfile | TrustedRootProfile | ResourceProfile,
    group: Group | None = None,
    *,
    target: str = AssignmentTarget.GROUP,
    intent: str = AssignmentIntent.INCLUDE,
) -> ProfileAssignment:
    which = (
        "scep_profile"
        if isinstance(profile, ScepProfile)
        else "resource_profile"
        if isinstance(profile, ResourceProfile)
        else "trusted_root_profile"
    )
    return assignment_create(**{which: profile}, group=group, target=target, intent=intent)


def delivery_for(device: Device, profile: ScepProfile) -> ScepDelivery:
    """Check ``device`` in and return what it got for ``profile``."""
    result = device_checkin(device=device)
    (delivery,) = [item for item in result.scep if item.profile.pk == profile.pk]
    return delivery


# --- certificates and SCEP requests ------------------------------------------------------------------------


def build_csr(
    key: rsa.RSAPrivateKey,
    subject: x509.Name,
    sans: Sequence[x509.GeneralName] = (),
    *,
    challenge: str | None = None,
) -> x509.CertificateSigningRequest:
    """A CSR as a device builds it from its payload: subject, SANs (if any) and the challenge."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    if challenge is not None:
        builder = builder.add_attribute(x509.oid.AttributeOID.CHALLENGE_PASSWORD, challenge.encode("utf-8"))
    return builder.sign(key, hashes.SHA256())


@dataclass(frozen=True)
class ScepExchange:
    """A PKCSReq as sent through the Django test client, and the verified CertRep."""

    transaction_id: str
    status_code: int
    reply: scep.CertRepResult


def scep_enroll(
    client: Client, service: ScepService, key: rsa.RSAPrivateKey, csr: x509.CertificateSigningRequest
) -> ScepExchange:
    """POST a PKCSReq for ``csr`` (signed with the RFC 8894 self-signed signer of ``key``) to /scep/<slug>."""
    signer = scep.self_signed_signer(key, x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SCEP SIGNER")]))
    ra_certificate = service.registration_authority.certificate
    transaction_id = scep.transaction_id_for(key.public_key())
    nonce = os.urandom(16)
    der = scep.build_pki_message(
        message_type=scep.MessageType.PKCS_REQ,
        transaction_id=transaction_id,
        sender_nonce=nonce,
        message_data=csr.public_bytes(serialization.Encoding.DER),
        recipient_certificate=ra_certificate,
        signer_certificate=signer,
        signer_key=key,
        cipher=scep.ContentCipher.AES128_CBC,
        digest=scep.DigestAlgorithm.SHA256,
    )
    response = client.post(
        f"/scep/{service.slug}?operation=PKIOperation", data=der, content_type=scep.CONTENT_TYPE_PKI_MESSAGE
    )
    assert response.status_code == 200, response.content
    reply = scep.parse_cert_rep(
        response.content,
        signer_key=key,
        signer_certificate=signer,
        expected_recipient_nonce=nonce,
        ra_certificate=ra_certificate,
        expected_transaction_id=transaction_id,
    )
    return ScepExchange(transaction_id=transaction_id, status_code=response.status_code, reply=reply)
