"""The profiles app follows directory changes (``directory.observers``): when a device's or a user's group
membership or a device's primary user changes, the SCEP profiles that no longer apply to those devices are
reconciled (their certificates revoked). Registered in ``CERTPORTAL_DIRECTORY_OBSERVERS``.
"""

from __future__ import annotations

from directory.models import Device
from directory.observers import DirectoryObserver
from profiles.services.reconcile import devices_reconcile

__all__ = ["AssignmentReconciler"]


class AssignmentReconciler(DirectoryObserver):
    def members_changed(self, *, device_ids: frozenset[int], user_ids: frozenset[int]) -> None:
        devices = Device.objects.filter(pk__in=list(device_ids)) | Device.objects.filter(
            primary_user_id__in=list(user_ids)
        )
        devices_reconcile(devices=devices.distinct())
