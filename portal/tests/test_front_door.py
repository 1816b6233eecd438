"""The front door in the production shape, for real: Debian's nginx with deploy/nginx/certportal.conf.template
(enrollment/tests/front_door.py renders it as the compose image does) in front of gunicorn with the
repository's portal/gunicorn.conf.py and portal.settings.production behind a proxy (DJANGO_BEHIND_PROXY,
CERTPORTAL_NUM_PROXIES=1, as compose runs it), serving a TLS certificate that ``manage.py tls_certificate``
issued from our own CA.

gunicorn shares the test's PostgreSQL database (DATABASE_URL; skipped without it, failed in CI) and runs the
CA task in process (no REDIS_URL): the CA worker's separation is test_topology's subject, the way in is
this file's.
"""

from __future__ import annotations

import base64
import http.client
import io
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from axes.models import AccessAttempt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from django.conf import settings
from django.core.management import call_command
from django.db import connection

from ca.models import IssuedCertificate
from ca.selectors import certificate_get_by_fingerprint
from ca.services.server_certificates import SERVER_TEMPLATE_NAME
from ca.tests.fixtures import Pki
from ca.tests.pki import openssl, require_executable, require_postgresql
from enrollment import scep
from enrollment.models import ScepTransaction
from enrollment.services.registration import registration_authority_create, scep_service_create
from enrollment.tests.clients.certmonger import Certmonger
from enrollment.tests.front_door import NginxFrontDoor, nginx_front_door, tls_files_for
from eventlog.models import ConnectorEvent
from portal.env import BASE_DIR

pytestmark = [pytest.mark.external, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PUBLIC_NAME = "portal.certportal.test"
CHALLENGE = "front-door-static-challenge-0123"
READY_TIMEOUT = 60.0
#: The reference's (IIS's) limit of a URL with its query string and of a header line; nginx's here.
LINE_LIMIT = 65534
SPOOFED = "203.0.113.9"
BULK_OID = x509.ObjectIdentifier("2.25.329800735698586629295641978511506172918")
#: The repository's gunicorn configuration, plus a hook recording what each request looked like to
#: gunicorn (the address and the forwarding headers that nginx passed on).
GUNICORN_TEST_CONFIG = """
import json, os
exec(compile(open({config!r}).read(), {config!r}, "exec"))

def post_request(worker, req, environ, resp):
    seen = {{key: environ.get(key) for key in ("PATH_INFO", "REMOTE_ADDR", "HTTP_X_FORWARDED_FOR",
        "HTTP_X_FORWARDED_PROTO", "HTTP_FORWARDED", "HTTP_X_REAL_IP", "HTTP_HOST")}}
    seen["QUERY_LENGTH"] = len(environ.get("QUERY_STRING", ""))
    with open({seen!r}, "a") as handle:
        handle.write(json.dumps(seen) + "\\n")
"""


@dataclass(frozen=True)
class Stack:
    door: NginxFrontDoor
    tls_dir: Path
    seen: Path
    pki: Pki

    @property
    def scep_path(self) -> str:
        return "/scep/frontdoor"

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.door.cafile))

    def requests_seen(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.seen.read_text().splitlines()]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database_url() -> str:
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _gunicorn_env(tmp_path: Path) -> dict[str, str]:
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CERTPORTAL_", "DJANGO_", "CELERY_", "DATABASE_URL", "REDIS_URL", "GUNICORN_"))
    }
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": f"{PUBLIC_NAME},localhost,127.0.0.1",
        # As compose runs the web tier behind nginx: HTTPS redirect, Secure cookies and HSTS all on.
        "DJANGO_BEHIND_PROXY": "true",
        "CERTPORTAL_NUM_PROXIES": "1",
        "DATABASE_URL": _database_url(),
        "CERTPORTAL_DATA_DIR": str(tmp_path / "data"),
        "CERTPORTAL_RA_KEY_PASSPHRASE": settings.CERTPORTAL_RA_KEY_PASSPHRASE,
        "CERTPORTAL_OCSP_KEY_PASSPHRASE": settings.CERTPORTAL_OCSP_KEY_PASSPHRASE,
        # No broker: the CA task runs in the web process (the embedded default's path).
        "CERTPORTAL_CA_KEY_PASSPHRASE": settings.CERTPORTAL_CA_KEY_PASSPHRASE,
        "CERTPORTAL_SCEP_ISSUE_WAIT": "15",
    }


