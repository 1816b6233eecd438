"""System checks of the CA: key backends configured, passphrase only where keys are used."""

from __future__ import annotations

from ca.checks import key_backends_configured


def _ids(settings) -> list[str | None]:
    return [message.id for message in key_backends_configured(None)]


def test_test_settings_pass(settings):
    assert _ids(settings) == []


def test_missing_default_backend_is_an_error(settings):
    settings.CERTPORTAL_KEY_BACKENDS = {}
    assert _ids(settings) == ["ca.E001"]


def test_unloadable_backend_is_an_error(settings):
    settings.CERTPORTAL_KEY_BACKENDS = {
        "default": {"BACKEND": "ca.key_backends.db.DatabaseKeyBackend"},
        "hsm": {"BACKEND": "ca.key_backends.nowhere.HsmKeyBackend"},
        "broken": {},
    }
    assert _ids(settings) == ["ca.E002", "ca.E002"]


def test_passphrase_outside_the_ca_worker_is_a_warning(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.DEBUG = False
    assert _ids(settings) == ["ca.W001"]
    settings.CERTPORTAL_CA_KEY_PASSPHRASE = ""
    assert _ids(settings) == []
