"""Key backends: CA keys stored as passphrase-encrypted PKCS#8, in the database or in files."""

from __future__ import annotations

import json
import stat

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.x509.oid import NameOID

from django.core.exceptions import ValidationError

from ca.choices import CertificateRequestStatus
from ca.crypto.keys import KeySpec
from ca.key_backends import KeyBackendUnavailable, key_backends
from ca.key_backends.db import DatabaseKeyBackend
from ca.key_backends.file import FileKeyBackend
from ca.models import CertificateRequest, IssuedCertificate
from ca.services.authorities import authority_create
from ca.services.issuance import certificate_issue
from ca.services.revocation import crl_generate
from ca.services.submission import certificate_request_submit
from ca.tests.pki import make_csr, openssl_verify

PASSPHRASE = "test-ca-passphrase"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture
def file_backend(settings, tmp_path):
    directory = tmp_path / "keys"
    settings.CERTPORTAL_KEY_BACKENDS = {
        "default": {
            "BACKEND": "ca.key_backends.file.FileKeyBackend",
            "OPTIONS": {"directory": str(directory)},
        }
    }
    return directory


# --- Database backend ---------------------------------------------------------------------------------


def test_default_backend_is_the_database_backend(pki):
    assert isinstance(key_backends["default"], DatabaseKeyBackend)
    assert pki.issuing.key_backend == "default"


def test_database_backend_stores_only_encrypted_pkcs8(pki):
    reference = pki.issuing.key_reference
    assert list(reference) == ["encrypted_pkcs8"]
    pem = reference["encrypted_pkcs8"]
    assert pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    assert pem.rstrip().endswith("-----END ENCRYPTED PRIVATE KEY-----")
    serialized = json.dumps(reference)
    for clear in ("BEGIN PRIVATE KEY", "BEGIN RSA PRIVATE KEY", "BEGIN EC PRIVATE KEY"):
        assert clear not in serialized
    with pytest.raises(TypeError, match="encrypted"):
        serialization.load_pem_private_key(pem.encode(), password=None)


def test_database_backend_key_decrypts_with_the_passphrase_to_the_cas_key(pki):
    pem = pki.issuing.key_reference["encrypted_pkcs8"].encode()
    key = serialization.load_pem_private_key(pem, password=PASSPHRASE.encode())
    assert key.public_key() == pki.issuing.certificate.public_key()
    assert (
        key_backends["default"].public_key(pki.issuing.key_reference) == pki.issuing.certificate.public_key()
    )


def test_wrong_passphrase_makes_the_key_unavailable(pki, settings):
    settings.CERTPORTAL_CA_KEY_PASSPHRASE = "not-the-passphrase"
    with pytest.raises(KeyBackendUnavailable, match="wrong CERTPORTAL_CA_KEY_PASSPHRASE") as excinfo:
        key_backends["default"].sign_data(pki.issuing.key_reference, b"x")
    assert excinfo.value.code == "key_backend_unavailable"
    assert excinfo.value.http_status == 503


def test_a_cached_key_is_not_handed_out_for_a_wrong_passphrase(pki, settings):
    backend = key_backends["default"]
    backend.sign_data(pki.issuing.key_reference, b"x")  # now cached under the right passphrase
    settings.CERTPORTAL_CA_KEY_PASSPHRASE = "not-the-passphrase"
    with pytest.raises(KeyBackendUnavailable):
        key_backends["default"].sign_data(pki.issuing.key_reference, b"x")
    with pytest.raises(KeyBackendUnavailable):
        backend.sign_data(pki.issuing.key_reference, b"x")  # the old instance checks the passphrase too


def test_stored_key_that_cannot_sign_is_unavailable(db):
    pem = x25519.X25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSPHRASE.encode()),
    )
    with pytest.raises(KeyBackendUnavailable, match="X25519PrivateKey cannot sign certificates"):
        key_backends["default"].sign_data({"encrypted_pkcs8": pem.decode()}, b"x")


def test_database_reference_without_a_key_is_unavailable(pki):
    with pytest.raises(KeyBackendUnavailable, match="not stored in the database backend"):
        key_backends["default"].sign_data({"path": "test-issuing.key.pem"}, b"x")


def test_unknown_backend_alias_is_unavailable():
    with pytest.raises(KeyBackendUnavailable, match="no key backend 'hsm'"):
        key_backends["hsm"]


# --- Without the passphrase (the web tier) ------------------------------------------------------------


@pytest.fixture
def queued_request(pki, rsa2048_key) -> CertificateRequest:
    # Submitted by the RA (no CA key needed); its dispatch is discarded with the test transaction.
    return certificate_request_submit(
        authority=pki.issuing,
        template=pki.template,
        csr=make_csr(rsa2048_key)[0],
        subject=_name("web-tier"),
        requester="test",
    )


def test_issuance_without_the_passphrase_is_unavailable_and_writes_nothing(queued_request, settings):
    settings.CERTPORTAL_CA_KEY_PASSPHRASE = ""
    assert key_backends["default"].is_usable() is False
    with pytest.raises(KeyBackendUnavailable, match="no CA key passphrase") as excinfo:
        certificate_issue(request_id=queued_request.pk)
    assert excinfo.value.code == "key_backend_unavailable"
    assert IssuedCertificate.objects.count() == 0
    queued_request.refresh_from_db()
    assert queued_request.status == CertificateRequestStatus.QUEUED