@pytest.fixture
def stack(pki: Pki, tmp_path: Path) -> Iterator[Stack]:
    require_postgresql()
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or require_executable(
        "gunicorn"
    )
    ra = registration_authority_create(
        authority=pki.issuing, name="Front door RA", subject=x509.Name.from_rfc4514_string("CN=Front door RA")
    )
    scep_service_create(
        slug="frontdoor",
        name="Front door SCEP",
        authority=pki.issuing,
        registration_authority=ra,
        general_purpose_template=pki.template,
        static_challenge=CHALLENGE,
    )
    # README, "Production": the certificate for the public and the internal names, from our own CA.
    tls_dir = tmp_path / "tls"
    call_command(
        "tls_certificate", "--ca", pki.issuing.slug, "--name", PUBLIC_NAME, "--dns", "localhost",
        "--ip", "127.0.0.1", "--dir", str(tls_dir), "--wait", "30", stdout=io.StringIO(),
    )  # fmt: skip

    port = _free_port()
    seen = tmp_path / "seen.jsonl"
    seen.touch()
    config = tmp_path / "gunicorn.test.conf.py"
    config.write_text(
        GUNICORN_TEST_CONFIG.format(config=str(BASE_DIR / "portal" / "gunicorn.conf.py"), seen=str(seen))
    )
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as handle:
        web = subprocess.Popen(
            [gunicorn, "-c", str(config), "--bind", f"127.0.0.1:{port}", "--workers", "2", "portal.wsgi"],
            cwd=BASE_DIR,
            env=_gunicorn_env(tmp_path),
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_gunicorn(web, port, log)
        files = tls_files_for(authority=pki.issuing, directory=tls_dir)
        with nginx_front_door(upstream=f"127.0.0.1:{port}", tls=files, directory=tmp_path / "nginx") as door:
            try:
                yield Stack(door=door, tls_dir=tls_dir, seen=seen, pki=pki)
            except BaseException as exc:
                exc.add_note(f"gunicorn log:\n{log.read_text(errors='replace')[-4000:]}")
                raise
    finally:
        if web.poll() is None:
            web.send_signal(signal.SIGINT)  # gunicorn's quick shutdown (TERM waits for idle keep-alives)
            try:
                web.wait(timeout=20)
            except subprocess.TimeoutExpired:
                web.kill()
                web.wait(timeout=10)


def _wait_for_gunicorn(web: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline and web.poll() is None:
        try:
            # As nginx asks: /healthz over plain HTTP is exempt from the HTTPS redirect.
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError(f"gunicorn did not come up:\n{log.read_text(errors='replace')[-4000:]}")


def _raw(stack: Stack, request: bytes, *, tls: bool = True) -> tuple[int, bytes]:
    """Send ``request`` byte for byte (HTTPS or plain HTTP); return the status and the whole answer."""
    port = stack.door.https_port if tls else stack.door.http_port
    with socket.create_connection(("127.0.0.1", port), timeout=60) as plain:
        sock = stack.context().wrap_socket(plain, server_hostname="127.0.0.1") if tls else plain
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    return status, answer


def _get_line(target: str) -> bytes:
    return f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()


# --- TLS: our CA's certificate, the names -----------------------------------------------------------------


def test_https_is_served_with_the_certificate_from_our_ca_for_the_public_and_internal_names(stack: Stack):
    with (
        socket.create_connection(("127.0.0.1", stack.door.https_port), timeout=30) as plain,
        stack.context().wrap_socket(plain, server_hostname="127.0.0.1") as sock,
    ):
        der = sock.getpeercert(binary_form=True)
        version = sock.version()
    assert der is not None
    served = x509.load_der_x509_certificate(der)
    installed = x509.load_pem_x509_certificate((stack.tls_dir / "current" / "cert.pem").read_bytes())
    assert served == installed
    assert version in {"TLSv1.2", "TLSv1.3"}
    assert served.subject == x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, PUBLIC_NAME)])
    assert served.issuer == stack.pki.issuing.certificate.subject
    sans = served.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == [PUBLIC_NAME, "localhost"]
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert list(served.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH
    ]
    issued = certificate_get_by_fingerprint(fingerprint_sha256=served.fingerprint(hashes.SHA256()).hex())
    assert issued is not None
    assert issued.template.name == SERVER_TEMPLATE_NAME
    assert issued.authority == stack.pki.issuing

    # Python's own verification against our chain, by every name; and without our CA it does not verify.
    for name in (PUBLIC_NAME, "localhost"):
        with (
            socket.create_connection(("127.0.0.1", stack.door.https_port), timeout=30) as plain,
            stack.context().wrap_socket(plain, server_hostname=name),
        ):
            pass
    with (
        pytest.raises(ssl.SSLCertVerificationError),
        socket.create_connection(("127.0.0.1", stack.door.https_port), timeout=30) as plain,
        ssl.create_default_context().wrap_socket(plain, server_hostname="127.0.0.1"),
    ):
        pass  # pragma: no cover

    health = requests.get(f"{stack.door.https_url}/healthz", verify=str(stack.door.cafile), timeout=30)
    assert health.status_code == 200
    assert health.headers["Strict-Transport-Security"].startswith(
        "max-age=31536000"
    )  # the portal knows HTTPS


