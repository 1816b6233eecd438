"""The production shape with real processes: gunicorn (the RA, no CA key passphrase), a Celery CA worker
on its own queue (the only process with the CA key passphrase), PostgreSQL and Redis.

These tests need DATABASE_URL (PostgreSQL) and REDIS_URL; they skip without them, except in CI
(CI=true), where they fail.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from access.services.tokens import api_token_create
from ca.choices import CertificateRequestStatus
from ca.models import CertificateRequest, IssuedCertificate, RevocationRequest
from ca.tests.pki import openssl, require_executable, write_pem
from enrollment import scep
from enrollment.services.registration import registration_authority_create, scep_service_create
from portal.env import BASE_DIR  # the project root, as settings.BASE_DIR

pytestmark = [
    pytest.mark.external,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

CHALLENGE = "topology-static-challenge"
READY_TIMEOUT = 60.0
#: Modules only the CA worker may load: the worker's tasks, the CA-side services, the key backends.
CA_SIDE_MODULES = ("ca.tasks", "ca.services.issuance", "ca.services.revocation", "ca.services.authorities")
CA_SIDE_PACKAGES = ("ca.key_backends",)
#: The repository's gunicorn configuration, plus a hook that records, after every request, which modules
#: the worker process has loaded (one file per worker).
GUNICORN_TEST_CONFIG = """
import json, os, sys
exec(compile(open({config!r}).read(), {config!r}, "exec"))

def post_request(worker, req, environ, resp):
    path = os.path.join({directory!r}, f"modules-{{os.getpid()}}.json")
    with open(path + ".tmp", "w") as handle:
        json.dump(sorted(sys.modules), handle)
    os.replace(path + ".tmp", path)  # readers never see a half-written file
