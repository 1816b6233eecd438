"""The challenge-verifier interface: the policy module's VerifyRequest and Notify, as a plug-in seam.

A verifier looks at the challengePassword of a PKCSReq and either does not recognise it (``verify``
returns None and the next verifier tries), refuses it (raises ``EnrollmentRefused`` with failInfo, the
connector's diagnostic code and the validator's reason), or grants it: a ``ChallengeGrant`` says which
subject, SANs, template and validity the certificate gets, and where the authorisation came from. The
CSR contributes only its key, unless the grant says the request may supply its own subject (the static
shared-challenge mode).

The pipeline then calls ``consume(grant)`` inside the database transaction that records the request (a
one-time challenge is used up there, atomically), and ``notify(transaction)`` once, when the transaction
has succeeded or failed (also when that is learnt by a later poll).

A RenewalReq has no challenge: once the renewal rules pass (the signer is a current certificate of the
CA, for the same subject), every verifier's ``renewal_verify`` is asked whether what the certificate says
still holds for whom it was issued (the directory may have changed since): None (not a certificate it
knows), a refusal, or a grant naming the device and user. From such a grant the pipeline takes only the
``device_*`` and ``user_*`` links; the new certificate keeps the renewed one's identity.

Plug-ins are listed in ``CERTPORTAL_CHALLENGE_VERIFIERS``; the pipeline never names them. (The profiles
app's one-time challenge verifier implements this interface: it is the one place where profiles refers
to enrollment, as the Intune connector implements NDES's policy-module interface.)
"""

from __future__ import annotations

import threading
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography import x509

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from ca.models import CertificateAuthority, CertificateTemplate
from ca.services.submission import RequestedKeyUsage
from enrollment.choices import Authorization
from enrollment.conf import enrollment_settings

if TYPE_CHECKING:
    from ca.models import IssuedCertificate
    from enrollment.models import ScepService, ScepTransaction

__all__ = ["ChallengeGrant", "ChallengeVerifier", "challenge_verifiers"]


@dataclass(frozen=True)
class ChallengeGrant:
    """What a valid challenge (or a renewal's signing certificate) authorises: plain data.

    ``challenge_id`` (a one-time challenge) and ``renewed_certificate_id`` (a RenewalReq's signer) are the
    grant's origin; the transaction keeps them as foreign keys. ``device_*`` and ``user_*`` say whom a
    verifier issued the challenge for, as plain values: the pipeline writes them into the event log's
    links (it cannot look devices up itself).
    """

    authorization: Authorization
    subject: x509.Name
    sans: tuple[x509.GeneralName, ...] = ()
    #: None: the SCEP service's NDES template mapping decides, and it must let the request supply the subject.
    template: CertificateTemplate | None = None
    authority: CertificateAuthority | None = None
    validity_days: int | None = None
    sid: str = ""
    #: True when subject/SANs came from the CSR (static mode); the template must allow that.
    subject_from_request: bool = False
    challenge_id: uuid.UUID | None = None
    renewed_certificate_id: int | None = None
    device_id: int | None = None
    device_external_id: str = ""
    user_id: int | None = None
    user_principal_name: str = ""
    #: The key usage and EKUs asked for (a SCEP profile's); the certificate gets what the template also
    #: allows. None: the template's.
    key_usage: RequestedKeyUsage | None = None
    extended_key_usages: tuple[str, ...] | None = None


class ChallengeVerifier(ABC):
    @abstractmethod
    def verify(
        self, *, service: ScepService, challenge: str, csr: x509.CertificateSigningRequest
    ) -> ChallengeGrant | None:
        """Grant, refuse (raise EnrollmentRefused), or return None for a challenge it does not know."""

    def renewal_verify(
        self,
        *,
        service: ScepService,
        certificate: IssuedCertificate,
        csr: x509.CertificateSigningRequest,
        origin: ScepTransaction | None,
    ) -> ChallengeGrant | None:
        """A RenewalReq signed by ``certificate``, which the renewal rules accepted: None when the
        certificate is not one this verifier knows, EnrollmentRefused when what it says no longer holds,
        else a grant with the device and user links. ``origin`` is the PKCSReq transaction that the
        certificate's chain of renewals began with (its challenge), None when it was not enrolled by SCEP.
        Called on every verifier; any refusal refuses the renewal.
        """
        return None

    def consume(self, grant: ChallengeGrant) -> None:  # noqa: B027 - optional for verifiers
        """Use up what ``grant`` came from, inside the transaction that records the request; raise
        EnrollmentRefused if it was used meanwhile. Called only on the verifier that granted it.
        """

    def notifies(self, transaction: ScepTransaction) -> bool:
        """Whether ``notify`` has anything to do for ``transaction`` (else it is not called, and no database
        transaction is opened for it). By default: whether the verifier has a ``notify`` of its own.
        """
        return type(self).notify is not ChallengeVerifier.notify

    def notify(self, transaction: ScepTransaction) -> None:  # noqa: B027 - optional for verifiers
        """The outcome of a transaction (SUCCESS with its certificate, or FAILURE with its text). Called on
        every verifier, once; each acts on the transactions whose origin is its own.
        """


class _Verifiers:
    """``CERTPORTAL_CHALLENGE_VERIFIERS``, instantiated once, rebuilt when the setting changes."""

    def __init__(self) -> None:
        self._verifiers: list[ChallengeVerifier] | None = None
        self._lock = threading.Lock()

    def all(self) -> list[ChallengeVerifier]:
        with self._lock:
            if self._verifiers is None:
                self._verifiers = [
                    import_string(path)() for path in enrollment_settings().CHALLENGE_VERIFIERS
                ]
            return self._verifiers

    def reset(self) -> None:
        with self._lock:
            self._verifiers = None


challenge_verifiers = _Verifiers()


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "CERTPORTAL_CHALLENGE_VERIFIERS":
        challenge_verifiers.reset()
