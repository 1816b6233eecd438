"""Public, unauthenticated CDP and AIA downloads: /crl/<slug>.crl, /ca/<slug>.crt, /ca/<slug>-chain.pem."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from django.test import TestCase

from ca.models import CertificateRevocationList
from ca.services.revocation_requests import certificate_revoke_by_admin
from ca.tests.pki import openssl, openssl_verify


def test_crl_url_serves_the_latest_crl_as_der(client, pki, issued):
    with TestCase.captureOnCommitCallbacks(execute=True):
        certificate_revoke_by_admin(certificate=issued, reason="key_compromise", requested_by="test", wait=0)
    response = client.get("/crl/test-issuing.crl")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pkix-crl"
    assert response["Content-Disposition"] == 'inline; filename="test-issuing.crl"'
    assert response["Cache-Control"] == "public, max-age=300"
    assert response.content == bytes(pki.issuing.crls.latest().der)
    crl = x509.load_der_x509_crl(response.content)
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 2
    assert crl.get_revoked_certificate_by_serial_number(issued.serial_int) is not None


def test_crl_url_is_the_one_in_issued_certificates(client, pki, issued):
    cdp = issued.certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    url = cdp[0].full_name[0].value
    assert url == "http://127.0.0.1:8000/crl/test-issuing.crl"
    assert client.get(url.removeprefix("http://127.0.0.1:8000")).status_code == 200


def test_crl_verifies_with_openssl_against_the_downloaded_chain(client, pki, tmp_path):
    crl_file = tmp_path / "issuing.crl"
    crl_file.write_bytes(client.get("/crl/test-issuing.crl").content)
    chain_file = tmp_path / "chain.pem"
    chain_file.write_bytes(client.get("/ca/test-issuing-chain.pem").content)
    result = openssl("crl", "-inform", "DER", "-in", str(crl_file), "-CAfile", str(chain_file), "-noout")
    assert "verify OK" in result.stderr


def test_crl_url_of_a_ca_without_a_crl_is_404(client, pki):
    CertificateRevocationList.objects.filter(authority=pki.issuing).delete()
    assert client.get("/crl/test-issuing.crl").status_code == 404


def test_unknown_ca_is_404(client, pki):
    assert client.get("/crl/nope.crl").status_code == 404
    assert client.get("/ca/nope.crt").status_code == 404
    assert client.get("/ca/nope-chain.pem").status_code == 404


def test_downloads_are_get_only(client, pki):
    assert client.post("/crl/test-issuing.crl").status_code == 405
    assert client.post("/ca/test-issuing.crt").status_code == 405
    assert client.post("/ca/test-issuing-chain.pem").status_code == 405


def test_ca_certificate_url_serves_der(client, pki, issued):
    response = client.get("/ca/test-issuing.crt")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pkix-cert"
    assert response["Content-Disposition"] == 'inline; filename="test-issuing.crt"'
    assert x509.load_der_x509_certificate(response.content) == pki.issuing.certificate
    # It is the AIA caIssuers URL of the certificates the CA issues.
    aia = issued.certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert aia[1].access_location.value == "http://127.0.0.1:8000/ca/test-issuing.crt"


def test_chain_url_serves_the_pem_chain_leaf_first(client, pki, issued, tmp_path):
    response = client.get("/ca/test-issuing-chain.pem")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pem-certificate-chain"
    assert response["Content-Disposition"] == 'attachment; filename="test-issuing-chain.pem"'
    chain = x509.load_pem_x509_certificates(response.content)
    assert chain == [pki.issuing.certificate, pki.root.certificate]
    openssl_verify(tmp_path, issued.certificate, *chain)


def test_root_chain_is_the_root_alone(client, pki):
    chain = x509.load_pem_x509_certificates(client.get("/ca/test-root-chain.pem").content)
    assert [c.public_bytes(serialization.Encoding.DER) for c in chain] == [pki.root.certificate_der]
