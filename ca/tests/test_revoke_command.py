"""manage.py revoke_certificate: revocation from a script, by serial or thumbprint, with a reason."""

from __future__ import annotations

import io

import pytest

from cryptography import x509

from django.core.management import CommandError, call_command

from ca.models import RevocationRequest

pytestmark = pytest.mark.django_db(transaction=True)  # the request is sent to the CA when it commits


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("revoke_certificate", *args, stdout=out)
    return out.getvalue()


def test_revoke_by_serial_with_a_reason(issued, pki):
    output = _run("--serial", issued.serial.lower(), "--reason", "key_compromise", "--comment", "stolen")

    issued.refresh_from_db()
    assert issued.revocation_reason == "key_compromise"
    request = RevocationRequest.objects.get()
    assert output.strip() == f"{issued.serial} ({issued.subject}): revoked, revocation request {request.pk}"
    assert (request.requested_by, request.comment, request.cause) == (
        "command:revoke_certificate",
        "stolen",
        "admin",
    )
    crl = x509.load_der_x509_crl(bytes(pki.issuing.crls.latest().der))
    assert crl.get_revoked_certificate_by_serial_number(issued.serial_int) is not None


def test_revoke_by_thumbprint(issued):
    colons = ":".join(issued.fingerprint_sha1[i : i + 2] for i in range(0, 40, 2))
    _run("--thumbprint", colons)
    issued.refresh_from_db()
    assert issued.revocation_reason == "unspecified"


def test_an_unknown_or_revoked_certificate_is_an_error(issued):
    with pytest.raises(CommandError, match="no certificate has it"):
        _run("--serial", "ABCDEF")
    with pytest.raises(CommandError, match="a serial is written in hex"):
        _run("--serial", "not-hex")
    _run("--serial", issued.serial)
    err = io.StringIO()
    with pytest.raises(CommandError, match="some certificates were not revoked"):
        call_command("revoke_certificate", "--serial", issued.serial, stdout=io.StringIO(), stderr=err)
    assert "already revoked" in err.getvalue() or "was revoked at" in err.getvalue()
    assert RevocationRequest.objects.count() == 1
