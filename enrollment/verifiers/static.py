"""The static shared challenge: one per SCEP service, the plain NDES / micromdm mode."""

from __future__ import annotations

from cryptography import x509

from django.utils.crypto import constant_time_compare, salted_hmac

from enrollment.choices import Authorization
from enrollment.exceptions import EnrollmentRefused
from enrollment.models import ScepService
from enrollment.scep.constants import FailInfo
from enrollment.verifiers.base import ChallengeGrant, ChallengeVerifier

__all__ = ["StaticChallengeVerifier", "static_challenge_digest"]

#: SAN types a request may carry itself under a static challenge: never UPN/otherName (the ESC1 lesson).
_STATIC_SAN_TYPES = (x509.DNSName, x509.RFC822Name, x509.UniformResourceIdentifier, x509.IPAddress)


def static_challenge_digest(challenge: str) -> str:
    """What is stored for a static challenge: an HMAC under the secret key, compared in constant time."""
    return salted_hmac("certportal.enrollment.static-challenge", challenge, algorithm="sha256").hexdigest()


class StaticChallengeVerifier(ChallengeVerifier):
    """The request supplies its subject and SANs (DNS, email, URI, IP only), as plain NDES or micromdm do."""

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
        except ValueError as exc:
            raise EnrollmentRefused(
                FailInfo.BAD_REQUEST, f"the request's extensions cannot be parsed: {exc}"
            ) from exc
        else:
            refused = [name for name in requested if not isinstance(name, _STATIC_SAN_TYPES)]
            if refused:
                raise EnrollmentRefused(
                    FailInfo.BAD_REQUEST,
                    "a static challenge cannot authorise UPN or other otherName subject alternative names",
                    reason_code="san_type_not_allowed",
                )
            sans = tuple(requested)
        return ChallengeGrant(
            authorization=Authorization.STATIC_CHALLENGE,
            subject=csr.subject,
            sans=sans,
            subject_from_request=True,
        )