# --- the 65,534-byte limits --------------------------------------------------------------------------------


def _bulky_signer(key: rsa.RSAPrivateKey, subject: x509.Name, padding: int) -> x509.Certificate:
    """The self-signed certificate of a PKCSReq (RFC 8894 section 2.3), with ``padding`` bytes in a
    non-critical extension of a private OID (2.25: a UUID arc) that the server does not read.
    """
    ordinary = scep.self_signed_signer(key, subject)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(ordinary.serial_number)
        .not_valid_before(ordinary.not_valid_before_utc)
        .not_valid_after(ordinary.not_valid_after_utc)
    )
    for extension in ordinary.extensions:
        builder = builder.add_extension(extension.value, critical=extension.critical)
    body = os.urandom(padding)  # random: its base64 has the usual share of + and / (%2B, %2F in the URL)
    bulk = x509.UnrecognizedExtension(BULK_OID, b"\x04" + _der_length(len(body)) + body)  # an OCTET STRING
    return builder.add_extension(bulk, critical=False).sign(key, hashes.SHA256())


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(encoded)]) + encoded


def _pki_operation_target(path: str, der: bytes) -> str:
    query = urllib.parse.urlencode({"operation": "PKIOperation", "message": base64.b64encode(der).decode()})
    return f"{path}?{query}"


