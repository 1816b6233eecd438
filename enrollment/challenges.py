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
import uuid
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
from profiles.exceptions import ChallengeInvalid
from profiles.services.challenges import certificate_renewal_notify, challenge_notify, challenge_verify

__all__ = [
    "ChallengeGrant",
    "ChallengeRefused",
    "ChallengeVerifier",
    "OneTimeChallengeVerifier",
    "StaticChallengeVerifier",
    "challenge_verifiers",
    "static_challenge_digest",
]

#: SAN types a request may carry itself under a static challenge: never UPN/otherName (the ESC1 lesson).
_STATIC_SAN_TYPES = (x509.DNSName, x509.RFC822Name, x509.UniformResourceIdentifier, x509.IPAddress)


class ChallengeRefused(Exception):
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


class ChallengeVerifier(ABC):
    @abstractmethod
    def verify(
        self, *, service: ScepService, challenge: str, csr: x509.CertificateSigningRequest
    ) -> ChallengeGrant | None:
        """Grant, refuse (raise ChallengeRefused), or return None for a challenge it does not know."""

    def notify(self, *, reference: str, certificate: IssuedCertificate | None, outcome: str) -> None:  # noqa: B027
        """The outcome of a request this verifier granted (the policy module's Notify); ``reference`` is the
        grant's. Called once, when the transaction succeeds or fails, also when that is learnt by a poll.
        """


def static_challenge_digest(challenge: str) -> str:
    """What is stored for a static challenge: an HMAC under the secret key, compared in constant time."""
    return salted_hmac("certportal.enrollment.static-challenge", challenge, algorithm="sha256").hexdigest()


class StaticChallengeVerifier(ChallengeVerifier):
    """One shared challenge per SCEP service: the request supplies its subject and SANs (DNS, email,
    URI, IP only), as plain NDES or micromdm do.
    """

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
                    settings,
                    "CERTPORTAL_CHALLENGE_VERIFIERS",
                    ["enrollment.challenges.StaticChallengeVerifier"],
                )
                self._verifiers = [import_string(path)() for path in paths]
            return self._verifiers

    def reset(self) -> None:
        with self._lock:
            self._verifiers = None

    def notify(self, *, reference: str, certificate: IssuedCertificate | None, outcome: str) -> None:
        for verifier in self.all():
            verifier.notify(reference=reference, certificate=certificate, outcome=outcome)


challenge_verifiers = _Verifiers()


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: object) -> None:
    if setting == "CERTPORTAL_CHALLENGE_VERIFIERS":
        challenge_verifiers.reset()


class OneTimeChallengeVerifier(ChallengeVerifier):
    """The per-device one-time challenge that profile check-in issues (the Intune policy module's check)."""

    def verify(
        self, *, service: ScepService, challenge: str, csr: x509.CertificateSigningRequest
    ) -> ChallengeGrant | None:
        if not service.accept_one_time_challenges:
            return None
        try:
            authorization = challenge_verify(challenge=challenge, csr=csr, authority=service.authority)
        except ChallengeInvalid as exc:
            raise ChallengeRefused(
                exc.message, diagnostic_code=exc.diagnostic_code, reason_code=exc.code
            ) from exc
        if authorization is None:
            return None

        def consume() -> None:
            try:
                authorization.consume()
            except ChallengeInvalid as exc:
                raise ChallengeRefused(
                    exc.message, diagnostic_code=exc.diagnostic_code, reason_code=exc.code
                ) from exc

        return ChallengeGrant(
            reference=f"device-challenge:{authorization.challenge_id}",
            subject=authorization.subject,
            sans=authorization.sans,
            template=authorization.template,
            authority=authorization.authority,
            validity_days=authorization.validity_days,
            sid=authorization.sid,
            consume=consume,
        )

    def notify(self, *, reference: str, certificate: IssuedCertificate | None, outcome: str) -> None:
        kind, _, value = reference.partition(":")
        if kind == "device-challenge":
            challenge_notify(challenge_id=uuid.UUID(value), certificate=certificate, outcome=outcome)
        elif kind == "renewal":
            serial, _, authority_id = value.partition("@")
            previous = IssuedCertificate.objects.filter(
                serial=serial, authority_id=int(authority_id) if authority_id.isdigit() else None
            ).first()
            if previous is not None:
                certificate_renewal_notify(previous=previous, certificate=certificate, outcome=outcome)
