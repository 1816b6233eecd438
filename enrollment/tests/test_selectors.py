"""``scep_renewal_origin``: the PKCSReq transaction a chain of renewals began with (what renewal_verify is
given), found by the certificate's request, so also before the transaction answered with the certificate.
"""

from __future__ import annotations

from ca.models import IssuedCertificate
from enrollment import scep
from enrollment.choices import TransactionStatus
from enrollment.models import ScepTransaction
from enrollment.selectors import scep_renewal_origin
from enrollment.tests.fixtures import Device


def test_the_origin_of_an_enrolled_certificate_is_its_pkcs_req(
    db, scep_client, device_keys, settings, django_capture_on_commit_callbacks
):
    settings.CERTPORTAL_SCEP_ISSUE_WAIT = 0
    device = Device.create(device_keys[0])
    with django_capture_on_commit_callbacks(execute=True):  # the CA issues after the PENDING answer
        assert scep_client.enroll(device).status is scep.PkiStatus.PENDING
    pkcs_req = ScepTransaction.objects.get()
    certificate = IssuedCertificate.objects.get()
    assert (pkcs_req.status, pkcs_req.certificate) == (TransactionStatus.PENDING, None)  # not answered yet

    assert scep_renewal_origin(certificate=certificate) == pkcs_req


def test_a_certificate_not_issued_through_scep_has_no_origin(db, issued):
    assert scep_renewal_origin(certificate=issued) is None