def test_submission_without_the_passphrase_leaves_the_request_queued(
    pki, rsa2048_key, settings, django_capture_on_commit_callbacks
):
    settings.CERTPORTAL_CA_KEY_PASSPHRASE = ""
    with django_capture_on_commit_callbacks(execute=True):
        request = certificate_request_submit(
            authority=pki.issuing,
            template=pki.template,
            csr=make_csr(rsa2048_key)[0],
            subject=_name("web"),
            requester="test",
        )
    request.refresh_from_db()
    assert request.status == CertificateRequestStatus.QUEUED
    assert IssuedCertificate.objects.count() == 0


def test_crl_generation_without_the_passphrase_is_unavailable(pki, settings):
    settings.CERTPORTAL_CA_KEY_PASSPHRASE = ""
    with pytest.raises(KeyBackendUnavailable):
        crl_generate(authority=pki.issuing)
    assert pki.issuing.crls.count() == 1


def test_passphrase_restored_makes_the_queued_request_issuable(queued_request, settings):
    settings.CERTPORTAL_CA_KEY_PASSPHRASE = ""
    with pytest.raises(KeyBackendUnavailable):
        certificate_issue(request_id=queued_request.pk)
    settings.CERTPORTAL_CA_KEY_PASSPHRASE = PASSPHRASE
    assert certificate_issue(request_id=queued_request.pk) is not None


# --- File backend -------------------------------------------------------------------------------------


def _file_ca(slug: str = "file-root", **kwargs):
    return authority_create(
        name=slug, slug=slug, subject=_name(slug), key_spec=KeySpec("EC", 256), validity_days=30, **kwargs
    )


def test_file_backend_writes_encrypted_pkcs8_readable_by_the_owner_only(db, file_backend):
    authority = _file_ca()
    assert isinstance(key_backends["default"], FileKeyBackend)
    assert authority.key_reference == {"path": "file-root.key.pem"}
    path = file_backend / "file-root.key.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(file_backend.stat().st_mode) & 0o077 == 0
    pem = path.read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    key = serialization.load_pem_private_key(pem, password=PASSPHRASE.encode())
    assert key.public_key() == authority.certificate.public_key()


def test_file_backend_keys_sign_a_chain_openssl_accepts(
    file_backend, rsa2048_key, template, tmp_path, django_capture_on_commit_callbacks
):
    root = _file_ca("file-root")
    issuing = _file_ca("file-issuing", parent=root, path_length=0)
    issuing.published_templates.add(template)
    assert sorted(p.name for p in file_backend.iterdir()) == ["file-issuing.key.pem", "file-root.key.pem"]
    with django_capture_on_commit_callbacks(execute=True):
        request = certificate_request_submit(
            authority=issuing,
            template=template,
            csr=make_csr(rsa2048_key)[0],
            subject=_name("file-leaf"),
            requester="test",
        )
    cert = IssuedCertificate.objects.get(request=request).certificate
    openssl_verify(tmp_path, cert, issuing.certificate, root.certificate)


def test_file_backend_never_overwrites_an_existing_key_file(db, file_backend):
    first = _file_ca("same")
    first.delete()
    second = _file_ca("same")
    assert second.key_reference == {"path": "same-2.key.pem"}
    assert (file_backend / "same.key.pem").exists()
    assert key_backends["default"].public_key(second.key_reference) == second.certificate.public_key()


def test_failed_creation_leaves_no_key_file(db, file_backend):
    _file_ca("first")
    with pytest.raises(ValidationError):
        authority_create(
            name="first",
            slug="second",
            subject=_name("second"),
            key_spec=KeySpec("EC", 256),
            validity_days=30,
        )
    assert sorted(p.name for p in file_backend.iterdir()) == ["first.key.pem"]


def test_file_backend_wrong_passphrase_is_unavailable(db, file_backend, settings):
    authority = _file_ca()
    settings.CERTPORTAL_CA_KEY_PASSPHRASE = "not-the-passphrase"
    with pytest.raises(KeyBackendUnavailable, match="wrong CERTPORTAL_CA_KEY_PASSPHRASE"):
        key_backends["default"].sign_data(authority.key_reference, b"x")


def test_file_backend_missing_file_is_unavailable(db, file_backend):
    authority = _file_ca()
    (file_backend / "file-root.key.pem").unlink()
    key_backends.reset()  # a worker started since: nothing cached from the creation
    with pytest.raises(KeyBackendUnavailable, match="is not readable"):
        key_backends["default"].sign_data(authority.key_reference, b"x")


def test_file_backend_reference_cannot_leave_its_directory(db, file_backend, tmp_path):
    _file_ca()
    outside = tmp_path / "outside.key.pem"
    outside.write_bytes((file_backend / "file-root.key.pem").read_bytes())
    with pytest.raises(KeyBackendUnavailable, match=r"'outside\.key\.pem' is not readable"):
        key_backends["default"].sign_data({"path": "../outside.key.pem"}, b"x")
    with pytest.raises(KeyBackendUnavailable):
        key_backends["default"].sign_data({"path": str(outside)}, b"x")


def test_file_backend_names_files_after_a_sanitised_slug(tmp_path):
    backend = FileKeyBackend("default", directory=str(tmp_path / "k"))
    assert backend.store(b"pem", name="../../etc/passwd") == {"path": ".._.._etc_passwd.key.pem"}
    assert (tmp_path / "k" / ".._.._etc_passwd.key.pem").read_bytes() == b"pem"
    assert backend.store(b"pem", name="") == {"path": "ca.key.pem"}
