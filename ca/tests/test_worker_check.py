"""``manage.py check --deploy --tag ca_worker --database default``: the CA worker can sign with every
CA key."""

from __future__ import annotations

import pytest

from django.core.management import call_command
from django.core.management.base import SystemCheckError

from ca.checks import ca_keys_can_sign


def run_check() -> None:
    call_command("check", "--deploy", "--tag", "ca_worker", "--database", "default")


def test_passes_where_every_ca_key_signs(pki):
    run_check()


def test_fails_with_a_wrong_passphrase(pki, settings):
    settings.CERTPORTAL_CA_KEY_PASSPHRASE = "not-the-passphrase"

    with pytest.raises(SystemCheckError, match=r"ca\.E003"):
        run_check()


def test_is_skipped_without_a_database(pki, settings):
    """Without --database (``check --deploy`` in the web tier, ``migrate``) it does not run at all."""
    settings.CERTPORTAL_CA_KEY_PASSPHRASE = "not-the-passphrase"

    assert ca_keys_can_sign(None) == []
    assert [message.id for message in ca_keys_can_sign(None, databases=["default"])] == ["ca.E003"] * 2
