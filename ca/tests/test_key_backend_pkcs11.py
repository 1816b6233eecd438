"""The PKCS#11 key backend against SoftHSM2: CAs whose keys are generated in the token and never leave it.

Every signature here is the token's, checked with cryptography and with openssl; nothing is mocked.
"""

from __future__ import annotations

import multiprocessing
from io import StringIO

import pytest
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11 import exceptions as p11
from pkcs11.types import WrapMixin

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from django.core.management import CommandError, call_command

from ca.choices import CertificateRequestStatus
from ca.crypto.keys import KeySpec
from ca.key_backends import KeyBackendUnavailable, key_backends
from ca.key_backends.base import KeyBackend, KeyBackendError
from ca.key_backends.pkcs11 import KeyNotExportable, Pkcs11KeyBackend
from ca.models import CertificateAuthority, CertificateRequest, IssuedCertificate
from ca.services.authorities import authority_create
from ca.services.issuance import certificate_issue
from ca.services.key_checks import authority_keys_check
from ca.services.revocation import certificate_revoke
from ca.services.submission import certificate_request_submit
from ca.tests.pki import make_csr, openssl, openssl_verify, write_pem
from ca.tests.softhsm import SoftHsm, token_session

pytestmark = pytest.mark.django_db


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _init_ca(slug: str, key: str, hsm: SoftHsm, *extra: str) -> CertificateAuthority:
    call_command(
        "init_ca",
        *("--slug", slug, "--name", slug, "--subject", f"CN={slug},O=certportal tests", "--key", key),
        *("--key-backend", "pkcs11", "--token", hsm.token, *extra),
        stdout=StringIO(),
    )
    return CertificateAuthority.objects.get(slug=slug)


def _private_key_object(hsm: SoftHsm, authority: CertificateAuthority):
    reference = authority.key_reference
    with token_session(hsm) as session:
        key = session.get_key(
            object_class=ObjectClass.PRIVATE_KEY, label=reference["label"], id=bytes.fromhex(reference["id"])
        )
        return {
            attribute: key[attribute]
            for attribute in (
                Attribute.EXTRACTABLE,
                Attribute.NEVER_EXTRACTABLE,
                Attribute.SENSITIVE,
                Attribute.ALWAYS_SENSITIVE,
                Attribute.PRIVATE,
                Attribute.TOKEN,
                Attribute.SIGN,
                Attribute.DECRYPT,
                Attribute.UNWRAP,
            )
        }


def _latest_crl(authority: CertificateAuthority) -> x509.CertificateRevocationList:
    latest = authority.crls.order_by("-number").first()
    assert latest is not None
    return x509.load_der_x509_crl(bytes(latest.der))


def _rsa_public(authority: CertificateAuthority) -> rsa.RSAPublicKey:
    key = authority.certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def _ec_public(authority: CertificateAuthority) -> ec.EllipticCurvePublicKey:
    key = authority.certificate.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def _issue(
    authority: CertificateAuthority, template, key, django_capture_on_commit_callbacks
) -> IssuedCertificate:
    with django_capture_on_commit_callbacks(execute=True):
        request = certificate_request_submit(
            authority=authority,
            template=template,
            csr=make_csr(key)[0],
            subject=_name("hsm-device"),
            requester="test",
        )
    return IssuedCertificate.objects.get(request=request)


