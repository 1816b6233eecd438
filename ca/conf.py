"""The certificate authority's settings (``CERTPORTAL_*``), typed and validated."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, field_validator

from core.conf import AppSettings, SettingsModel

__all__ = ["CaSettings", "ca_settings"]


class CaSettings(SettingsModel):
    #: Public base URL of the portal: CRL distribution points and AIA URLs of issued certificates.
    BASE_URL: str = "http://127.0.0.1:8000"
    #: Name of the queue the CA worker serves (every ``ca.tasks.*`` task is routed to it).
    CA_QUEUE: str = Field(default="ca", min_length=1)
    #: Passphrase of the CA private keys: only the CA worker (and the single embedded process) has it.
    CA_KEY_PASSPHRASE: SecretStr = SecretStr("")
    #: User PIN of the PKCS#11 tokens of ``ca.key_backends.pkcs11`` backends: the CA worker's only.
    PKCS11_PIN: SecretStr = SecretStr("")
    #: Where CA keys live, like Django's STORAGES: alias -> {"BACKEND": dotted path, "OPTIONS": {...}}.
    KEY_BACKENDS: dict[str, dict[str, Any]] = Field(
        default_factory=lambda: {
            "default": {"BACKEND": "ca.key_backends.db.DatabaseKeyBackend", "OPTIONS": {}}
        }
    )
    #: A queued request nobody answered for this long is dispatched to the CA worker again (seconds): by the
    #: device's next poll (``certificate_request_wait``) and by beat's sweep. Covers a task lost with a killed
    #: worker, to a Redis restart without persistence, or to a broker outage at submission.
    REQUEST_REDISPATCH_AFTER: float = Field(default=120.0, gt=0)
    #: How often beat runs that sweep (``ca.jobs.certificate_request_sweep_task``), in seconds.
    REQUEST_SWEEP_INTERVAL: float = Field(default=60.0, ge=1, le=24 * 3600)
    #: Passphrase of the OCSP responder keys: the RA side only (the web tier signs responses, the default
    #: worker's beat job writes renewed keys). Never the CA worker's secret.
    OCSP_KEY_PASSPHRASE: SecretStr = SecretStr("")
    #: Validity of a delegated OCSP responder certificate (days); beat renews it at half its lifetime.
    OCSP_RESPONDER_VALIDITY_DAYS: int = Field(default=7, ge=1, le=366)
    #: nextUpdate of an OCSP response, in seconds after thisUpdate (and the GET responses' max-age).
    OCSP_RESPONSE_VALIDITY: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    #: How long an API or admin revocation waits for the CA worker before answering 202 (seconds).
    REVOKE_WAIT: float = Field(default=5.0, ge=0, le=60)
    #: Who else follows revocations (``ca.observers``): dotted paths of CertificateObserver classes.
    CERTIFICATE_OBSERVERS: tuple[str, ...] = ()
    #: Directory of the portal's own TLS server certificate (``manage.py tls_certificate``): PEM files that
    #: a TLS front reads (``current/``: privkey.pem, cert.pem, chain.pem, fullchain.pem). Empty: none.
    TLS_DIR: str = ""
    #: How often a CA worker says it is alive and whether it can sign (seconds); readiness counts a worker
    #: that has not said so for three intervals as gone.
    CA_HEARTBEAT_INTERVAL: float = Field(default=10.0, ge=1, le=300)
    #: Where the web tier keeps the last CRL and CA certificates it served, to serve them while the database
    #: is down (``ca.published_files``). Empty: no such copies (the downloads answer 503 in an outage).
    PUBLISHED_DIR: str = ""
    #: The hourly job renews that certificate when less than this share of its lifetime is left.
    TLS_RENEWAL_THRESHOLD: float = Field(default=1 / 3, gt=0, lt=1)

    @field_validator("BASE_URL")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("CERTPORTAL_BASE_URL must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("KEY_BACKENDS")
    @classmethod
    def _key_backends(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        if "default" not in value:
            raise ValueError("CERTPORTAL_KEY_BACKENDS has no 'default' backend")
        return value


ca_settings = AppSettings(CaSettings)
