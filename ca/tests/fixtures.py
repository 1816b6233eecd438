"""Fixtures for a real two-level PKI (root CA -> issuing CA) and a client-auth certificate template.

RSA key generation is the slow part of every CA test, so the two CAs are made once per session by the
real service (``authority_create``, inside a transaction that is rolled back) and their rows are
written again for each test: the keys, certificates and encrypted key references are exactly what the
service produces, and every certificate a test issues verifies against them.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import NameOID

from django.contrib.auth.models import Permission
from django.db import transaction
from rest_framework.test import APIClient

from access.services.tokens import api_token_create
from ca.crypto.builders import CaCertificateSpec, build_ca_certificate
from ca.crypto.keys import KeySpec
from ca.models import CertificateAuthority, CertificateRequest, CertificateTemplate, IssuedCertificate
from ca.services.authorities import authority_create
from ca.services.revocation import crl_generate
from ca.services.revocation_requests import certificate_revoke_by_admin
from ca.services.submission import certificate_request_submit
from ca.tests.pki import make_csr, write_pem
from ca.tests.softhsm import pkcs11_backend, softhsm  # noqa: F401 - registered with this plugin


@dataclass
class Pki:
    root: CertificateAuthority
    issuing: CertificateAuthority
    template: CertificateTemplate

    def chain_file(self, directory: Path) -> Path:
        """The issuing CA and the root in one PEM file, for ``openssl verify -CAfile``."""
        return write_pem(directory / "chain.pem", self.issuing.certificate, self.root.certificate)


@dataclass(frozen=True)
class CryptoChain:
    """A root and an issuing CA as plain ``cryptography`` objects (no database)."""

    root_key: rsa.RSAPrivateKey
    root: x509.Certificate
    issuing_key: rsa.RSAPrivateKey
    issuing: x509.Certificate


@pytest.fixture(scope="session")
def rsa2048_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def other_rsa2048_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def crypto_chain() -> CryptoChain:
    """Root -> issuing CA built with the pure builders only."""
    now = dt.datetime.now(tz=dt.UTC)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root_name = x509.Name.from_rfc4514_string("CN=Crypto Root,O=certportal tests")
    root = build_ca_certificate(
        CaCertificateSpec(
            subject=root_name,
            public_key=root_key.public_key(),
            serial=1,
            not_before=now - dt.timedelta(minutes=5),
            not_after=now + dt.timedelta(days=3650),
            path_length=1,
        ),
        signing_key=root_key,
    )
    issuing = build_ca_certificate(
        CaCertificateSpec(
            subject=x509.Name.from_rfc4514_string("CN=Crypto Issuing,O=certportal tests"),
            public_key=issuing_key.public_key(),
            serial=2,
            not_before=now - dt.timedelta(minutes=5),
            not_after=now + dt.timedelta(days=1825),
            path_length=0,
            issuer_certificate=root,
            crl_url="http://pki.example/crl/crypto-root.crl",
            issuer_url="http://pki.example/ca/crypto-root.crt",
        ),
        signing_key=root_key,
    )
    return CryptoChain(root_key=root_key, root=root, issuing_key=issuing_key, issuing=issuing)


_NOT_COPIED = {"id", "parent", "created_at", "updated_at"}


def _row_values(authority: CertificateAuthority) -> dict[str, Any]:
    return {
        field.attname: getattr(authority, field.attname)
        for field in CertificateAuthority._meta.concrete_fields
        if field.name not in _NOT_COPIED
    }


@pytest.fixture(scope="session")
def pki_rows(django_db_setup: None, django_db_blocker: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two CA rows exactly as ``authority_create`` writes them (the transaction is rolled back)."""
    with django_db_blocker.unblock(), transaction.atomic():
        root = authority_create(
            name="Test Root CA",
            slug="test-root",
            subject=x509.Name.from_rfc4514_string("CN=Test Root CA,O=certportal tests"),
            key_spec=KeySpec("RSA", 2048),
            validity_days=3650,
        )
        issuing = authority_create(
            name="Test Issuing CA",
            slug="test-issuing",
            subject=x509.Name.from_rfc4514_string("CN=Test Issuing CA,O=certportal tests"),
            key_spec=KeySpec("RSA", 2048),
            validity_days=1825,
            parent=root,
            path_length=0,
        )
        rows = (_row_values(root), _row_values(issuing))
        transaction.set_rollback(True)
    return rows