"""


def _require_services() -> str:
    redis_url = os.environ.get("REDIS_URL", "")
    if redis_url and connection.vendor == "postgresql":
        return redis_url
    reason = "needs DATABASE_URL (PostgreSQL) and REDIS_URL"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI must provide them")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database_url() -> str:
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait(predicate: object, what: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not become ready; its log:\n{log.read_text(errors='replace')[-4000:]}")


@dataclass
class Process:
    popen: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)


@dataclass
class Topology:
    url: str
    web: Process
    ca_worker: Process
    queue: str
    env: dict[str, str]
    tmp: Path

    def start_ca_worker(self, passphrase: str | None = None) -> Process:
        self.ca_worker = _start_ca_worker(self.env, self.queue, self.tmp, passphrase)
        return self.ca_worker


def _base_env(redis_url: str, queue: str, tmp: Path, url: str) -> dict[str, str]:
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CERTPORTAL_", "DJANGO_", "CELERY_", "DATABASE_URL", "REDIS_URL"))
    }
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        # Plain HTTP on the loopback, no TLS proxy in front: production's HTTPS redirect and Secure cookies
        # off, as README "Production" says for that case.
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_COOKIES": "false",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "CERTPORTAL_CA_QUEUE": queue,
        "CERTPORTAL_DEFAULT_QUEUE": f"{queue}-default",
        "CERTPORTAL_DATA_DIR": str(tmp / "data"),
        "CERTPORTAL_BASE_URL": url,
        "CERTPORTAL_SCEP_ISSUE_WAIT": "15",
        "CERTPORTAL_CA_HEARTBEAT_INTERVAL": "1",
    }


def _start_ca_worker(env: dict[str, str], queue: str, tmp: Path, passphrase: str | None = None) -> Process:
    """A CA worker on ``queue`` with the CA key passphrase (or ``passphrase``), once it says it is ready."""
    log = tmp / f"ca-worker-{uuid.uuid4().hex[:6]}.log"
    worker_env = {**env, "CERTPORTAL_CA_KEY_PASSPHRASE": passphrase or settings.CERTPORTAL_CA_KEY_PASSPHRASE}
    handle = log.open("wb")
    popen = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "-Q",
            queue,
            "-n",
            f"{queue}@%h",
            "-P",
            "solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "INFO",
        ],
        cwd=BASE_DIR,
        env=worker_env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    process = Process(popen, log)
    _wait(lambda: b"ready." in log.read_bytes() or popen.poll() is not None, "the CA worker", log)
    assert popen.poll() is None, log.read_text(errors="replace")
    return process


@pytest.fixture
def topology(pki, tmp_path: Path) -> Iterator[Topology]:
    yield from _topology(pki, tmp_path, _require_services())


@dataclass
class PrivateRedis:
    """A Redis server of the test's own, on a free port, that the test may stop and start."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [require_executable("redis-server"), "--bind", "127.0.0.1", "--port", str(self.port),
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError("the private Redis did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    _require_services()
    redis = PrivateRedis(port=_free_port(), directory=tmp_path)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
def topology_on_private_redis(pki, tmp_path: Path, private_redis: PrivateRedis) -> Iterator[Topology]:
    yield from _topology(pki, tmp_path, private_redis.url)


def _topology(pki, tmp_path: Path, redis_url: str) -> Iterator[Topology]:
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or require_executable(
        "gunicorn"
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    queue = f"ca-test-{uuid.uuid4().hex[:8]}"
    env = _base_env(redis_url, queue, tmp_path, url)

    ra = registration_authority_create(
        authority=pki.issuing, name="Topology RA", subject=x509.Name.from_rfc4514_string("CN=Topology RA")
    )
    scep_service_create(
        slug="topology",
        name="Topology SCEP",
        authority=pki.issuing,
        registration_authority=ra,
        general_purpose_template=pki.template,
        allow_legacy_algorithms=True,
        static_challenge=CHALLENGE,
        is_default=True,
    )

    web_log = tmp_path / "web.log"
    web_env = {
        **env,
        "CERTPORTAL_RA_KEY_PASSPHRASE": settings.CERTPORTAL_RA_KEY_PASSPHRASE,
        "CERTPORTAL_OCSP_KEY_PASSPHRASE": settings.CERTPORTAL_OCSP_KEY_PASSPHRASE,
        # Clients reach this gunicorn directly, no nginx in front: its own bound (portal/gunicorn.conf.py).
        "GUNICORN_LIMIT_REQUEST_LINE": "8190",
    }
    assert "CERTPORTAL_CA_KEY_PASSPHRASE" not in web_env
    (tmp_path / "modules").mkdir()
    config = tmp_path / "gunicorn.test.conf.py"
    config.write_text(
        GUNICORN_TEST_CONFIG.format(
            config=str(BASE_DIR / "portal" / "gunicorn.conf.py"), directory=str(tmp_path / "modules")
        )
    )
    web = Process(
        subprocess.Popen(
            [
                gunicorn,
                "-c",
                str(config),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "portal.wsgi",
            ],
            cwd=BASE_DIR,
            env=web_env,
            stdout=web_log.open("wb"),
            stderr=subprocess.STDOUT,
        ),
        web_log,
    )

    def web_ready() -> bool:
        try:
            return requests.get(f"{url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return web.popen.poll() is not None

    topology = Topology(url=url, web=web, ca_worker=None, queue=queue, env=env, tmp=tmp_path)  # type: ignore[arg-type]
    try:
        _wait(web_ready, "gunicorn", web_log)
        assert web.popen.poll() is None, web_log.read_text(errors="replace")
        topology.start_ca_worker()
        yield topology
    finally:
        if topology.ca_worker is not None:
            topology.ca_worker.stop()
        web.stop()


def _scepclient(
    directory: Path, url: str, *, cn: str, challenge: str = CHALLENGE
) -> subprocess.CompletedProcess[str]:
    exe = require_executable("scepclient")
    directory.mkdir(exist_ok=True)
    key = directory / "key.pem"
    if not key.exists():
        openssl("genrsa", "-traditional", "-out", str(key), "2048")
    return subprocess.run(
        [
            exe,
            "-server-url",
            url,
            "-private-key",
            str(key),
            "-certificate",
            str(directory / "cert.pem"),
            "-challenge",
            challenge,
            "-cn",
            cn,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_scepclient_enrolls_and_renews_through_gunicorn_and_the_ca_worker(topology: Topology, pki, tmp_path):
    device = tmp_path / "dev1"
    result = _scepclient(device, f"{topology.url}/certsrv/mscep/mscep.dll", cn="topology-dev1")
    assert result.returncode == 0, result.stdout + result.stderr
    chain = pki.chain_file(tmp_path)
    assert openssl("verify", "-CAfile", str(chain), str(device / "cert.pem")).stdout.strip().endswith("OK")
    first = x509.load_pem_x509_certificate((device / "cert.pem").read_bytes())

    renewal = _scepclient(device, f"{topology.url}/certsrv/mscep/mscep.dll", cn="topology-dev1")
    assert renewal.returncode == 0, renewal.stdout + renewal.stderr
    second = x509.load_pem_x509_certificate((device / "cert.pem").read_bytes())
    assert second.serial_number != first.serial_number
    assert second.subject == first.subject

    # Both certificates were signed by the CA worker: the web tier has no CA key passphrase.
    worker_log = topology.ca_worker.log.read_text(errors="replace")
    assert worker_log.count("ca.tasks.certificate_issue_task") >= 2
    assert IssuedCertificate.objects.filter(subject__contains="topology-dev1").count() == 2


def test_request_stays_pending_while_the_ca_worker_is_down_and_is_issued_when_it_returns(
    topology: Topology, pki
):
    topology.ca_worker.stop()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "topology-pending")])
    client = scep.ScepClient(f"{topology.url}/scep/topology", timeout=60)
    csr = scep.build_csr(key, subject, challenge_password=CHALLENGE)
    reply = client.enroll(csr, key)
    assert reply.status == scep.PkiStatus.PENDING
    request = CertificateRequest.objects.get(subject="CN=topology-pending")
    assert request.status == CertificateRequestStatus.QUEUED
    assert not IssuedCertificate.objects.filter(request=request).exists()

    topology.start_ca_worker()
    signer = scep.ScepIdentity(certificate=scep.self_signed_signer(key, subject), key=key)
    poll = client.poll(csr, signer=signer, transaction_id=reply.transaction_id)
    assert poll.status == scep.PkiStatus.SUCCESS, poll.fail_info_text
    assert poll.certificate is not None
    assert poll.certificate.subject == subject


def test_api_revocation_runs_on_the_ca_worker_and_publishes_a_crl(
    topology: Topology, pki, tmp_path, admin_user
):
    device = tmp_path / "dev-revoke"
    result = _scepclient(device, f"{topology.url}/scep/topology", cn="topology-revoke")
    assert result.returncode == 0, result.stdout + result.stderr
    issued = IssuedCertificate.objects.get(subject__contains="topology-revoke")
    token = api_token_create(user=admin_user, name="test", created_by=None).secret
    response = requests.post(
        f"{topology.url}/api/v1/certificates/{issued.pk}/revoke/",
        json={"reason": "key_compromise"},
        headers={"Authorization": f"Token {token}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json()["certificate"]["status"] == "revoked"

    crl_der = requests.get(f"{topology.url}/crl/{pki.issuing.slug}.crl", timeout=10).content
    crl = x509.load_der_x509_crl(crl_der)
    entry = crl.get_revoked_certificate_by_serial_number(issued.serial_int)
    assert entry is not None
    assert (
        entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        == x509.ReasonFlags.key_compromise
    )
    crl_file = tmp_path / "crl.der"
    crl_file.write_bytes(crl_der)
    chain = write_pem(tmp_path / "chain.pem", pki.issuing.certificate, pki.root.certificate)
    verified = openssl("crl", "-inform", "DER", "-in", str(crl_file), "-CAfile", str(chain), "-noout")
    assert "verify OK" in verified.stdout + verified.stderr

    # OCSP through gunicorn agrees: a responder certificate signed by the CA worker, the answer signed by
    # the web tier with the responder's key, verified by openssl.
    _web_manage(topology, "ocsp_responder", "--ca", pki.issuing.slug)
    leaf = write_pem(tmp_path / "leaf.pem", issued.certificate)
    issuer = write_pem(tmp_path / "issuer.pem", pki.issuing.certificate)
    answer = subprocess.run(
        [require_executable("openssl"), "ocsp", "-issuer", str(issuer), "-cert", str(leaf),
         "-url", f"{topology.url}/ocsp/{pki.issuing.slug}", "-CAfile", str(chain)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert "Response verify OK" in answer.stdout + answer.stderr, answer.stdout + answer.stderr
    assert f"{leaf}: revoked" in answer.stdout
    assert "keyCompromise" in answer.stdout


def _web_worker_modules(topology: Topology) -> list[set[str]]:
    return [set(json.loads(path.read_text())) for path in (topology.tmp / "modules").glob("modules-*.json")]


def test_the_web_process_imports_no_ca_side_module(topology: Topology, pki, tmp_path, admin_user):
    """After enrolling over SCEP, revoking over the API and serving the admin, the CRL and the CA
    certificate, no gunicorn worker has loaded the CA worker's tasks, the CA-side services or the key
    backends: the RA sends CA work by task name.
    """
    device = tmp_path / "dev-modules"
    result = _scepclient(device, f"{topology.url}/scep/topology", cn="topology-modules")
    assert result.returncode == 0, result.stdout + result.stderr
    issued = IssuedCertificate.objects.get(subject__contains="topology-modules")
    token = api_token_create(user=admin_user, name="test", created_by=None).secret
    headers = {"Authorization": f"Token {token}"}
    revoked = requests.post(
        f"{topology.url}/api/v1/certificates/{issued.pk}/revoke/",
        json={"reason": "superseded"},
        headers=headers,
        timeout=60,
    )
    assert revoked.status_code == 200, revoked.text
    session = requests.Session()
    login = session.get(f"{topology.url}/admin/login/", timeout=10)
    csrf = session.cookies["csrftoken"]
    # The web tier runs the production settings (PBKDF2), the test process only MD5: hash for the former.
    admin_user.password = PBKDF2PasswordHasher().encode("topology-admin-pw", PBKDF2PasswordHasher().salt())
    admin_user.save(update_fields=["password"])
    logged_in = session.post(
        f"{topology.url}/admin/login/",
        data={"username": admin_user.username, "password": "topology-admin-pw", "csrfmiddlewaretoken": csrf},
        headers={"Referer": login.url},
        timeout=10,
    )
    assert logged_in.status_code == 200
    assert "sessionid" in session.cookies, "the admin login failed"
    # "/" sends staff to the dashboard, the admin's index: serving it loads no CA-side module either.
    landing = session.get(f"{topology.url}/", timeout=30, allow_redirects=False)
    assert (landing.status_code, landing.headers["Location"]) == (302, "/admin/")
    dashboard = session.get(f"{topology.url}/admin/", timeout=30, allow_redirects=False)
    assert dashboard.status_code == 200
    assert 'class="cp-dash"' in dashboard.text
    for path in (
        "/admin/ca/certificateauthority/",
        "/admin/ca/issuedcertificate/",
        f"/admin/ca/issuedcertificate/{issued.pk}/change/",
        "/admin/enrollment/sceptransaction/",
        f"/crl/{pki.issuing.slug}.crl",
        f"/ca/{pki.issuing.slug}.crt",
        "/api/v1/certificates/",
        "/scep/topology?operation=GetCACaps",
    ):
        response = session.get(f"{topology.url}{path}", timeout=30, allow_redirects=False)
        assert response.status_code == 200, (path, response.status_code)

    loaded = _web_worker_modules(topology)
    # The workers did serve the enrollment and the revocation: the RA side of the pipeline is loaded.
    assert {
        "enrollment.services.pki_operation.handle",
        "ca.services.submission",
        "ca.dispatch",
    } <= set().union(*loaded)
    for modules in loaded:
        leaked = sorted(
            name for name in modules if name in CA_SIDE_MODULES or name.startswith(CA_SIDE_PACKAGES)
        )
        assert leaked == []


def test_the_web_tier_cannot_use_a_ca_key(topology: Topology, pki, tmp_path):
    """Run the CA-side service in the web tier's environment: it must refuse for lack of the passphrase."""
    web_env = {**topology.env, "CERTPORTAL_RA_KEY_PASSPHRASE": settings.CERTPORTAL_RA_KEY_PASSPHRASE}
    code = (
        "from ca.models import CertificateAuthority; from ca.key_backends import key_backends\n"
        f"ca = CertificateAuthority.objects.get(slug={pki.issuing.slug!r})\n"
        "try:\n    key_backends[ca.key_backend].sign_data(ca.key_reference, b'x')\n"
        "except Exception as exc:\n    print('REFUSED', type(exc).__name__, exc)\n"
        "else:\n    print('LOADED')\n"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=BASE_DIR,
        env=web_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "REFUSED KeyBackendUnavailable" in result.stdout, result.stdout + result.stderr
    assert "LOADED" not in result.stdout


def test_gunicorn_takes_a_4096_bit_get_pkioperation_and_refuses_oversized_lines(topology: Topology):
    """A 4096-bit key in a GET PKIOperation makes a request line of about 6-8 KB; a gunicorn that clients
    reach directly (GUNICORN_LIMIT_REQUEST_LINE=8190) accepts it, and answers a clear 4xx above its limit.
    Behind nginx the limit is the reference's 65,534 bytes (test_front_door)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "topology-get-4096")])
    client = scep.ScepClient(f"{topology.url}/scep/topology", timeout=60)
    certificates = client.get_ca_cert()
    signer = scep.self_signed_signer(key, subject)
    csr = scep.build_csr(key, subject, challenge_password=CHALLENGE)
    nonce = os.urandom(16)
    message = scep.build_pki_message(
        message_type=scep.MessageType.PKCS_REQ,
        transaction_id=scep.transaction_id_for(key.public_key()),
        sender_nonce=nonce,
        message_data=csr.public_bytes(serialization.Encoding.DER),
        recipient_certificate=scep.select_recipient(certificates),
        signer_certificate=signer,
        signer_key=key,
        cipher=scep.ContentCipher.AES256_CBC,
        digest=scep.DigestAlgorithm.SHA256,
    )
    encoded = base64.b64encode(message).decode()
    query = urllib.parse.urlencode({"operation": "PKIOperation", "message": encoded})
    request_line = f"GET /scep/topology?{query} HTTP/1.1"
    assert 5000 < len(request_line) <= 8190, len(request_line)
    response = requests.get(f"{topology.url}/scep/topology?{query}", timeout=60)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/x-pki-message"
    reply = scep.parse_cert_rep(
        response.content,
        signer_key=key,
        signer_certificate=signer,
        expected_recipient_nonce=nonce,
        ra_certificate=certificates,
    )
    assert reply.status == scep.PkiStatus.SUCCESS
    assert reply.certificate is not None
    assert reply.certificate.subject == subject

    too_long = f"{topology.url}/scep/topology?operation=PKIOperation&message={'A' * 9000}"
    oversized = requests.get(too_long, timeout=30)
    assert oversized.status_code in (400, 414)
    assert "too large" in oversized.text.lower() or "too long" in oversized.text.lower()


def _web_manage(topology: Topology, *args: str) -> str:
    """Run ``manage.py <args>`` in the web tier's environment (no CA key passphrase)."""
    web_env = {
        **topology.env,
        "CERTPORTAL_RA_KEY_PASSPHRASE": settings.CERTPORTAL_RA_KEY_PASSPHRASE,
        "CERTPORTAL_OCSP_KEY_PASSPHRASE": settings.CERTPORTAL_OCSP_KEY_PASSPHRASE,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=web_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_a_revocation_asked_while_the_broker_is_down_completes_when_it_is_back(
    topology_on_private_redis: Topology, private_redis: PrivateRedis, pki, tmp_path, admin_user
):
    """Redis stops between issuance and revocation: the API still answers (202, the request is durable),
    nothing is revoked yet; Redis comes back, the stale-request sweep sends the request again, the CA worker
    revokes and publishes a CRL that openssl verifies. Nothing is lost, nothing is revoked twice.
    """
    topology = topology_on_private_redis
    device = tmp_path / "dev-broker"
    result = _scepclient(device, f"{topology.url}/scep/topology", cn="topology-broker")
    assert result.returncode == 0, result.stdout + result.stderr
    issued = IssuedCertificate.objects.get(subject__contains="topology-broker")
    token = api_token_create(user=admin_user, name="test", created_by=None).secret

    private_redis.stop()
    response = requests.post(
        f"{topology.url}/api/v1/certificates/{issued.pk}/revoke/",
        json={"reason": "key_compromise"},
        headers={"Authorization": f"Token {token}"},
        timeout=120,
    )
    assert response.status_code == 202, response.text
    request_id = response.json()["revocation_request"]["id"]
    issued.refresh_from_db()
    assert issued.revoked_at is None
    assert RevocationRequest.objects.get(pk=request_id).status == "queued"

    private_redis.start()
    topology.ca_worker.stop()  # the worker lost its broker: start it afresh
    topology.start_ca_worker()
    _web_manage(
        topology,
        "shell",
        "-c",
        "from ca.services.revocation_requests import revocation_request_redispatch_stale as sweep\n"
        "import datetime as dt; print(sweep(older_than=dt.timedelta(0)))",
    )
    deadline = time.monotonic() + READY_TIMEOUT
    while RevocationRequest.objects.get(pk=request_id).status != "done" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert RevocationRequest.objects.get(pk=request_id).status == "done"
    issued.refresh_from_db()
    assert issued.revocation_reason == "key_compromise"
    crl_file = tmp_path / "crl.der"
    crl_file.write_bytes(requests.get(f"{topology.url}/crl/{pki.issuing.slug}.crl", timeout=10).content)
    chain = write_pem(tmp_path / "chain.pem", pki.issuing.certificate, pki.root.certificate)
    verified = openssl(
        "crl", "-inform", "DER", "-in", str(crl_file), "-CAfile", str(chain), "-noout", "-text"
    )
    assert "verify OK" in verified.stdout + verified.stderr
    assert issued.serial in verified.stdout.replace(":", "").upper()
    assert RevocationRequest.objects.count() == 1