@pytest.mark.parametrize("key_spec", ["RSA-2048", "EC-P256", "EC-P384"])
def test_a_chain_in_the_token_issues_and_revokes_and_openssl_agrees(
    pkcs11_backend, key_spec, template, rsa2048_key, tmp_path, django_capture_on_commit_callbacks
):
    root = _init_ca("hsm-root", key_spec, pkcs11_backend, "--label", "root-key")
    issuing = _init_ca("hsm-issuing", key_spec, pkcs11_backend, "--parent", "hsm-root", "--path-length", "0")
    issuing.published_templates.add(template)
    assert root.key_reference["label"] == "root-key"
    assert issuing.key_reference["label"] == "hsm-issuing"  # the slug when no label is given
    assert {root.key_reference["token"], issuing.key_reference["token"]} == {pkcs11_backend.token}
    assert set(root.key_reference) == {"token", "label", "id", "key_type"}  # no key material in the row
    spec = KeySpec.parse(key_spec)
    assert (root.key_type, root.key_size, issuing.key_type, issuing.key_size) == (
        spec.key_type,
        spec.size,
    ) * 2
    root.certificate.verify_directly_issued_by(root.certificate)
    issuing.certificate.verify_directly_issued_by(root.certificate)

    issued = _issue(issuing, template, rsa2048_key, django_capture_on_commit_callbacks)
    issued.certificate.verify_directly_issued_by(issuing.certificate)
    openssl_verify(tmp_path, issued.certificate, issuing.certificate, root.certificate)

    certificate_revoke(certificate_id=issued.pk, reason="key_compromise")
    crl = _latest_crl(issuing)
    assert crl.is_signature_valid(issuing.certificate.public_key())  # type: ignore[arg-type]
    assert crl.get_revoked_certificate_by_serial_number(issued.certificate.serial_number) is not None
    crl_file = write_pem(tmp_path / "issuing.crl", crl)
    chain = write_pem(tmp_path / "chain.pem", issuing.certificate, root.certificate)
    result = openssl("crl", "-in", str(crl_file), "-CAfile", str(chain), "-noout", "-verify")
    assert "verify OK" in result.stdout + result.stderr
    leaf = write_pem(tmp_path / "leaf.pem", issued.certificate)
    crls = write_pem(tmp_path / "crls.pem", crl, _latest_crl(root))
    refused = openssl(
        "verify", "-crl_check", "-CAfile", str(chain), "-CRLfile", str(crls), str(leaf), check=False
    )
    assert "certificate revoked" in refused.stdout + refused.stderr


def test_keys_are_made_in_the_token_sensitive_private_and_not_extractable(pkcs11_backend):
    authority = _init_ca("hsm-root", "EC-P256", pkcs11_backend)
    attributes = _private_key_object(pkcs11_backend, authority)
    assert attributes == {
        Attribute.EXTRACTABLE: False,
        Attribute.NEVER_EXTRACTABLE: True,
        Attribute.SENSITIVE: True,
        Attribute.ALWAYS_SENSITIVE: True,
        Attribute.PRIVATE: True,
        Attribute.TOKEN: True,
        Attribute.SIGN: True,
        Attribute.DECRYPT: False,
        Attribute.UNWRAP: False,
    }
    public = key_backends["pkcs11"].public_key(authority.key_reference)
    assert public == authority.certificate.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert public.curve.name == "secp256r1"


def test_the_private_key_cannot_leave_the_token(pkcs11_backend):
    authority = _init_ca("hsm-root", "RSA-2048", pkcs11_backend)
    reference = authority.key_reference
    with token_session(pkcs11_backend) as session:
        key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=bytes.fromhex(reference["id"]))
        for secret in (Attribute.PRIVATE_EXPONENT, Attribute.PRIME_1, Attribute.PRIME_2):
            with pytest.raises(p11.AttributeSensitive):
                key[secret]
        wrapping = session.generate_key(
            KeyType.AES, 256, store=False, capabilities=MechanismFlag.WRAP | MechanismFlag.ENCRYPT
        )
        assert isinstance(wrapping, WrapMixin)
        with pytest.raises(p11.KeyUnextractable):
            wrapping.wrap_key(key, mechanism=Mechanism.AES_KEY_WRAP_PAD)
        with pytest.raises(p11.AttributeReadOnly):  # CKA_EXTRACTABLE never goes back to true
            key[Attribute.EXTRACTABLE] = True
        with pytest.raises(p11.AttributeReadOnly):
            key[Attribute.SENSITIVE] = False
    # The backend's object that cryptography's builders sign with has no key material to give either.
    signer = key_backends["pkcs11"]._signing_key(reference)
    assert isinstance(signer, rsa.RSAPrivateKey)
    with pytest.raises(KeyNotExportable):
        signer.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    with pytest.raises(KeyNotExportable):
        signer.private_numbers()
    with pytest.raises(Exception, match="decrypts nothing"):
        signer.decrypt(b"x" * 256, padding.PKCS1v15())


