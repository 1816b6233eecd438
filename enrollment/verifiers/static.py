"""The static shared challenge: one per SCEP service, the plain NDES / micromdm mode.

A static challenge is shared, so what it authorises, anyone who knows it can ask for. The request may
supply its subject and SANs only as its service allows (``ScepService.static_*``): the subject only if
"subject supplied in the request" is on and it matches the service's subject pattern; SANs only of the
listed types (DNS by default). Never a UPN or any other otherName, never the KB5014754 SID URI
(``tag:microsoft.com,...``, in any case) and never the SID extension: each of them maps a certificate
to an AD account, and with Client Authentication on a CA that AD trusts that is a logon certificate for
any account (ESC1). Every refusal is badRequest with the reason.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from cryptography import x509

from django.utils.crypto import constant_time_compare, salted_hmac

from ca.constants import OID_NTDS_CA_SECURITY_EXT, OID_NTDS_OBJECTSID
from ca.crypto.identities import OID_UPN
from enrollment.choices import Authorization, StaticSanType
from enrollment.exceptions import EnrollmentRefused
from enrollment.models import ScepService
from enrollment.scep.constants import FailInfo
from enrollment.validators import STATIC_SUBJECT_MAX_LENGTH
from enrollment.verifiers.base import ChallengeGrant, ChallengeVerifier

__all__ = ["StaticChallengeVerifier", "static_challenge_digest"]

_SAN_TYPES: dict[type[x509.GeneralName], StaticSanType] = {
    x509.DNSName: StaticSanType.DNS,
    x509.IPAddress: StaticSanType.IP,
    x509.RFC822Name: StaticSanType.EMAIL,
    x509.UniformResourceIdentifier: StaticSanType.URI,
}
#: The namespace of the KB5014754 SID URI (``tag:microsoft.com,2022-09-14:sid:<SID>``): never from a
#: static challenge, in any case or percent-encoding.
_MICROSOFT_TAG = "tag:microsoft.com,"


def static_challenge_digest(challenge: str) -> str:
    """What is stored for a static challenge: an HMAC under the secret key, compared in constant time."""
    return salted_hmac("certportal.enrollment.static-challenge", challenge, algorithm="sha256").hexdigest()


def _refused(text: str, reason_code: str) -> EnrollmentRefused:
    return EnrollmentRefused(FailInfo.BAD_REQUEST, text, reason_code=reason_code)


def _check_extensions(csr: x509.CertificateSigningRequest) -> tuple[x509.GeneralName, ...]:
    """The CSR's SANs; refuses a requested SID extension and extensions that do not parse."""
    try:
        extensions = csr.extensions
        requested = [extension.oid for extension in extensions]
        sans = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        sans = None
    except ValueError as exc:
        raise _refused(f"the request's extensions cannot be parsed: {exc}", "extensions_unreadable") from exc
    if OID_NTDS_CA_SECURITY_EXT in requested:
        raise _refused(
            "a static challenge never authorises the SID extension (1.3.6.1.4.1.311.25.2): it maps the "
            "certificate to an AD account",
            "sid_not_allowed",
        )
    return tuple(sans) if sans is not None else ()


def _has_control_characters(text: str) -> bool:
    """C0 controls (NUL, ESC, line breaks...) and DEL: no name a device may ask for holds them.

    A NUL hides the rest of a name from C code that reads it; an escape sequence rewrites a terminal.
    """
    return any(ord(char) < 0x20 or ord(char) == 0x7F for char in text)


def _check_san(service: ScepService, name: x509.GeneralName) -> None:
    if isinstance(name.value, str) and _has_control_characters(name.value):
        raise _refused(
            "a requested subject alternative name contains control characters", "control_characters"
        )
    if isinstance(name, x509.OtherName):
        if name.type_id == OID_UPN:
            raise _refused(
                "a static challenge never authorises a UPN subject alternative name: it would be a logon "
                "certificate for that account; enroll users with a one-time challenge from a SCEP profile",
                "upn_not_allowed",
            )
        if name.type_id == OID_NTDS_OBJECTSID:
            raise _refused(
                "a static challenge never authorises a SID (otherName 1.3.6.1.4.1.311.25.2.1)",
                "sid_not_allowed",
            )
        raise _refused(
            f"a static challenge cannot authorise otherName {name.type_id.dotted_string} subject alternative "
            "names",
            "san_type_not_allowed",
        )
    if isinstance(name, x509.UniformResourceIdentifier) and (
        unquote(name.value).strip().lower().startswith(_MICROSOFT_TAG)
    ):
        raise _refused(
            "a static challenge never authorises the KB5014754 SID URI (tag:microsoft.com,2022-09-14:sid:): "
            "it maps the certificate to an AD account",
            "sid_not_allowed",
        )
    san_type = _SAN_TYPES.get(type(name))
    allowed = list(service.static_san_types or [])
    if san_type is None or san_type.value not in allowed:
        label = san_type.label if san_type is not None else type(name).__name__
        raise _refused(
            f"SCEP service {service.slug} does not let a static challenge request {label} subject "
            f"alternative names (allowed: {', '.join(allowed) or 'none'})",
            "san_type_not_allowed",
        )


def _check_subject(service: ScepService, subject: x509.Name) -> None:
    if not service.static_subject_from_request:
        raise _refused(
            f"SCEP service {service.slug} does not let a static-challenge request supply its subject; "
            "enroll with a one-time challenge from a SCEP profile",
            "subject_not_from_request",
        )
    if any(
        isinstance(attribute.value, str) and _has_control_characters(attribute.value) for attribute in subject
    ):
        raise _refused("the requested subject contains control characters", "control_characters")
    text = subject.rfc4514_string()
    if len(text) > STATIC_SUBJECT_MAX_LENGTH:
        raise _refused(
            f"the requested subject is longer than {STATIC_SUBJECT_MAX_LENGTH} characters", "subject_too_long"
        )
    pattern = service.static_subject_pattern
    if pattern and re.fullmatch(pattern, text) is None:
        raise _refused(
            f"the requested subject ({text}) does not match the subject pattern of SCEP service "
            f"{service.slug}",
            "subject_pattern_mismatch",
        )


class StaticChallengeVerifier(ChallengeVerifier):
    """The request supplies its subject and SANs, within what its SCEP service allows (module docstring)."""

    def verify(
        self, *, service: ScepService, challenge: str, csr: x509.CertificateSigningRequest
    ) -> ChallengeGrant | None:
        if not service.static_challenge_digest:
            return None
        if not constant_time_compare(static_challenge_digest(challenge), service.static_challenge_digest):
            return None
        _check_subject(service, csr.subject)
        sans = _check_extensions(csr)
        for name in sans:
            _check_san(service, name)
        return ChallengeGrant(
            authorization=Authorization.STATIC_CHALLENGE,
            subject=csr.subject,
            sans=sans,
            subject_from_request=True,
        )
