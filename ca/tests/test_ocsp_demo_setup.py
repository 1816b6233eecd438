"""The embedded demo ends up with OCSP working: ``demo_setup`` (called by name: ``ca`` imports nothing of the
project) gives both demo CAs a responder, and running it again creates no second one.
"""

from __future__ import annotations

from cryptography.x509 import ocsp

from django.core.management import call_command

from ca.models import CertificateAuthority, IssuedCertificate, OcspResponder
from ca.services.ocsp import ocsp_request_answer
from ca.tests.ocsp import clear_ocsp_caches, ocsp_request


def test_demo_setup_creates_a_responder_per_ca_and_answers(transactional_db, capsys):
    clear_ocsp_caches()
    call_command("demo_setup", "--quiet")
    assert "/ocsp/demo-issuing" in capsys.readouterr().out
    issuing = CertificateAuthority.objects.get(slug="demo-issuing")
    assert issuing.ocsp_url == "http://127.0.0.1:8000/ocsp/demo-issuing"
    assert set(OcspResponder.objects.values_list("authority__slug", flat=True)) == {
        "demo-root",
        "demo-issuing",
    }
    ra_certificate = IssuedCertificate.objects.filter(authority=issuing).exclude(ocsp_responder__isnull=False)
    leaf = ra_certificate.get()  # the RA's certificate, issued after the responder: it has the OCSP URL
    answer = ocsp.load_der_ocsp_response(
        ocsp_request_answer(
            slug="demo-issuing", request_der=ocsp_request(leaf.certificate, issuing.certificate)
        ).der
    )
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
    call_command("demo_setup", "--quiet")
    assert OcspResponder.objects.count() == 2