def test_the_key_backend_interface_has_no_method_that_returns_a_key():
    """What a caller can ask a backend: sign, or the public key. Nothing hands out a private key."""
    public = {name for name in dir(KeyBackend) if not name.startswith("_")}
    assert public == {
        "close",
        "create_key",
        "discard_key",
        "is_usable",
        "public_key",
        "sign_certificate",
        "sign_crl",
        "sign_data",
    }
    assert {name for name in dir(Pkcs11KeyBackend) if not name.startswith("_")} == public | {"token_sign"}


def test_without_the_pin_nothing_is_signed_and_the_request_stays_queued(
    pkcs11_backend, template, rsa2048_key, settings
):
    authority = _init_ca("hsm-root", "EC-P256", pkcs11_backend)
    authority.published_templates.add(template)
    request = certificate_request_submit(  # the web tier's part; its dispatch never commits here
        authority=authority,
        template=template,
        csr=make_csr(rsa2048_key)[0],
        subject=_name("web"),
        requester="t",
    )
    settings.CERTPORTAL_PKCS11_PIN = ""
    assert key_backends["pkcs11"].is_usable() is False
    with pytest.raises(KeyBackendUnavailable, match="no PKCS#11 PIN"):
        certificate_issue(request_id=request.pk)
    request.refresh_from_db()
    assert request.status == CertificateRequestStatus.QUEUED
    assert IssuedCertificate.objects.count() == 0
    settings.CERTPORTAL_PKCS11_PIN = pkcs11_backend.pin
    assert certificate_issue(request_id=request.pk) is not None


def test_a_refused_pin_is_not_tried_again_and_the_key_check_says_why(pkcs11_backend, settings):
    authority = _init_ca("hsm-root", "EC-P384", pkcs11_backend)
    assert authority_keys_check() == []
    settings.CERTPORTAL_PKCS11_PIN = "000000"
    backend = key_backends["pkcs11"]
    with pytest.raises(KeyBackendUnavailable, match="refused the PIN"):
        backend.sign_data(authority.key_reference, b"challenge")
    with pytest.raises(KeyBackendUnavailable, match="refused this PIN before; not tried again"):
        backend.sign_data(authority.key_reference, b"challenge")
    [problem] = authority_keys_check()
    assert problem.slug == "hsm-root"
    assert "refused" in problem.reason


def test_the_key_check_signs_in_the_token_and_notices_a_key_of_another_ca(pkcs11_backend):
    first = _init_ca("hsm-first", "EC-P256", pkcs11_backend)
    second = _init_ca("hsm-second", "EC-P256", pkcs11_backend)
    assert authority_keys_check() == []
    CertificateAuthority.objects.filter(pk=first.pk).update(key_reference=second.key_reference)
    [problem] = authority_keys_check()
    assert (problem.slug, problem.reason) == ("hsm-first", "the key does not belong to the CA certificate")


def test_sign_data_is_verified_with_the_certificate_key(pkcs11_backend):
    rsa_ca = _init_ca("hsm-rsa", "RSA-2048", pkcs11_backend)
    ec_ca = _init_ca("hsm-ec", "EC-P384", pkcs11_backend)
    backend = key_backends["pkcs11"]
    for name in ("sha256", "sha384", "sha512"):
        algorithm = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}[name]
        signature = backend.sign_data(rsa_ca.key_reference, b"data", signature_hash=name)
        _rsa_public(rsa_ca).verify(signature, b"data", padding.PKCS1v15(), algorithm)
        signature = backend.sign_data(ec_ca.key_reference, b"data", signature_hash=name)
        _ec_public(ec_ca).verify(signature, b"data", ec.ECDSA(algorithm))


