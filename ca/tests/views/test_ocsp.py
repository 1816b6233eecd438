"""The OCSP responder over HTTP: openssl against pytest-django's live server, and the protocol edges with
Django's test client (URL forms, content types, caching headers, every error an OCSP answer).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from cryptography import x509
from cryptography.x509 import ocsp

from django.db import DatabaseError
from django.utils.http import parse_http_date

from ca.conf import ca_settings
from ca.key_backends import key_backends
from ca.models import CertificateAuthority, IssuedCertificate, OcspResponder
from ca.services import ocsp as ocsp_service
from ca.services.revocation import certificate_revoke
from ca.tests.ocsp import clear_ocsp_caches, make_responder, ocsp_request, openssl_ocsp
from ca.tests.pki import openssl, write_pem

os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

CONTENT_TYPE = "application/ocsp-response"


@pytest.fixture(autouse=True)
def _fresh_caches():
    clear_ocsp_caches()
    yield
    clear_ocsp_caches()


@pytest.fixture
def responders(pki, monkeypatch) -> dict[str, OcspResponder]:
    return {
        "test-root": make_responder(pki.root, monkeypatch),
        "test-issuing": make_responder(pki.issuing, monkeypatch),
    }


@pytest.fixture
def files(pki, issued, responders, tmp_path) -> dict[str, Path]:
    """The PEM files openssl needs, with both CAs' responders in place."""
    return {
        "issuing": write_pem(tmp_path / "issuing.pem", pki.issuing.certificate),
        "root": write_pem(tmp_path / "root.pem", pki.root.certificate),
        "chain": pki.chain_file(tmp_path),
        "leaf": write_pem(tmp_path / "leaf.pem", issued.certificate),
    }


def _post(client, der: bytes, path: str = "/ocsp/test-issuing") -> ocsp.OCSPResponse:
    response = client.post(path, data=der, content_type="application/ocsp-request")
    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPE
    assert response["Cache-Control"] == "no-store"
    return ocsp.load_der_ocsp_response(response.content)


# --- openssl against the live server --------------------------------------------------------------------


