"""The profiles app follows revocations (``ca.observers``): a device's certificate and its state for the
profile say revoked, with the cause and the reason, as soon as the CA worker has revoked it.

Registered in ``CERTPORTAL_CERTIFICATE_OBSERVERS``. A missed notification (the observer failed, a worker
died after the commit) is made good by the certificate sweep, which reads the CA's rows.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.utils import timezone

from ca.choices import RevocationCause, RevocationReason
from ca.models import RevocationRequest
from ca.observers import CertificateObserver
from profiles.choices import CertificateState, DeviceCertificateStatus, RevokeStatus
from profiles.models import DeviceCertificate, DeviceCertificateState

__all__ = ["DeviceCertificateObserver", "revocation_reason_text"]

_EXPLAINED = (CertificateState.REMOVED, CertificateState.PENDING, CertificateState.NOT_APPLICABLE)


def revocation_reason_text(cause: str, reason: str) -> str:
    return f"revoked: {RevocationCause(cause).label.lower()} ({RevocationReason(reason).label.lower()})"


class DeviceCertificateObserver(CertificateObserver):
    def revocation_context(self, certificate_ids: Collection[int]) -> dict[int, dict[str, Any]]:
        bindings = DeviceCertificate.objects.filter(certificate_id__in=list(certificate_ids)).select_related(
            "device__primary_user", "profile"
        )
        context: dict[int, dict[str, Any]] = {}
        for binding in bindings:
            user = binding.device.primary_user
            context[binding.certificate_id] = {
                "device_id": binding.device_id,
                "device_external_id": binding.device.external_id,
                "device_name": binding.device.name,
                "user_id": user.pk if user is not None else None,
                "user_principal_name": user.user_principal_name if user is not None else "",
                "profile": binding.profile.name if binding.profile is not None else "",
            }
        return context

    def revocation_requested(self, request: RevocationRequest) -> None:
        DeviceCertificate.objects.filter(
            certificate__in=request.items.values("certificate"), revoke_status=RevokeStatus.NONE
        ).update(revoke_status=RevokeStatus.PENDING, revoke_status_changed_at=timezone.now())

    def certificates_revoked(self, request: RevocationRequest, certificate_ids: Collection[int]) -> None:
        ids = list(certificate_ids)
        now = timezone.now()
        reason = revocation_reason_text(request.cause, request.reason)
        DeviceCertificate.objects.filter(certificate_id__in=ids).update(
            status=DeviceCertificateStatus.REVOKED,
            status_reason=reason,
            status_changed_at=now,
            revoke_status=RevokeStatus.REVOKED,
            revoke_status_changed_at=now,
        )
        # A state that already says why the device no longer has the certificate (the profile was removed
        # from it, or changed and awaits a new enrollment) keeps saying so; the certificate says revoked.
        DeviceCertificateState.objects.filter(certificate_id__in=ids).exclude(state__in=_EXPLAINED).update(
            state=CertificateState.REVOKED, reason=reason[:1024], state_changed_at=now
        )