@pytest.fixture
def template(db: None) -> CertificateTemplate:
    template = CertificateTemplate(name="TestClientAuth", display_name="Test client authentication")
    template.full_clean()
    template.save()
    return template


@pytest.fixture
def pki(db: None, template: CertificateTemplate, pki_rows: tuple[dict[str, Any], dict[str, Any]]) -> Pki:
    root_values, issuing_values = copy.deepcopy(pki_rows)
    root = CertificateAuthority.objects.create(**root_values)
    issuing = CertificateAuthority.objects.create(parent=root, **issuing_values)
    issuing.published_templates.add(template)
    crl_generate(authority=root)
    crl_generate(authority=issuing)
    return Pki(root=root, issuing=issuing, template=template)


IssueFunction = Callable[..., CertificateRequest]


@pytest.fixture
def issue(pki: Pki, rsa2048_key: rsa.RSAPrivateKey, django_capture_on_commit_callbacks: Any) -> IssueFunction:
    """Submit a request through the RA service and let the (eager) CA task run; return the request.

    Defaults: the session RSA key, subject CN=<common_name>, the fixture's issuing CA and template.
    """

    def _issue(
        csr: x509.CertificateSigningRequest | bytes | None = None,
        *,
        key: CertificateIssuerPrivateKeyTypes | None = None,
        common_name: str = "device-1",
        subject: x509.Name | None = None,
        sans: Sequence[x509.GeneralName] = (),
        authority: CertificateAuthority | None = None,
        template: CertificateTemplate | None = None,
        validity_days: int | None = None,
        sid: str = "",
        digest: hashes.HashAlgorithm | None = None,
    ) -> CertificateRequest:
        if csr is None:
            csr, _ = make_csr(key or rsa2048_key, common_name=common_name, digest=digest)
        with django_capture_on_commit_callbacks(execute=True):
            request = certificate_request_submit(
                authority=authority or pki.issuing,
                template=template or pki.template,
                csr=csr,
                subject=subject
                if subject is not None
                else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]),
                sans=sans,
                validity_days=validity_days,
                sid=sid,
                requester="test",
            )
        request.refresh_from_db()
        return request

    return _issue


RevokeFunction = Callable[..., IssuedCertificate]


@pytest.fixture
def revoke(django_capture_on_commit_callbacks: Any) -> RevokeFunction:
    """An administrator's revocation through the RA service, with the (eager) CA task run on commit;
    returns the certificate refreshed.
    """

    def _revoke(
        certificate: IssuedCertificate, reason: str = "key_compromise", comment: str = ""
    ) -> IssuedCertificate:
        with django_capture_on_commit_callbacks(execute=True):
            certificate_revoke_by_admin(
                certificate=certificate, reason=reason, comment=comment, requested_by="test", wait=0
            )
        certificate.refresh_from_db()
        return certificate

    return _revoke


@pytest.fixture
def issued(issue: IssueFunction) -> IssuedCertificate:
    """One certificate issued by the fixture's issuing CA."""
    return IssuedCertificate.objects.get(request=issue(common_name="issued-1"))


@pytest.fixture
def user_with_perms(django_user_model: Any) -> Callable[..., Any]:
    """A user holding the given ``app_label.codename`` permissions (none by default)."""

    def _user(*perms: str, username: str = "operator") -> Any:
        user = django_user_model.objects.create_user(username=username, password="secret-pw")
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        return django_user_model.objects.get(pk=user.pk)  # fresh: no cached permissions

    return _user


@pytest.fixture
def api_client_for(user_with_perms: Callable[..., Any]) -> Callable[..., APIClient]:
    """An APIClient authenticated with a DRF token of a new user holding ``perms``."""
    counter = itertools.count(1)

    def _client(*perms: str) -> APIClient:
        user = user_with_perms(*perms, username=f"api-user-{next(counter)}")
        client = APIClient()
        client.credentials(
            HTTP_AUTHORIZATION=f"Token {api_token_create(user=user, name='test', created_by=None).secret}"
        )
        client.user = user  # type: ignore[attr-defined]
        return client

    return _client
