"""Real SCEP clients (Debian packages) against a live certportal: pytest-django's ``live_server`` (a
threaded server on 127.0.0.1) serving a SCEP service without legacy algorithms.

``clients_service`` is /scep/clients: AES and SHA-2 only, a static challenge of 32 characters (as long as
a generated NDES password; see ``strongswan.py`` for why the length matters to strongSwan), DNS SANs
allowed from the request (the static-challenge default).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ca.tests.fixtures import Pki
from enrollment.models import RegistrationAuthority, ScepService
from enrollment.services.registration import scep_service_create
from enrollment.tests.clients.certmonger import Certmonger

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


@pytest.fixture
def clients_url(live_server, clients_service: ScepService) -> str:
    return f"{live_server.url}/scep/{clients_service.slug}"


@pytest.fixture
def certmonger(tmp_path: Path) -> Iterator[Certmonger]:
    """A private certmonger daemon (see ``certmonger.py``), stopped after the test."""
    daemon = Certmonger.start(tmp_path / "certmonger")
    try:
        yield daemon
    finally:
        daemon.stop()
