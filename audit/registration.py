"""What the audit log records: every model is either audited (registered with django-auditlog, which
records its creates, updates, deletes and many-to-many changes) or named in ``NOT_AUDITED`` with the reason;
``audit.tests`` holds every installed model to that. A proxy model is audited with its model.

Secret material is never recorded. A secret field (``secrets``) is masked: its change is recorded as
``"[redacted]"`` (``""`` when it is empty), so that a password change or a new check-in token shows, but
not the value. A model whose primary key is a secret (an API token's digest) is named by another field
(``identity``, e.g. knox's ``token_key``) or a hash; a foreign key to such a model is masked too. Binary
columns (DER certificates, CSRs, CRLs; public, large, and their fingerprints are recorded) and
``updated_at`` (the entry's own timestamp says when) are left out, as are the fields in ``exclude``.

Models are named by label, not imported: the audit app reads every app's rows and no app imports it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from auditlog.registry import auditlog

from django.apps import apps
from django.db import models
from django.utils.encoding import smart_str

__all__ = [
    "AUDITED",
    "NOT_AUDITED",
    "REDACTED",
    "Audited",
    "proxies_of",
    "redact",
    "register_all",
    "secret_key_identity",
]

REDACTED = "[redacted]"
#: Left out of every model's changes.
ALWAYS_EXCLUDED = ("updated_at",)


@dataclass(frozen=True)
class Audited:
    label: str
    #: Masked: the change is recorded, never the value.
    secrets: tuple[str, ...] = ()
    #: Not recorded: fields that change on every use and are recorded elsewhere.
    exclude: tuple[str, ...] = ()
    #: Many-to-many fields whose additions and removals are recorded.
    m2m: tuple[str, ...] = ()
    #: When the primary key is a secret: the field that names the object instead ("" : a hash of the key).
    identity: str = ""
    #: Registered only if the app is installed (the API token models of the token backends).
    optional: bool = False


AUDITED: tuple[Audited, ...] = (
    # django.contrib.auth: users, groups (the roles) and their permissions
    Audited("auth.User", secrets=("password",), m2m=("groups", "user_permissions")),
    Audited("auth.Group", m2m=("permissions",)),
    Audited("auth.Permission"),
    # API tokens: django-rest-knox's (access.ApiToken; knox's own model if it is not swapped) or DRF's
    Audited(
        "access.ApiToken", secrets=("digest",), exclude=("last_used_at",), identity="token_key", optional=True
    ),
    Audited("knox.AuthToken", secrets=("digest",), identity="token_key", optional=True),
    Audited("authtoken.Token", secrets=("key",), optional=True),
    # the CA
    Audited("ca.CertificateAuthority", secrets=("key_reference",), m2m=("published_templates",)),
    Audited("ca.CertificateTemplate"),
    Audited("ca.CertificateRequest"),
    Audited("ca.IssuedCertificate"),
    Audited("ca.CertificateRevocationList"),
    Audited("ca.OcspResponder", secrets=("encrypted_key_pem",)),
    Audited("ca.RevocationRequest"),
    Audited("ca.RevocationRequestItem"),
    Audited("ca.AuthorityRollover"),
    Audited("ca.PkcsRequest", secrets=("password_salt",)),  # the PKCS#12 (binary) is left out
    # the directory
    Audited("directory.DirectoryUser"),
    Audited("directory.Device", secrets=("checkin_token_digest",), exclude=("last_checkin_at",)),
    Audited("directory.Group", m2m=("users", "devices")),
    Audited("directory.ImportJob", optional=True),
    # profiles, assignments and the devices' certificate states
    Audited("profiles.TrustedRootProfile"),
    Audited("profiles.ScepProfile"),
    Audited("profiles.ProfileAssignment"),
    Audited("profiles.DeviceCertificateState"),
    Audited("profiles.DeviceCertificate"),
    Audited("profiles.ResourceProfile"),
    Audited("profiles.DevicePkcsRequest"),
    # the SCEP services and their RAs
    Audited("enrollment.RegistrationAuthority", secrets=("encrypted_key_pem",)),
    Audited("enrollment.ScepService", secrets=("static_challenge_digest",)),
    # the notices
    Audited("notifications.SentNotice"),
)

NOT_AUDITED: dict[str, str] = {
    "audit.AuditEntry": "the audit log itself",
    "audit.ChainLink": "the hash chains over the audit log and the event log (manage.py audit_verify)",
    "eventlog.ConnectorEvent": "the connector's event log is its own record, hash-chained like the audit log",
    "enrollment.ScepTransaction": "one per SCEP operation (high volume): the event log records each",
    "profiles.DeviceChallenge": (
        "one per check-in that needs a challenge (high volume) and it holds the challenge's HMAC: the event "
        "log records each (30002 ChallengeIssued)"
    ),
    "admin.LogEntry": "the admin's own history of the changes recorded here",
    "contenttypes.ContentType": "written by migrate only",
    "sessions.Session": "transient; a login is recorded as the user's last_login update",
    "auditlog.LogEntry": "swapped for audit.AuditEntry (AUDITLOG_LOGENTRY_MODEL)",
    "axes.AccessAttempt": "login failures: django-axes's own record (the lockout)",
    "axes.AccessFailureLog": "login failures: django-axes's own record",
    "axes.AccessAttemptExpiration": "django-axes's lockout bookkeeping",
    "axes.AccessLog": "logins (one per login): django-axes's own record",
}


def redact(value: str) -> str:
    """django-auditlog's mask callable for secret fields: whether there is a value, never the value."""
    return "" if value in ("", "None") else REDACTED


