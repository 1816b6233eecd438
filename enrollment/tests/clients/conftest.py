"""Real SCEP clients (Debian packages) against a live certportal: pytest-django's ``live_server`` (a
threaded server on 127.0.0.1) serving a SCEP service without legacy algorithms.

``clients_service`` is /scep/clients: AES and SHA-2 only, a static challenge of 32 characters (as long as
a generated NDES password; see ``strongswan.py`` for why the length matters to strongSwan), DNS SANs
allowed from the request (the static-challenge default).
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ca.tests.fixtures import Pki
from enrollment.models import RegistrationAuthority, ScepService
from enrollment.services.registration import scep_service_create
from enrollment.tests.clients.certmonger import Certmonger
from enrollment.tests.front_door import nginx_front_door, tls_files_issue

os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

CLIENTS_CHALLENGE = "clients-static-challenge-0123456"


@pytest.fixture
def clients_service(pki: Pki, registration_authority: RegistrationAuthority) -> ScepService:
    """/scep/clients: modern algorithms only (no DES, 3DES or SHA-1), a static challenge."""
    return scep_service_create(
        slug="clients",
        name="SCEP clients",
        authority=pki.issuing,
        registration_authority=registration_authority,
        general_purpose_template=pki.template,
        static_challenge=CLIENTS_CHALLENGE,
    )


@dataclass(frozen=True)
class FrontDoor:
    """How the clients reach the live server: over HTTPS, verifying the server with ``cafile``."""

    url: str
    cafile: Path


@pytest.fixture
def clients_front_door(live_server, pki: Pki, tmp_path: Path) -> Iterator[FrontDoor]:
    """HTTPS in front of the live server, as devices reach the portal in production: nginx with the
    repository's configuration (``enrollment/tests/front_door.py``), its server certificate (127.0.0.1 as
    an IP SAN) issued by the test PKI's issuing CA, so ``cafile`` is that CA's chain.

    The certificate is issued in a transaction that is rolled back (the files stay): the CA's tables hold
    only what the test's devices were issued.
    """
    tls = tls_files_issue(
        authority=pki.issuing, directory=tmp_path / "front-door" / "tls", keep_records=False
    )
    upstream = urllib.parse.urlsplit(live_server.url).netloc
    with nginx_front_door(upstream=upstream, tls=tls, directory=tmp_path / "front-door" / "nginx") as door:
        yield FrontDoor(url=door.https_url, cafile=door.cafile)


@pytest.fixture
def clients_url(clients_front_door: FrontDoor, clients_service: ScepService) -> str:
    """The strict service's URL over HTTPS (trust ``clients_tls_cafile``)."""
    return f"{clients_front_door.url}/scep/{clients_service.slug}"


@pytest.fixture
def clients_tls_cafile(clients_front_door: FrontDoor) -> Path:
    """The CA (PEM) that issued the front door's TLS server certificate."""
    return clients_front_door.cafile


@pytest.fixture
def certmonger(tmp_path: Path) -> Iterator[Certmonger]:
    """A private certmonger daemon (see ``certmonger.py``), stopped after the test."""
    daemon = Certmonger.start(tmp_path / "certmonger")
    try:
        yield daemon
    finally:
        daemon.stop()
