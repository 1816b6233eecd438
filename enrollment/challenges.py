"""Challenge verifiers: who may enroll, and for exactly what.

A verifier looks at the challengePassword of a PKCSReq and either does not recognise it (returns
None, the next verifier tries), refuses it (raises ``ChallengeRefused`` with a readable reason and,
where one applies, the connector's diagnostic code), or grants it: a ``ChallengeGrant`` says which
subject, SANs, template and validity the certificate gets. The CSR contributes only its key, unless
the grant says the request may supply its own subject (the static shared-challenge mode).

Two implementations: ``StaticChallengeVerifier`` (one shared challenge per SCEP service, the plain
NDES / micromdm mode) and the per-device one-time challenge that profile check-in issues
(``profiles.challenges.OneTimeChallengeVerifier``). ``CERTPORTAL_CHALLENGE_VERIFIERS`` lists them in
order.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.module_loading import import_string

from ca.models import CertificateAuthority, CertificateTemplate, IssuedCertificate
from enrollment.models import ScepService

__all__ = [
    "ChallengeGrant",
    "ChallengeRefused",
    "ChallengeVerifier",
    "StaticChallengeVerifier",
    "challenge_verifiers",
    "static_challenge_digest",
]

#: SAN types a request may carry itself under a static challenge: never UPN/otherName (the ESC1 lesson).
_STATIC_SAN_TYPES = (x509.DNSName, x509.RFC822Name, x509.UniformResourceIdentifier, x509.IPAddress)


class ChallengeRefused(Exception):  # noqa: N818 - the reference's vocabulary
    """The challenge is wrong, expired, used, or does not authorise this request."""

    def __init__(self, text: str, *, diagnostic_code: int | None = None, reason_code: str = "") -> None:
        super().__init__(text)
        self.text = text
        self.diagnostic_code = diagnostic_code
        self.reason_code = reason_code


@dataclass(frozen=True)
class ChallengeGrant:
    """What a valid challenge authorises."""

    #: Recorded on the transaction: which challenge it was, never its value.
    reference: str
    subject: x509.Name
    sans: tuple[x509.GeneralName, ...] = ()
    #: None: the SCEP service's NDES template mapping decides, and it must let the request supply the subject.
    template: CertificateTemplate | None = None
    authority: CertificateAuthority | None = None
    validity_days: int | None = None
    sid: str = ""
    #: True when subject/SANs came from the CSR (static mode); the template must allow that.
    subject_from_request: bool = False
    #: Called inside the database transaction that records the request: consume a one-time challenge.
    consume: Callable[[], None] | None = field(default=None, compare=False)
    #: Called after the outcome is known (the reference's Notify step).
    notify: Callable[[IssuedCertificate | None, str], None] | None = field(default=None, compare=False)


class ChallengeVerifier(ABC):
    @abstractmethod
    def verify(
        self, *, service: ScepService, challenge: str, csr: x509.CertificateSigningRequest
    ) -> ChallengeGrant | None:
        """Grant, refuse (raise ChallengeRefused), or return None for a challenge this verifier does not know."""


def static_challenge_digest(challenge: str) -> str:
    """What is stored for a static challenge: an HMAC under the secret key, compared in constant time."""
    return salted_hmac("certportal.enrollment.static-challenge", challenge, algorithm="sha256").hexdigest()


class StaticChallengeVerifier(ChallengeVerifier):
    """One shared challenge per SCEP service: the request supplies its subject and SANs (DNS, email,
    URI, IP only), as plain NDES or micromdm do."""

    def verify(
        self, *, service: ScepService, challenge: str, csr: x509.CertificateSigningRequest
    ) -> ChallengeGrant | None:
        if not service.static_challenge_digest:
            return None
        if not constant_time_compare(static_challenge_digest(challenge), service.static_challenge_digest):
            return None
        try:
            requested = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            sans: tuple[x509.GeneralName, ...] = ()
        else:
            refused = [name for name in requested if not isinstance(name, _STATIC_SAN_TYPES)]
            if refused:
                raise ChallengeRefused(
                    "a static challenge cannot authorise UPN or other otherName subject alternative names",
                    reason_code="san_type_not_allowed",
                )
            sans = tuple(requested)
        return ChallengeGrant(reference="static", subject=csr.subject, sans=sans, subject_from_request=True)


class _Verifiers:
    def __init__(self) -> None:
        self._verifiers: list[ChallengeVerifier] | None = None
        self._lock = threading.Lock()

    def all(self) -> list[ChallengeVerifier]:
        with self._lock:
            if self._verifiers is None:
                paths = getattr(
                    settings, "CERTPORTAL_CHALLENGE_VERIFIERS", ["enrollment.challenges.StaticChallengeVerifier"]
                )
                self._verifiers = [import_string(path)() for path in paths]
            return self._verifiers

    def reset(self) -> None:
        with self._lock:
            self._verifiers = None


challenge_verifiers = _Verifiers()


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: object) -> None:
    if setting == "CERTPORTAL_CHALLENGE_VERIFIERS":
        challenge_verifiers.reset()
