"""SCEP with the CA keys in a PKCS#11 token (SoftHSM2): the whole path signs with keys that never leave it.

A root and an issuing CA are made in the token by ``init_ca --key-backend pkcs11``; the issuing CA certifies
its SCEP RA and a delegated OCSP responder, a device enrolls over PKIOperation, the certificate is revoked
and both the CRL and the OCSP answer say so. Every signature is checked with cryptography and openssl.
"""

from __future__ import annotations

from io import StringIO

import pytest
from pkcs11 import Attribute, ObjectClass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp

from django.core.management import call_command
from django.test import Client

from ca.key_backends import key_backends
from ca.models import CertificateAuthority, CertificateTemplate, IssuedCertificate
from ca.tests.fixtures import RevokeFunction
from ca.tests.ocsp import clear_ocsp_caches, make_responder, ocsp_request, openssl_ocsp
from ca.tests.pki import openssl, openssl_verify, write_pem
from ca.tests.softhsm import SoftHsm, token_session
from enrollment import scep
from enrollment.ra import ra_identity
from enrollment.services.registration import registration_authority_create, scep_service_create
from enrollment.tests.fixtures import STATIC_CHALLENGE, Device, ScepTester, issued_row, name

pytestmark = pytest.mark.django_db


def _init_ca(slug: str, key: str, hsm: SoftHsm, *extra: str) -> CertificateAuthority:
    call_command(
        "init_ca",
        *("--slug", slug, "--name", slug, "--subject", f"CN={slug},O=certportal tests", "--key", key),
        *("--key-backend", "pkcs11", "--token", hsm.token, *extra),
        stdout=StringIO(),
    )
    return CertificateAuthority.objects.get(slug=slug)


def _latest_crl(authority: CertificateAuthority) -> x509.CertificateRevocationList:
    latest = authority.crls.order_by("-number").first()
    assert latest is not None
    return x509.load_der_x509_crl(bytes(latest.der))


def test_scep_issue_revoke_crl_and_ocsp_with_ca_keys_in_the_token(
    pkcs11_backend: SoftHsm,
    template: CertificateTemplate,
    device_keys: list[rsa.RSAPrivateKey],
    client: Client,
    revoke: RevokeFunction,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path,
) -> None:
    root = _init_ca("hsm-root", "RSA-2048", pkcs11_backend, "--label", "hsm-root-2026")
    issuing = _init_ca("hsm-issuing", "EC-P384", pkcs11_backend, "--parent", "hsm-root", "--path-length", "0")
    issuing.published_templates.add(template)
    with token_session(pkcs11_backend) as session:  # both keys are token objects that cannot be exported
        keys = list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}))
        assert sorted(key[Attribute.LABEL] for key in keys) == ["hsm-issuing", "hsm-root-2026"]
        assert {(key[Attribute.EXTRACTABLE], key[Attribute.SENSITIVE]) for key in keys} == {(False, True)}

    # The RA certificate and the OCSP responder's are signed by the token's issuing key (the CA task runs
    # at once: in a test's transaction nothing commits).
    clear_ocsp_caches()
    responder = make_responder(issuing, monkeypatch)
    ra = registration_authority_create(
        authority=issuing, name="HSM SCEP RA", subject=name("HSM SCEP RA"), wait=5
    )
    service = scep_service_create(
        slug="hsm",
        name="HSM SCEP",
        authority=issuing,
        registration_authority=ra,
        general_purpose_template=template,
        static_challenge=STATIC_CHALLENGE,
    )
    identity = ra_identity(service.registration_authority)
    identity.certificate.verify_directly_issued_by(issuing.certificate)
    scep_client = ScepTester(client, service, (identity.certificate, *identity.ca_chain))
    assert scep_client.certificates[1:] == (issuing.certificate, root.certificate)

    result = scep_client.enroll(Device.create(device_keys[0], "hsm-device"))
    assert result.status is scep.PkiStatus.SUCCESS, result.fail_info_text
    issued: IssuedCertificate = issued_row(result)
    leaf = issued.certificate
    leaf.verify_directly_issued_by(issuing.certificate)
    assert isinstance(issuing.certificate.public_key(), ec.EllipticCurvePublicKey)
    openssl_verify(tmp_path, leaf, issuing.certificate, root.certificate)

    revoked = revoke(issued, reason="key_compromise")
    assert revoked.revoked_at is not None
    crl = _latest_crl(issuing)
    assert crl.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None
    chain = write_pem(tmp_path / "chain.pem", issuing.certificate, root.certificate)
    crl_file = write_pem(tmp_path / "issuing.crl", crl)
    verified = openssl("crl", "-in", str(crl_file), "-CAfile", str(chain), "-noout", "-verify")
    assert "verify OK" in verified.stdout + verified.stderr

    # OCSP: answered by the delegated responder (its key is the web tier's), whose certificate the token
    # key signed; openssl checks the response, the responder's certificate and its chain.
    responder_certificate = responder.certificate.certificate
    responder_certificate.verify_directly_issued_by(issuing.certificate)
    openssl_verify(
        tmp_path, responder_certificate, issuing.certificate, root.certificate, purpose="ocsphelper"
    )
    answer = client.post(
        "/ocsp/hsm-issuing",
        data=ocsp_request(leaf, issuing.certificate),
        content_type="application/ocsp-request",
    )
    assert answer.status_code == 200
    response = ocsp.load_der_ocsp_response(answer.content)
    assert response.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert response.certificates == [responder_certificate]
    (tmp_path / "response.der").write_bytes(answer.content)
    checked = openssl_ocsp(
        "-respin",
        str(tmp_path / "response.der"),
        "-issuer",
        str(write_pem(tmp_path / "i.pem", issuing.certificate)),
        "-cert",
        str(write_pem(tmp_path / "leaf.pem", leaf)),
        "-CAfile",
        str(chain),
    )
    assert "Response verify OK" in checked.stdout + checked.stderr, checked.stdout + checked.stderr
    assert ": revoked" in checked.stdout
    # The token's keys signed all of it: the backend still reaches them, and they are the CAs' keys.
    assert key_backends["pkcs11"].public_key(issuing.key_reference) == issuing.certificate.public_key()