def test_a_taken_label_is_refused_and_nothing_is_created(pkcs11_backend):
    _init_ca("hsm-root", "EC-P256", pkcs11_backend, "--label", "shared")
    with pytest.raises(CommandError, match="already has a key labelled 'shared'"):
        _init_ca("hsm-other", "EC-P256", pkcs11_backend, "--label", "shared")
    assert not CertificateAuthority.objects.filter(slug="hsm-other").exists()
    with token_session(pkcs11_backend) as session:
        assert len(list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}))) == 1


def test_token_options_are_refused_by_the_pkcs8_backends(db):
    with pytest.raises(KeyBackendError, match="options of a PKCS#11 backend"):
        authority_create(
            name="x",
            slug="x",
            subject=_name("x"),
            key_spec=KeySpec("EC", 256),
            validity_days=1,
            key_label="x",
        )


def test_a_discarded_key_is_destroyed_in_the_token(pkcs11_backend):
    backend = key_backends["pkcs11"]
    public, reference = backend.create_key(spec=KeySpec("EC", 256), name="half-made")
    assert isinstance(public, ec.EllipticCurvePublicKey)
    backend.discard_key(reference)
    with token_session(pkcs11_backend) as session:
        assert list(session.get_objects({Attribute.LABEL: "half-made"})) == []
    with pytest.raises(KeyBackendUnavailable, match="no such key"):
        key_backends["pkcs11"].sign_data(reference, b"x")


def test_an_unknown_token_is_unavailable(pkcs11_backend):
    with pytest.raises(KeyBackendUnavailable, match="no single PKCS#11 token labelled 'nowhere'"):
        key_backends["pkcs11"].create_key(spec=KeySpec("EC", 256), name="x", token="nowhere")


def _sign_in_child(backend: Pkcs11KeyBackend, reference: dict[str, str], queue) -> None:
    try:
        queue.put(backend.sign_data(reference, b"forked"))
    except Exception as exc:  # reported to the parent, which fails the test
        queue.put(repr(exc))


def test_a_forked_worker_process_signs_with_the_token(pkcs11_backend):
    """Celery's prefork pool forks after the parent used the token: the child initialises PKCS#11 again."""
    authority = _init_ca("hsm-root", "EC-P256", pkcs11_backend)
    backend = key_backends["pkcs11"]
    backend.sign_data(authority.key_reference, b"parent")  # the parent holds a logged-in session
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_sign_in_child, args=(backend, authority.key_reference, queue))
    child.start()
    signature = queue.get(timeout=60)
    child.join(timeout=60)
    assert isinstance(signature, bytes), signature
    _ec_public(authority).verify(signature, b"forked", ec.ECDSA(hashes.SHA256()))
    backend.sign_data(authority.key_reference, b"parent again")  # the parent's session still works


def test_token_and_database_cas_sign_side_by_side(pkcs11_backend, pki, rsa2048_key):
    """A CA in the token and one in the database side by side: each request signed by its own CA's key."""
    token_ca = _init_ca("hsm-root", "EC-P256", pkcs11_backend)
    token_ca.published_templates.add(pki.template)
    for authority in (token_ca, pki.issuing):
        request = certificate_request_submit(
            authority=authority,
            template=pki.template,
            csr=make_csr(rsa2048_key)[0],
            subject=_name("side-by-side"),
            requester="test",
        )
        issued = certificate_issue(request_id=request.pk)
        assert issued is not None
        issued.certificate.verify_directly_issued_by(authority.certificate)
    assert CertificateRequest.objects.filter(status=CertificateRequestStatus.ISSUED).count() == 2
