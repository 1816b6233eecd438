"""Fixtures of the payload builder tests (pure: no database)."""

from __future__ import annotations

import pytest

from cryptography import x509

from profiles.tests.certificates import self_signed_ca


@pytest.fixture(scope="module")
def root() -> x509.Certificate:
    """The root CA certificate the payloads carry."""
    return self_signed_ca("certportal Test Root")
