"""The SCEP front end's settings (``CERTPORTAL_*``), typed and validated."""

from __future__ import annotations

from pydantic import Field, SecretStr

from core.conf import AppSettings, SettingsModel

__all__ = ["EnrollmentSettings", "enrollment_settings"]


class EnrollmentSettings(SettingsModel):
    #: How long the SCEP endpoint waits for the CA worker before answering PENDING (seconds).
    SCEP_ISSUE_WAIT: float = Field(default=5.0, ge=0, le=60)
    #: How many PKIOperations of one web process may wait for the CA worker at once; the others answer
    #: PENDING (enrollment/services/pki_operation/waiting.py). 0: none waits.
    SCEP_MAX_WAITING: int = Field(default=2, ge=0, le=256)
    #: How long a PKIOperation that finds every waiting slot taken waits for one to come free (seconds)
    #: before it answers PENDING: under load with a quick CA worker slots free within milliseconds, and
    #: a PENDING answer costs the device a poll (minutes, for some clients). 0: PENDING at once.
    SCEP_SLOT_WAIT: float = Field(default=0.25, ge=0, le=5)
    #: Largest PKIOperation body / decoded GET message accepted (bytes).
    SCEP_MAX_MESSAGE_SIZE: int = Field(default=256 * 1024, ge=1024, le=16 * 1024 * 1024)
    #: Refuse requests whose signingTime is further than this from our clock (seconds; 0 = no check).
    SCEP_MAX_CLOCK_SKEW: int = Field(default=24 * 3600, ge=0)
    #: Who may enroll: tried in order; the first that recognises a challenge decides. The project adds
    #: the profiles app's one-time challenge verifier (portal/settings/base.py).
    CHALLENGE_VERIFIERS: tuple[str, ...] = ("enrollment.verifiers.static.StaticChallengeVerifier",)
    #: Passphrase of the RA private keys: the web tier (the RA) has it, and the default worker, which
    #: renews RA certificates.
    RA_KEY_PASSPHRASE: SecretStr = SecretStr("")
    #: The RA renewal job renews an RA certificate with less than this share of its lifetime left.
    RA_RENEWAL_THRESHOLD: float = Field(default=0.2, gt=0, lt=1)
    #: The retention job deletes refused and failed SCEP transactions last changed this many days ago (their
    #: events stay, under CERTPORTAL_EVENT_RETENTION_DAYS).
    SCEP_REFUSED_RETENTION_DAYS: int = Field(default=30, ge=1, le=3650)
    #: Requests waiting for approval (templates that need a CA certificate manager) that one client address,
    #: one requested subject and one SCEP service may have at once; one more is refused (badRequest) and
    #: not stored. 0: no limit.
    SCEP_PENDING_MAX_PER_ADDRESS: int = Field(default=20, ge=0)
    SCEP_PENDING_MAX_PER_SUBJECT: int = Field(default=3, ge=0)
    SCEP_PENDING_MAX_PER_SERVICE: int = Field(default=1000, ge=0)
    #: A browser at a SCEP path without an operation gets the NDES test page (the service and its CA)
    #: instead of the 403 that NDES answers once the Intune connector is installed. The project turns it
    #: on in the embedded default (portal/settings/base.py).
    NDES_TEST_PAGE: bool = False


enrollment_settings = AppSettings(EnrollmentSettings)
