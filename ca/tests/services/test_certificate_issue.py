from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ca.choices import CertificateRequestStatus
from ca.models import IssuedCertificate
from ca.services.submission import certificate_request_submit
from ca.tests.pki import make_csr, openssl, write_pem


def test_issued_certificate_verifies_with_openssl_against_the_chain(pki, tmp_path, django_capture_on_commit_callbacks):
    csr, _ = make_csr(common_name="laptop-42")
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "laptop-42")])
    with django_capture_on_commit_callbacks(execute=True):
        request = certificate_request_submit(
            authority=pki.issuing, template=pki.template, csr=csr, subject=subject,
            sans=[x509.DNSName("laptop-42.corp.example")], requester="test",
        )
    request.refresh_from_db()
    assert request.status == CertificateRequestStatus.ISSUED
    issued = IssuedCertificate.objects.get(request=request)
    cert = issued.certificate
    assert cert.subject == subject
    assert cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    chain = write_pem(tmp_path / "chain.pem", pki.issuing.certificate, pki.root.certificate)
    leaf = write_pem(tmp_path / "leaf.pem", cert)
    result = openssl("verify", "-CAfile", str(chain), "-purpose", "sslclient", str(leaf))
    assert result.stdout.strip().endswith(": OK")
