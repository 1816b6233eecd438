"""The SCEP endpoint's HTTP layer (reference bad-input matrix H-01..H-17): operations, paths, limits.

Every answer is plain text or a SCEP content type, never a 500 and never a DRF error page.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

import pytest

from cryptography import x509

from ca.tests.pki import openssl, write_pem
from enrollment import scep
from enrollment.models import ScepService
from enrollment.tests.fixtures import Device, assert_protocol_answer
from eventlog.choices import EventId
from eventlog.models import ConnectorEvent

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse  # the test client's response

STRICT_CAPS = ["POSTPKIOperation", "SHA-256", "SHA-384", "SHA-512", "AES", "SCEPStandard", "Renewal"]
NDES_PATHS = [
    "/scep",
    "/scep/",
    "/certsrv/mscep/mscep.dll",
    "/certsrv/mscep/mscep.dll/pkiclient.exe",
    "/cgi-bin/pkiclient.exe",
]


def caps(response: TestResponse) -> list[str]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode("ascii").splitlines()


def malformed_events() -> list[str]:
    return list(
        ConnectorEvent.objects.filter(event_id=EventId.SCEP_MALFORMED_REQUEST).values_list(
            "message", flat=True
        )
    )


# --- operations --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/scep/strict", "/scep", "/certsrv/mscep/mscep.dll"])
def test_no_operation_shows_an_information_page_naming_the_ca(client, scep_service, path, settings):
    """With CERTPORTAL_NDES_TEST_PAGE, for a browser; otherwise 403 (views/test_ndes_pages.py)."""
    settings.CERTPORTAL_NDES_TEST_PAGE = True
    response = client.get(path, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    page = response.content.decode("utf-8")
    assert "Test Issuing CA" in page
    assert "Strict SCEP" in page
    assert scep_service.authority.fingerprint_sha1 in page


def test_unknown_operation_is_400_text(client, scep_service):
    response = client.get("/scep/strict", {"operation": "Bogus"})
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == b"unknown operation 'Bogus'\n"


def test_empty_operation_is_400_text(client, scep_service):
    response = client.get("/scep/strict", {"operation": ""})
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize("operation", ["getcacaps", "GETCACAPS", "GetCaCaps", " GetCACaps "])
def test_operation_name_is_case_insensitive(client, scep_service, operation):
    assert caps(client.get("/scep/strict", {"operation": operation})) == STRICT_CAPS


def test_get_ca_caps_without_legacy_algorithms(client, scep_service):
    response = client.get("/scep/strict", {"operation": "GetCACaps"})
    assert response["Content-Type"] == "text/plain; charset=us-ascii"
    assert caps(response) == STRICT_CAPS
    assert "SHA-1" not in caps(response)
    assert "DES3" not in caps(response)
    assert "GetNextCACert" not in caps(response)


def test_get_ca_caps_with_legacy_algorithms(client, legacy_scep_service):
    assert caps(client.get("/scep/legacy", {"operation": "GetCACaps"})) == [*STRICT_CAPS, "SHA-1", "DES3"]


def test_get_ca_caps_with_a_ca_identifier_message(client, scep_service):
    """certmonger sends message=0; the CA identifier is ignored."""
    assert caps(client.get("/scep/strict", {"operation": "GetCACaps", "message": "0"})) == STRICT_CAPS


def test_get_ca_caps_advertises_get_next_ca_cert_only_during_rollover(
    client, scep_service, next_registration_authority
):
    scep_service.next_registration_authority = next_registration_authority
    scep_service.save()
    assert caps(client.get("/scep/strict", {"operation": "GetCACaps"})) == [*STRICT_CAPS, "GetNextCACert"]


def test_get_ca_caps_without_renewal(client, scep_service):
    scep_service.allow_renewal = False
    scep_service.save()
    assert caps(client.get("/scep/strict", {"operation": "GetCACaps"})) == STRICT_CAPS[:-1]


def test_get_ca_cert_is_the_ra_certificate_then_the_ca_chain(client, scep_service, pki, tmp_path):
    response = client.get("/scep/strict", {"operation": "GetCACert"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-x509-ca-ra-cert"

    certificates, crls = scep.parse_degenerate(response.content)
    ra = scep_service.registration_authority.certificate
    assert certificates == [ra, pki.issuing.certificate, pki.root.certificate]
    assert crls == []
    usage = ra.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    assert usage.key_encipherment
    assert not ra.extensions.get_extension_for_class(x509.BasicConstraints).value.ca

    # openssl reads the degenerate PKCS#7 the same way, in the same order.
    bundle = tmp_path / "getcacert.p7b"
    bundle.write_bytes(response.content)
    printed = openssl("pkcs7", "-inform", "DER", "-in", str(bundle), "-print_certs").stdout
    subjects = [
        line.removeprefix("subject=").replace(" = ", "=")
        for line in printed.splitlines()
        if line.startswith("subject=")
    ]
    assert subjects == [
        "O=certportal tests, CN=Test SCEP RA",
        "O=certportal tests, CN=Test Issuing CA",
        "O=certportal tests, CN=Test Root CA",
    ]
    assert x509.load_pem_x509_certificates(printed.encode("ascii")) == certificates
    # The RA certificate chains to the CA it answers for.
    ra_file = write_pem(tmp_path / "ra.pem", ra)
    verified = openssl("verify", "-CAfile", str(pki.chain_file(tmp_path)), str(ra_file)).stdout
    assert verified.strip() == f"{ra_file}: OK"


def test_get_ca_cert_ignores_the_ca_identifier(client, scep_service):
    plain = client.get("/scep/strict", {"operation": "GetCACert"})
    identified = client.get("/scep/strict", {"operation": "GetCACert", "message": "some-ca"})
    assert identified.status_code == 200
    assert identified.content == plain.content


def test_get_next_ca_cert_without_rollover_is_404(client, scep_service):
    response = client.get("/scep/strict", {"operation": "GetNextCACert"})
    assert response.status_code == 404
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert b"no CA rollover" in response.content


def test_get_next_ca_cert_during_rollover(client, scep_service, next_registration_authority, pki):
    scep_service.next_registration_authority = next_registration_authority
    scep_service.save()
    current, _ = scep.parse_degenerate(client.get("/scep/strict", {"operation": "GetCACert"}).content)

    response = client.get("/scep/strict", {"operation": "GetNextCACert"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-x509-next-ca-cert"
    upcoming = scep.parse_next_ca_cert(
        response.content, signer_certificates=current, policy=scep.AlgorithmPolicy()
    )
    assert upcoming == [
        next_registration_authority.certificate,
        pki.issuing.certificate,
        pki.root.certificate,
    ]
    assert upcoming[0] != current[0]
    # Signed by the current RA, not by the next one.
    with pytest.raises(scep.ScepFailure):
        scep.parse_next_ca_cert(
            response.content, signer_certificates=[upcoming[0]], policy=scep.AlgorithmPolicy()
        )


# --- PKIOperation transport -----------------------------------------------------------------------------


def test_post_with_an_empty_body_is_400(client, scep_service):
    response = client.post(
        "/scep/strict?operation=PKIOperation", data=b"", content_type="application/x-pki-message"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == b"empty PKIOperation body\n"
    assert malformed_events() == ["empty PKIOperation body"]


def test_post_of_another_operation_is_400(client, scep_service):
    response = client.post("/scep/strict?operation=GetCACaps", data=b"x", content_type="text/plain")
    assert response.status_code == 400
    assert response.content == b"POST is for operation=PKIOperation only\n"


def test_post_body_over_the_limit_is_413(client, scep_service, settings):
    settings.CERTPORTAL_SCEP_MAX_MESSAGE_SIZE = 1024
    response = client.post(
        "/scep/strict?operation=PKIOperation", data=b"\x30" * 1025, content_type="application/x-pki-message"
    )
    assert response.status_code == 413
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == b"body of 1025 bytes is over the limit of 1024 bytes\n"


def test_post_body_at_the_limit_is_parsed(client, scep_service, settings):
    settings.CERTPORTAL_SCEP_MAX_MESSAGE_SIZE = 1024
    response = client.post(
        "/scep/strict?operation=PKIOperation", data=b"\x30" * 1024, content_type="application/x-pki-message"
    )
    assert response.status_code == 400
    assert response.content.startswith(b"malformed SCEP message: ")


def test_chunked_post_without_content_length_is_411(client, scep_service, settings):
    settings.CERTPORTAL_SCEP_MAX_MESSAGE_SIZE = 1024
    response = client.generic(
        "POST",
        "/scep/strict?operation=PKIOperation",
        data=b"\x30" * 4096,
        content_type="application/x-pki-message",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
    )
    assert_protocol_answer(response)
    assert response.status_code == 411
    assert response.content == b"Content-Length required: send the PKIOperation body with its length\n"


def test_post_without_content_length_is_a_4xx_text_answer(client, scep_service, settings):
    """Whatever the status, a body the server cannot size is refused in plain text, never a 500."""
    settings.CERTPORTAL_SCEP_MAX_MESSAGE_SIZE = 1024
    response = client.generic(
        "POST",
        "/scep/strict?operation=PKIOperation",
        data=b"\x30" * 4096,
        content_type="application/x-pki-message",
        CONTENT_LENGTH="",
    )
    assert_protocol_answer(response)
    assert 400 <= response.status_code < 500
    assert response["Content-Type"] == "text/plain; charset=utf-8"


def test_get_message_that_is_not_base64_is_400(client, scep_service):
    response = client.get("/scep/strict", {"operation": "PKIOperation", "message": "!!!"})
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.startswith(b"the message parameter is not base64: ")
    assert len(malformed_events()) == 1


def test_get_without_a_message_is_400(client, scep_service):
    response = client.get("/scep/strict", {"operation": "PKIOperation"})
    assert response.status_code == 400
    assert response.content == b"PKIOperation by GET needs a message parameter\n"


def test_get_message_too_long_for_get_is_414(client, scep_service, settings):
    settings.CERTPORTAL_SCEP_MAX_MESSAGE_SIZE = 1024
    message = base64.b64encode(b"\x30" * 1100).decode("ascii")
    response = client.get("/scep/strict", {"operation": "PKIOperation", "message": message})
    assert response.status_code == 414
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert b"use POST" in response.content


def get_crl(scep_client, device: Device):
    """A GetCRL request: it goes through the whole pipeline and its SUCCESS carries content."""
    return scep_client.message(
        scep.MessageType.GET_CRL,
        scep.build_issuer_and_serial(scep_client.certificates[1].subject, 1),
        signer=device,
    )


def _sent_with_plus(scep_client, device: Device):
    """A request whose base64 has '+' and '/' (almost every one does; a new nonce otherwise)."""
    for _ in range(20):
        sent = get_crl(scep_client, device)
        encoded = base64.b64encode(sent.der).decode("ascii")
        if "+" in encoded and "/" in encoded:
            return sent, encoded
    raise AssertionError("no message with '+' and '/' in 20 tries")


def assert_crl(scep_client, sent, response) -> None:
    result = scep_client.reply(sent, response)
    assert result.status is scep.PkiStatus.SUCCESS
    assert result.crl.issuer == scep_client.certificates[1].subject


def test_get_message_with_unescaped_plus_is_accepted(scep_client, device_keys):
    """A client that does not %-escape '+' sends it raw; the query decodes it to a space."""
    sent, encoded = _sent_with_plus(scep_client, Device.create(device_keys[0]))
    response = scep_client.client.get(f"/scep/strict?operation=PKIOperation&message={encoded}")
    assert_crl(scep_client, sent, response)


def test_get_message_in_url_safe_base64_is_accepted(scep_client, device_keys):
    sent, _ = _sent_with_plus(scep_client, Device.create(device_keys[0]))
    encoded = base64.urlsafe_b64encode(sent.der).decode("ascii").rstrip("=")
    assert "+" not in encoded
    assert "/" not in encoded
    response = scep_client.client.get(f"/scep/strict?operation=PKIOperation&message={encoded}")
    assert_crl(scep_client, sent, response)


def test_get_message_with_line_breaks_is_accepted(scep_client, device_keys):
    sent = get_crl(scep_client, Device.create(device_keys[0]))
    encoded = base64.encodebytes(sent.der).decode("ascii")
    assert "\n" in encoded
    response = scep_client.client.get("/scep/strict", {"operation": "PKIOperation", "message": encoded})
    assert_crl(scep_client, sent, response)


@pytest.mark.parametrize("content_type", ["application/octet-stream", "", "text/plain"])
def test_post_with_another_content_type_is_accepted(scep_client, device_keys, content_type):
    sent = get_crl(scep_client, Device.create(device_keys[0]))
    response = scep_client.client.generic(
        "POST", "/scep/strict?operation=PKIOperation", data=sent.der, content_type=content_type
    )
    assert_crl(scep_client, sent, response)


def test_pkcs_req_by_get_of_about_6_kb(transactional_db, scep_client, pki, device_keys):
    """certmonger sends PKIOperation by GET; with a 4096-bit key or a chain the query is ~6 KB (H-15)."""
    sent = scep_client.pkcs_req(
        Device.create(device_keys[0]),
        extra_certificates=[*scep_client.certificates, pki.issuing.certificate, pki.root.certificate],
    )
    assert len(base64.b64encode(sent.der)) > 6000
    result = scep_client.exchange(sent, method="GET")
    assert result.status is scep.PkiStatus.SUCCESS


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
@pytest.mark.parametrize("operation", ["PKIOperation", "GetCACaps"])
def test_other_methods_are_405_plain_text(client, scep_service, method, operation):
    response = getattr(client, method)(f"/scep/strict?operation={operation}", data=b"x")
    assert response.status_code == 405
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    allowed = {item.strip() for item in response["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert method.upper() not in allowed
    assert response.content == f"method {method.upper()} not allowed; use GET or POST\n".encode()


def test_options_is_not_answered_as_a_pki_message(client, scep_service):
    response = client.options("/scep/strict?operation=GetCACaps")
    assert response["Content-Type"] != scep.CONTENT_TYPE_PKI_MESSAGE
    assert response["Content-Type"].startswith("text/plain")


def test_head_is_get_without_a_body(client, scep_service):
    response = client.head("/scep/strict", {"operation": "GetCACaps"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=us-ascii"
    assert response.content == b""


@pytest.mark.parametrize(
    ("method", "operation"), [("get", "GetCACaps"), ("get", "GetCACert"), ("post", "PKIOperation")]
)
def test_unknown_service_is_404_plain_text(client, scep_service, method, operation):
    response = getattr(client, method)(f"/scep/no-such-service?operation={operation}")
    assert response.status_code == 404
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == b"no SCEP service 'no-such-service'\n"


@pytest.mark.parametrize("path", NDES_PATHS)
def test_default_service_paths_answer_like_the_default_service(client, scep_service, path):
    for operation in ("GetCACaps", "GetCACert"):
        expected = client.get("/scep/strict", {"operation": operation})
        response = client.get(path, {"operation": operation})
        assert response.status_code == 200
        assert response["Content-Type"] == expected["Content-Type"]
        assert response.content == expected.content


def test_service_path_with_pkiclient_exe_suffix(client, legacy_scep_service, scep_service):
    response = client.get("/scep/legacy/pkiclient.exe", {"operation": "GetCACaps"})
    assert caps(response) == [*STRICT_CAPS, "SHA-1", "DES3"]


@pytest.mark.parametrize("path", NDES_PATHS)
def test_default_paths_are_404_without_a_default_service(client, scep_service, path):
    ScepService.objects.update(is_default=False)
    response = client.get(path, {"operation": "GetCACaps"})
    assert response.status_code == 404
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == b"no default SCEP service is configured\n"


@pytest.mark.parametrize(
    ("path", "method", "operation"),
    [
        ("/scep/strict", "get", "GetCACaps"),
        ("/scep/strict", "get", "GetCACert"),
        ("/scep/strict", "post", "PKIOperation"),
        ("/certsrv/mscep/mscep.dll", "get", "GetCACaps"),
        ("/scep/strict", "get", None),
    ],
)
def test_disabled_service_is_404(client, scep_service, path, method, operation):
    scep_service.enabled = False
    scep_service.save()
    url = f"{path}?operation={operation}" if operation else path
    response = getattr(client, method)(url)
    assert response.status_code == 404
    assert response["Content-Type"] == "text/plain; charset=utf-8"


def test_other_services_stay_up_when_one_is_disabled(client, scep_service, legacy_scep_service):
    scep_service.enabled = False
    scep_service.save()
    assert client.get("/scep/legacy", {"operation": "GetCACaps"}).status_code == 200


REQUESTS = [
    ("get", "/scep/strict", {"operation": "Bogus"}),
    ("get", "/scep/strict", {"operation": "GetCACaps"}),
    ("get", "/scep/strict", {"operation": "GetCACert"}),
    ("get", "/scep/strict", {"operation": "GetNextCACert"}),
    ("get", "/scep/strict", {"operation": "PKIOperation"}),
    ("get", "/scep/strict", {"operation": "PKIOperation", "message": "%%%"}),
    ("get", "/scep/strict", {"operation": "PKIOperation", "message": "aGVsbG8="}),
    ("get", "/scep/strict", {"operation": "PKIOperation", "message": "A" * 10_000}),
    ("get", "/scep/nope", {"operation": "GetCACaps"}),
    ("get", "/certsrv/mscep/mscep.dll", {"operation": "GetCACert"}),
    ("post", "/scep/strict", {}),
    ("post", "/scep/strict", {"operation": "GetCACert"}),
    ("post", "/scep/strict", {"operation": "PKIOperation"}),
    ("post", "/certsrv/mscep/mscep.dll", {"operation": "PKIOperation"}),
    ("post", "/scep/nope", {"operation": "PKIOperation"}),
    ("put", "/scep/strict", {"operation": "PKIOperation"}),
    ("delete", "/scep", {}),
    ("head", "/scep/strict", {"operation": "GetCACaps"}),
]


@pytest.mark.parametrize(("method", "path", "query"), REQUESTS)
@pytest.mark.usefixtures("scep_service")
def test_every_answer_is_text_or_a_scep_type(client, settings, method, path, query):
    """The only HTML the endpoint serves is the information page (a GET without an operation)."""
    settings.CERTPORTAL_SCEP_MAX_MESSAGE_SIZE = 4096
    url = path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    if method in {"post", "put"}:
        response = getattr(client, method)(
            url, data=b"\x30\x03\x02\x01\x00", content_type="application/x-pki-message"
        )
    else:
        response = getattr(client, method)(url)
    assert_protocol_answer(response)
    assert "json" not in response["Content-Type"]
