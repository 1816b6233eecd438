"""System checks: the CA's settings are valid (ca.E001) and its key backends importable (ca.E002)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.utils.module_loading import import_string

from ca.conf import ca_settings


@register()
def key_backends_configured(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    invalid = ca_settings.check(check_id="ca.E001")
    if invalid:
        return invalid
    config = ca_settings()
    messages: list[CheckMessage] = []
    for alias, backend in config.KEY_BACKENDS.items():
        try:
            import_string(backend["BACKEND"])
        except (ImportError, KeyError) as exc:
            messages.append(Error(f"key backend {alias!r} cannot be loaded: {exc}", id="ca.E002"))
    passphrase = config.CA_KEY_PASSPHRASE.get_secret_value()
    if not settings.CELERY_TASK_ALWAYS_EAGER and passphrase and not settings.DEBUG:
        messages.append(
            Warning(
                "this process has the CA key passphrase although tasks run on workers; "
                "only the CA worker should have CERTPORTAL_CA_KEY_PASSPHRASE",
                id="ca.W001",
            )
        )
    return messages


#: The tag of the checks that only the CA worker can pass: ``manage.py check --deploy --tag ca_worker
#: --database default`` where the CA key passphrase (or the token's PIN) is (README, "Health").
CA_WORKER_TAG = "ca_worker"


@register(CA_WORKER_TAG, deploy=True)
def ca_keys_can_sign(app_configs: Any, databases: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """ca.E003: every enabled CA's key signs through its key backend, and belongs to its certificate.

    A deployment check that reads the database: it runs with ``--deploy`` and ``--database`` only (so not in
    ``migrate``, and not in the web tier's ``check --deploy``, which has no CA key to sign with).
    """
    if not databases:
        return []
    from ca.services.key_checks import authority_keys_check  # noqa: PLC0415 - the CA worker's module

    try:
        problems = authority_keys_check()
    except Exception as exc:  # the database or the backend itself is unreachable: say so, as a failure
        return [Error(f"the CA keys cannot be checked: {type(exc).__name__}: {exc}", id="ca.E003")]
    return [
        Error(
            f"CA {problem.slug}: its key cannot sign: {problem.reason}",
            hint="check CERTPORTAL_CA_KEY_PASSPHRASE and the key backend of this process",
            id="ca.E003",
        )
        for problem in problems
    ]