_secret_keys: dict[type[models.Model], str] = {}


def register_all() -> None:
    """Register every model of ``AUDITED`` with django-auditlog (``AuditConfig.ready``)."""
    entries = [entry for entry in AUDITED if _installed(entry)]
    for entry in entries:
        model = apps.get_model(entry.label)
        if model._meta.swapped:
            continue
        pk = model._meta.pk
        if pk is not None and pk.name in entry.secrets:
            _secret_keys[model] = entry.identity
    for entry in entries:
        model = apps.get_model(entry.label)
        if model._meta.swapped:
            continue
        # A proxy's saves are signalled with the proxy as sender: each proxy is registered like its model.
        for each in (model, *proxies_of(model)):
            if not auditlog.contains(each):
                auditlog.register(
                    each,
                    exclude_fields=[*_excluded(model, entry), *ALWAYS_EXCLUDED],
                    mask_fields=[*entry.secrets, *_keys_to_secret_models(model)],
                    mask_callable="audit.registration.redact",
                    m2m_fields=set(entry.m2m),
                )


def proxies_of(model: type[models.Model]) -> list[type[models.Model]]:
    """The proxy models of ``model`` (e.g. profiles.ManagedDevice of directory.Device)."""
    return [
        other
        for other in apps.get_models()
        if other._meta.proxy and other._meta.concrete_model is model._meta.concrete_model
    ]


def _installed(entry: Audited) -> bool:
    """A required model must exist (``apps.get_model`` raises); an optional one may be missing."""
    try:
        apps.get_model(entry.label)
    except LookupError:
        if entry.optional:
            return False
        raise
    return True


def _excluded(model: type[models.Model], entry: Audited) -> list[str]:
    binary = [field.name for field in model._meta.concrete_fields if isinstance(field, models.BinaryField)]
    return [*entry.exclude, *binary, *_reverse_one_to_one(model)]


def _reverse_one_to_one(model: type[models.Model]) -> list[str]:
    """The other side of one-to-one relations pointing at ``model`` (a certificate's OCSP responder): not
    columns of this row, so never a change of it (the pointing row's own entry records the link). Left in,
    django-auditlog would read each with a query on every create and update of ``model``.
    """
    return [
        field.name
        for field in model._meta.get_fields(include_hidden=True)
        if field.auto_created and not field.concrete and field.one_to_one
    ]


def _keys_to_secret_models(model: type[models.Model]) -> list[str]:
    """Foreign keys to a model whose primary key is a secret: the key would be the secret."""
    return [
        field.name
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model in _secret_keys
    ]


def secret_key_identity(instance: models.Model) -> dict[str, str]:
    """For an object whose primary key is a secret: ``object_pk`` and ``object_repr`` without it."""
    model = type(instance)
    if model not in _secret_keys:
        return {}
    secret = smart_str(instance.pk)
    field = _secret_keys[model]
    identity = smart_str(getattr(instance, field)) if field else ""
    if not identity:
        identity = "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:16]
    representation = smart_str(instance).replace(secret, identity) if secret else smart_str(instance)
    return {"object_pk": identity, "object_repr": representation}