@pytest.mark.external
def test_openssl_good_then_revoked_and_the_crl_agrees(live_server, issued, files, tmp_path):
    url = f"{live_server.url}/ocsp/test-issuing"
    args = ["-issuer", str(files["issuing"]), "-cert", str(files["leaf"]), "-url", url]
    args += ["-CAfile", str(files["chain"]), "-resp_text"]
    result = openssl_ocsp(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Response verify OK" in result.stderr
    assert f"{files['leaf']}: good" in result.stdout
    assert "OCSP Response Status: successful (0x0)" in result.stdout
    assert "Response Type: Basic OCSP Response" in result.stdout
    assert "OCSP Nonce:" in result.stdout  # openssl sends a nonce by default and checks it came back
    assert "WARNING" not in result.stderr
    this_update, next_update = _updates(result.stdout)
    assert dt.timedelta(minutes=59) <= next_update - this_update <= dt.timedelta(hours=1)

    before = dt.datetime.now(tz=dt.UTC).replace(microsecond=0)
    certificate_revoke(certificate_id=issued.pk, reason="key_compromise")
    issued.refresh_from_db()
    result = openssl_ocsp(*args)
    assert "Response verify OK" in result.stderr
    assert f"{files['leaf']}: revoked" in result.stdout
    assert "Reason: keyCompromise" in result.stdout
    revocation_time = _time(_field("Revocation Time", result.stdout))
    assert issued.revoked_at is not None
    assert revocation_time == issued.revoked_at.replace(microsecond=0)
    assert revocation_time >= before

    # The CRL published with the revocation lists the same serial with the same time and reason.
    crl_file = tmp_path / "issuing.crl"
    with urllib.request.urlopen(f"{live_server.url}/crl/test-issuing.crl", timeout=30) as response:
        crl_file.write_bytes(response.read())
    crl = openssl(
        "crl", "-inform", "DER", "-in", str(crl_file), "-CAfile", str(files["chain"]), "-noout", "-text"
    )
    assert "verify OK" in crl.stderr
    entry = crl.stdout.split(f"Serial Number: {issued.serial}", 1)[1]
    assert "Key Compromise" in entry.split("Serial Number:")[0]
    crl_time = _time(_field("Revocation Date", entry))
    assert crl_time == revocation_time


@pytest.mark.external
def test_openssl_unknown_serial_and_another_issuer(live_server, files):
    url = f"{live_server.url}/ocsp/test-issuing"
    result = openssl_ocsp(
        "-issuer", str(files["issuing"]), "-serial", "0x1234567890ABCDEF", "-url", url,
        "-CAfile", str(files["chain"]), "-resp_text",
    )  # fmt: skip
    assert "Response verify OK" in result.stderr
    assert "0x1234567890ABCDEF: unknown" in result.stdout
    # The leaf asked of its issuer's issuer: not this responder's CA.
    result = openssl_ocsp(
        "-issuer",
        str(files["root"]),
        "-cert",
        str(files["leaf"]),
        "-url",
        url,
        "-CAfile",
        str(files["chain"]),
    )
    assert "Responder Error: unauthorized (6)" in result.stdout + result.stderr
    # The root's responder answers for the issuing CA's certificate (a CA it certified).
    issuing_as_leaf = files["issuing"]
    result = openssl_ocsp(
        "-issuer", str(files["root"]), "-cert", str(issuing_as_leaf),
        "-url", f"{live_server.url}/ocsp/test-root", "-CAfile", str(files["chain"]),
    )  # fmt: skip
    assert "Response verify OK" in result.stderr
    assert f"{issuing_as_leaf}: good" in result.stdout


@pytest.mark.external
def test_openssl_sha256_cert_id_and_no_nonce(live_server, files):
    result = openssl_ocsp(
        "-issuer", str(files["issuing"]), "-sha256", "-cert", str(files["leaf"]), "-no_nonce",
        "-url", f"{live_server.url}/ocsp/test-issuing/", "-CAfile", str(files["chain"]), "-resp_text",
    )  # fmt: skip
    assert "Response verify OK" in result.stderr
    assert f"{files['leaf']}: good" in result.stdout
    assert "Hash Algorithm: sha256" in result.stdout
    assert "OCSP Nonce" not in result.stdout


@pytest.mark.external
def test_openssl_reads_a_get_response(live_server, files, tmp_path):
    """RFC 6960 A.1 GET: openssl writes the request, we GET it by hand, openssl checks the response."""
    request_file, response_file = tmp_path / "req.der", tmp_path / "resp.der"
    result = openssl_ocsp(
        "-issuer",
        str(files["issuing"]),
        "-cert",
        str(files["leaf"]),
        "-reqout",
        str(request_file),
        "-req_text",
    )
    assert "OCSP Request Data:" in result.stdout
    encoded = urllib.parse.quote(base64.b64encode(request_file.read_bytes()).decode(), safe="")
    with urllib.request.urlopen(f"{live_server.url}/ocsp/test-issuing/{encoded}", timeout=30) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == CONTENT_TYPE
        assert response.headers["Cache-Control"].startswith("max-age=")
        response_file.write_bytes(response.read())
    # (With -cert, openssl would build a new request and ignore -reqin: read the status from the text.)
    result = openssl_ocsp(
        "-reqin", str(request_file), "-respin", str(response_file), "-no_nonce",
        "-CAfile", str(files["chain"]), "-resp_text",
    )  # fmt: skip
    assert "Response verify OK" in result.stderr
    assert "Cert Status: good" in result.stdout
    assert "WARNING" not in result.stderr  # openssl compared req.der's nonce with the response's
    assert "Nonce Verify error" not in result.stderr
    # ...and it does compare: against another request (another nonce) the same response fails.
    other_request = tmp_path / "other.der"
    openssl_ocsp("-issuer", str(files["issuing"]), "-cert", str(files["leaf"]), "-reqout", str(other_request))
    result = openssl_ocsp(
        "-reqin",
        str(other_request),
        "-respin",
        str(response_file),
        "-no_nonce",
        "-CAfile",
        str(files["chain"]),
    )
    assert "Nonce Verify error" in result.stderr


@pytest.mark.external
def test_openssl_sees_malformed_request_for_garbage(live_server, pki, responders, tmp_path):
    response_file = tmp_path / "resp.der"
    request = urllib.request.Request(
        f"{live_server.url}/ocsp/test-issuing",
        data=b"\x30\x03\x02\x01\x01",
        headers={"Content-Type": "application/ocsp-request"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        response_file.write_bytes(response.read())
    result = openssl_ocsp("-respin", str(response_file), "-resp_text")
    assert "Responder Error: malformedrequest (1)" in result.stdout + result.stderr


# --- protocol edges with the test client ----------------------------------------------------------------


def test_post_at_both_url_forms_answers_good_with_the_nonce(client, pki, issued, responders):
    der = ocsp_request(issued.certificate, pki.issuing.certificate, nonce=b"\x01" * 32)
    for path in ("/ocsp/test-issuing", "/ocsp/test-issuing/"):
        answer = _post(client, der, path)
        assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
        assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
        assert answer.serial_number == issued.serial_int
        assert answer.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"\x01" * 32
        assert answer.certificates == [responders["test-issuing"].certificate.certificate]


def test_get_answer_is_cacheable_until_next_update(client, pki, issued, responders, time_machine):
    time_machine.move_to(dt.datetime.now(tz=dt.UTC).replace(microsecond=0), tick=False)
    der = ocsp_request(issued.certificate, pki.issuing.certificate)
    encoded = urllib.parse.quote(base64.b64encode(der).decode(), safe="")
    response = client.get(f"/ocsp/test-issuing/{encoded}")
    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPE
    answer = ocsp.load_der_ocsp_response(response.content)
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert answer.next_update_utc is not None
    assert answer.next_update_utc - answer.this_update_utc == dt.timedelta(hours=1)
    assert response["Cache-Control"] == "max-age=3600, public, no-transform, must-revalidate"
    assert parse_http_date(response["Expires"]) == answer.next_update_utc.timestamp()
    assert parse_http_date(response["Last-Modified"]) == answer.this_update_utc.timestamp()
    assert re.fullmatch(r'"[0-9a-f]{40}"', response["ETag"])


def test_get_tolerates_unescaped_base64_and_url_safe_characters(client, pki, issued, responders):
    der = ocsp_request(issued.certificate, pki.issuing.certificate, nonce=b"\xfb\xff\xfe" * 5)
    standard = base64.b64encode(der).decode()
    for encoded in (standard, base64.urlsafe_b64encode(der).decode(), "/" + standard):
        answer = ocsp.load_der_ocsp_response(client.get(f"/ocsp/test-issuing/{encoded}").content)
        assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL, encoded
        assert answer.serial_number == issued.serial_int


def test_next_update_follows_the_setting(client, pki, issued, responders, settings):
    settings.CERTPORTAL_OCSP_RESPONSE_VALIDITY = 600
    answer = _post(client, ocsp_request(issued.certificate, pki.issuing.certificate))
    assert answer.next_update_utc is not None
    assert answer.next_update_utc - answer.this_update_utc == dt.timedelta(minutes=10)


def test_revoked_answer_flips_at_the_revocation_and_unspecified_has_no_reason(client, pki, issue, responders):
    first = IssuedCertificate.objects.get(request=issue(common_name="first"))
    second = IssuedCertificate.objects.get(request=issue(common_name="second"))
    certificate_revoke(certificate_id=first.pk, reason="unspecified")
    certificate_revoke(certificate_id=second.pk, reason="superseded")
    first.refresh_from_db()
    answer = _post(client, ocsp_request(first.certificate, pki.issuing.certificate))
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert first.revoked_at is not None
    assert answer.revocation_time_utc == first.revoked_at.replace(microsecond=0)
    assert answer.revocation_reason is None
    answer = _post(client, ocsp_request(second.certificate, pki.issuing.certificate))
    assert answer.revocation_reason == x509.ReasonFlags.superseded


def test_requests_for_another_issuer_or_ca_are_unauthorized(client, pki, issued, responders):
    of_root = ocsp_request(issued.certificate, pki.root.certificate)  # the leaf, hashed with the wrong CA
    assert _post(client, of_root).response_status == ocsp.OCSPResponseStatus.UNAUTHORIZED
    right = ocsp_request(issued.certificate, pki.issuing.certificate)
    assert _post(client, right, "/ocsp/test-root").response_status == ocsp.OCSPResponseStatus.UNAUTHORIZED
    assert _post(client, right, "/ocsp/nope").response_status == ocsp.OCSPResponseStatus.UNAUTHORIZED


@pytest.mark.parametrize(
    "body",
    [b"", b"garbage", b"\x30\x03\x02\x01\x01", b"\x30" * 20000],
    ids=["empty", "garbage", "wrong-structure", "oversized"],
)
def test_unreadable_posts_are_malformed_request(client, pki, responders, body):
    answer = _post(client, body)
    assert answer.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_a_nonce_over_32_octets_is_malformed_request(client, pki, issued, responders):
    der = ocsp_request(issued.certificate, pki.issuing.certificate, nonce=b"\x02" * 33)
    assert _post(client, der).response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


@pytest.mark.parametrize(
    "path", ["/ocsp/test-issuing", "/ocsp/test-issuing/", "/ocsp/test-issuing/%%%", "/ocsp/test-issuing/AAAA"]
)
def test_a_get_without_a_readable_request_is_malformed_request(client, pki, responders, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    answer = ocsp.load_der_ocsp_response(response.content)
    assert answer.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_other_methods_are_405(client, pki):
    assert client.put("/ocsp/test-issuing", data=b"x").status_code == 405
    assert client.delete("/ocsp/test-issuing").status_code == 405


def test_a_ca_without_a_valid_responder_says_try_later(client, pki, issued):
    answer = _post(client, ocsp_request(issued.certificate, pki.issuing.certificate))
    assert answer.response_status == ocsp.OCSPResponseStatus.TRY_LATER


def test_a_wrong_ocsp_passphrase_is_an_internal_error_not_a_500(client, issued, responders, settings, caplog):
    settings.CERTPORTAL_OCSP_KEY_PASSPHRASE = "not-the-passphrase"
    answer = _post(client, ocsp_request(issued.certificate, issued.authority.certificate))
    assert answer.response_status == ocsp.OCSPResponseStatus.INTERNAL_ERROR
    assert "CERTPORTAL_OCSP_KEY_PASSPHRASE" in caplog.text


def test_a_database_outage_says_try_later(client, pki, issued, responders, monkeypatch):
    def down(**kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(ocsp_service, "certificate_revocation_state_get", down)
    answer = _post(client, ocsp_request(issued.certificate, pki.issuing.certificate))
    assert answer.response_status == ocsp.OCSPResponseStatus.TRY_LATER


def test_an_unexpected_error_is_an_internal_error_not_a_500(client, pki, issued, responders, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(ocsp_service, "certificate_revocation_state_get", broken)
    answer = _post(client, ocsp_request(issued.certificate, pki.issuing.certificate))
    assert answer.response_status == ocsp.OCSPResponseStatus.INTERNAL_ERROR


def test_the_web_tier_answers_without_the_ca_passphrase(client, pki, issued, responders, settings):
    """The responders exist; the web tier has no CA key passphrase and cannot load a CA key: OCSP still
    answers, signed by the delegated responder (not by the CA).
    """
    settings.CERTPORTAL_CA_KEY_PASSPHRASE = ""
    assert ca_settings().CA_KEY_PASSPHRASE.get_secret_value() == ""
    with pytest.raises(Exception, match=r"(?i)passphrase"):
        key_backends[pki.issuing.key_backend].sign_data(pki.issuing.key_reference, b"x")
    answer = _post(client, ocsp_request(issued.certificate, pki.issuing.certificate))
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
    signer = answer.certificates[0]
    assert signer != pki.issuing.certificate
    assert answer.responder_key_hash == x509.SubjectKeyIdentifier.from_public_key(signer.public_key()).digest


def test_the_web_tier_modules_load_no_ca_side_module():
    """Importing the OCSP view and service (as the web tier does) loads no CA worker module."""
    code = (
        "import django, sys; django.setup(); import ca.views.ocsp, ca.services.ocsp, ca.urls; "
        "side = ('ca.tasks', 'ca.services.issuance', 'ca.services.revocation', 'ca.services.authorities', "
        "'ca.key_backends'); bad = [m for m in sys.modules if m in side or m.startswith(side[-1] + '.')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.test"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_answering_takes_three_queries(client, pki, issued, responders, django_assert_num_queries):
    der = ocsp_request(issued.certificate, pki.issuing.certificate)
    _post(client, der)  # decrypts and caches the responder key
    with django_assert_num_queries(3):  # the CA, its current responder, the certificate's row
        answer = _post(client, der)
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD


def test_a_renewed_responder_takes_over_and_the_old_answer_still_verifies(
    client, pki, issued, responders, monkeypatch
):
    der = ocsp_request(issued.certificate, pki.issuing.certificate)
    old = _post(client, der).certificates[0]
    new_responder = make_responder(pki.issuing, monkeypatch)
    signer = _post(client, der).certificates[0]
    assert signer == new_responder.certificate.certificate
    assert signer != old
    assert OcspResponder.objects.filter(authority=pki.issuing).count() == 2
    assert CertificateAuthority.objects.get(pk=pki.issuing.pk).ocsp_url.endswith("/ocsp/test-issuing")


def _time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text.strip(), "%b %d %H:%M:%S %Y %Z").replace(tzinfo=dt.UTC)


def _updates(text: str) -> tuple[dt.datetime, dt.datetime]:
    return _time(_field("This Update", text)), _time(_field("Next Update", text))


def _field(name: str, text: str) -> str:
    """The value of ``name: value`` in openssl's text output."""
    match = re.search(rf"{name}: (.+)", text)
    assert match is not None, f"no {name} in {text}"
    return match.group(1)