def test_a_60000_byte_get_pki_operation_passes_nginx_and_gunicorn_and_is_issued(stack: Stack, tmp_path: Path):
    """A PKCSReq of a 4096-bit key whose request line is 60,000 bytes (42 KB of DER), sent by GET as
    certmonger sends every PKIOperation, is answered SUCCESS with the certificate, through both limits.

    The size is the signer certificate's: a self-signed certificate may carry any non-critical extension,
    and this one carries about 40 KB in a private-OID extension that the server neither needs nor reads.
    The CSR itself is ordinary, so the answer is a real issuance (SUCCESS), not a policy refusal.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "front-door-60k")])
    csr = scep.build_csr(key, subject, challenge_password=CHALLENGE)
    client = scep.ScepClient(f"{stack.door.https_url}{stack.scep_path}", cafile=str(stack.door.cafile))
    cipher, digest = scep.choose_algorithms(client.get_ca_caps(), scep.AlgorithmPolicy())
    ra_certificates = client.get_ca_cert()
    transaction_id = scep.transaction_id_for(key.public_key())
    nonce = os.urandom(16)

    def build(padding: int) -> tuple[x509.Certificate, bytes, str]:
        signer = _bulky_signer(key, subject, padding)
        der = scep.build_pki_message(
            message_type=scep.MessageType.PKCS_REQ,
            transaction_id=transaction_id,
            sender_nonce=nonce,
            message_data=csr.public_bytes(serialization.Encoding.DER),
            recipient_certificate=scep.select_recipient(ra_certificates),
            signer_certificate=signer,
            signer_key=key,
            cipher=cipher,
            digest=digest,
        )
        return signer, der, _pki_operation_target(stack.scep_path, der)

    goal, padding = 60000, 40000
    signer, der, target = build(padding)
    for _ in range(6):  # the line grows by about 1.4 bytes per byte of padding; random bytes vary it a little
        line = len(f"GET {target} HTTP/1.1")
        if goal - 300 <= line <= goal:
            break
        padding += int((goal - 150 - line) / 1.42)
        signer, der, target = build(padding)
    line = len(f"GET {target} HTTP/1.1")
    assert goal - 300 <= line <= goal, line
    assert len(der) > 42000

    connection_ = http.client.HTTPSConnection("127.0.0.1", stack.door.https_port, context=stack.context())
    connection_.request("GET", target)
    response = connection_.getresponse()
    body = response.read()
    connection_.close()
    assert response.status == 200, body[:500]
    assert response.getheader("Content-Type") == "application/x-pki-message"

    reply = scep.parse_cert_rep(
        body,
        signer_key=key,
        signer_certificate=signer,
        expected_recipient_nonce=nonce,
        ra_certificate=ra_certificates,
        expected_transaction_id=transaction_id,
    )
    assert reply.status == scep.PkiStatus.SUCCESS, reply.fail_info_text
    assert reply.certificate is not None
    assert reply.certificate.subject == subject
    assert reply.certificate.public_key() == key.public_key()
    issued = IssuedCertificate.objects.get(subject="CN=front-door-60k")
    assert issued.certificate == reply.certificate
    # openssl agrees: the CertRep's signature verifies, by the RA certificate, up to our root.
    (tmp_path / "reply.der").write_bytes(body)
    chain = stack.pki.chain_file(tmp_path)
    openssl("cms", "-verify", "-inform", "DER", "-in", str(tmp_path / "reply.der"), "-CAfile", str(chain),
            "-purpose", "any", "-out", str(tmp_path / "envelope.der"), "-outform", "DER")  # fmt: skip
    # The whole line went through nginx and reached gunicorn (which logged it, as nginx did).
    query_length = len(target.partition("?")[2])
    [seen] = [r for r in stack.requests_seen() if r["QUERY_LENGTH"] == query_length]
    assert (seen["PATH_INFO"], seen["HTTP_X_FORWARDED_PROTO"]) == (stack.scep_path, "https")
    access = stack.door.access_log.read_text()
    assert f'"GET {target} HTTP/1.1" 200 ' in access


def test_request_and_header_lines_up_to_65534_bytes_pass_and_longer_ones_get_nginx_errors(stack: Stack):
    caps = f"{stack.scep_path}?operation=GetCACaps&pad="
    fixed = len("GET  HTTP/1.1") + len(caps)

    status, answer = _raw(stack, _get_line(caps + "x" * (LINE_LIMIT - fixed)))
    assert status == 200, answer[:300]
    assert b"POSTPKIOperation" in answer  # gunicorn and Django answered the 65,534-byte request line

    status, answer = _raw(stack, _get_line(caps + "x" * (LINE_LIMIT - fixed + 1)))
    assert status == 414, answer[:300]  # nginx's answer, not a 502 of a gunicorn that choked on it
    assert b"<center>nginx</center>" in answer

    header = "X-Padding: "
    within = f"GET {caps}y HTTP/1.1\r\nHost: 127.0.0.1\r\n{header}{'h' * (LINE_LIMIT - len(header))}\r\n"
    status, answer = _raw(stack, (within + "Connection: close\r\n\r\n").encode())
    assert status == 200, answer[:300]
    beyond = f"GET {caps}y HTTP/1.1\r\nHost: 127.0.0.1\r\n{header}{'h' * (LINE_LIMIT - len(header) + 1)}\r\n"
    status, answer = _raw(stack, (beyond + "Connection: close\r\n\r\n").encode())
    assert status == 400, answer[:300]
    assert b"Request Header Or Cookie Too Large" in answer


# --- a real client over HTTPS ----------------------------------------------------------------------------


def test_certmonger_enrolls_over_https_through_nginx_and_gunicorn(stack: Stack, tmp_path: Path):
    daemon = Certmonger.start(tmp_path / "certmonger", trust=stack.door.cafile)
    try:
        daemon.add_scep_ca("frontdoor", f"{stack.door.https_url}{stack.scep_path}", cafile=stack.door.cafile)
        _, certificate_file = daemon.request(
            "front-door", ca="frontdoor", subject="CN=cm-front-door,O=certportal tests",
            challenge=CHALLENGE, directory=tmp_path,
        )  # fmt: skip
        status = daemon.wait_for("front-door")
        assert status["status"] == "MONITORING", f"{status}\n{daemon.log()[-4000:]}"
    finally:
        daemon.stop()
    certificate = x509.load_pem_x509_certificate(certificate_file.read_bytes())
    assert certificate.subject.rfc4514_string() == "O=certportal tests,CN=cm-front-door"
    chain = stack.pki.chain_file(tmp_path)
    assert openssl("verify", "-CAfile", str(chain), str(certificate_file)).stdout.strip().endswith("OK")
    assert (
        IssuedCertificate.objects.get(subject="O=certportal tests,CN=cm-front-door").certificate
        == certificate
    )
    # certmonger's PKIOperation went by GET, over HTTPS, through nginx.
    access = stack.door.access_log.read_text()
    assert re.search(
        rf'"GET {re.escape(stack.scep_path)}\?operation=PKIOperation&message=\S+ HTTP/1\.1" 200 ', access
    )


# --- plain HTTP ------------------------------------------------------------------------------------------


def test_plain_http_serves_scep_and_redirects_the_admin_to_https(stack: Stack):
    http_url = stack.door.http_url
    caps = requests.get(f"{http_url}{stack.scep_path}", params={"operation": "GetCACaps"}, timeout=30)
    assert caps.status_code == 200
    assert "POSTPKIOperation" in caps.text.splitlines()
    cacert = requests.get(f"{http_url}{stack.scep_path}", params={"operation": "GetCACert"}, timeout=30)
    assert cacert.status_code == 200
    assert cacert.headers["Content-Type"] == "application/x-x509-ca-ra-cert"
    assert requests.get(f"{http_url}/healthz", timeout=30).status_code == 200
    assert "Strict-Transport-Security" not in caps.headers

    admin = requests.get(f"{http_url}/admin/", allow_redirects=False, timeout=30)
    assert admin.status_code == 301
    assert admin.headers["Location"] == f"https://{PUBLIC_NAME}:{stack.door.https_port}/admin/"
    assert not [r for r in stack.requests_seen() if r["PATH_INFO"] == "/admin/"]  # nginx answered it


# --- forwarded headers -----------------------------------------------------------------------------------


def test_a_clients_own_forwarding_headers_are_not_believed(stack: Stack):
    spoofed = {"X-Forwarded-For": SPOOFED, "Forwarded": f"for={SPOOFED}", "X-Real-IP": SPOOFED}
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "front-door-spoofer")])
    client = scep.ScepClient(f"{stack.door.https_url}{stack.scep_path}", cafile=str(stack.door.cafile))
    cipher, digest = scep.choose_algorithms(client.get_ca_caps(), scep.AlgorithmPolicy())
    der = scep.build_pki_message(
        message_type=scep.MessageType.PKCS_REQ,
        transaction_id=scep.transaction_id_for(key.public_key()),
        sender_nonce=os.urandom(16),
        message_data=scep.build_csr(key, subject, challenge_password=CHALLENGE).public_bytes(
            serialization.Encoding.DER
        ),
        recipient_certificate=scep.select_recipient(client.get_ca_cert()),
        signer_certificate=scep.self_signed_signer(key, subject),
        signer_key=key,
        cipher=cipher,
        digest=digest,
    )
    answer = requests.post(
        f"{stack.door.https_url}{stack.scep_path}?operation=PKIOperation",
        data=der,
        headers={"Content-Type": "application/x-pki-message", **spoofed},
        verify=str(stack.door.cafile),
        timeout=60,
    )
    assert answer.status_code == 200

    # What the portal recorded of the client: the peer nginx vouches for, not what the client said.
    transaction = ScepTransaction.objects.get(subject="CN=front-door-spoofer")
    assert transaction.client_address == "127.0.0.1"
    events = ConnectorEvent.objects.filter(transaction_id=transaction.transaction_id)
    assert events.exists()
    assert set(events.values_list("client_address", flat=True)) == {"127.0.0.1"}
    # A failed login's address (the lockout counts it): X-Forwarded-For with CERTPORTAL_NUM_PROXIES=1.
    session = requests.Session()  # verify= on each call: a session's own is overridden by REQUESTS_CA_BUNDLE
    login = f"{stack.door.https_url}/admin/login/"
    form = session.get(login, verify=str(stack.door.cafile), timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token is not None, form.text[:500]
    failed = session.post(
        login,
        data={"csrfmiddlewaretoken": token.group(1), "username": "nobody", "password": "wrong"},
        headers={"Referer": login, **spoofed},
        verify=str(stack.door.cafile),
        timeout=30,
    )
    assert failed.status_code == 200  # the form again, with its error: not a CSRF 403
    assert list(AccessAttempt.objects.values_list("username", "ip_address")) == [("nobody", "127.0.0.1")]
    # And gunicorn never saw the client's values: nginx set X-Forwarded-For and dropped the others.
    forwarded = [r for r in stack.requests_seen() if r["PATH_INFO"] in {stack.scep_path, "/admin/login/"}]
    assert forwarded
    for seen in forwarded:
        assert seen["HTTP_X_FORWARDED_FOR"] == "127.0.0.1", seen
        assert seen["HTTP_FORWARDED"] in {None, ""}, seen
        assert seen["HTTP_X_REAL_IP"] in {None, ""}, seen
        assert seen["HTTP_X_FORWARDED_PROTO"] == "https", seen
        assert seen["HTTP_HOST"] == f"127.0.0.1:{stack.door.https_port}", seen
