"""The profiles app follows directory changes (``directory.observers``): when a device's or a user's group
membership or a device's primary user changes, the SCEP profiles that no longer apply to those devices are
reconciled (their certificates revoked). Registered in ``CERTPORTAL_DIRECTORY_OBSERVERS``.
"""

from __future__ import annotations

from core.requesters import acting_as
from directory.models import Device
from directory.observers import DirectoryObserver
from profiles.services.reconcile import devices_reconcile

__all__ = ["AssignmentReconciler"]


class AssignmentReconciler(DirectoryObserver):
    def members_changed(self, *, device_ids: frozenset[int], user_ids: frozenset[int]) -> None:
        """The directory changed (committed already): the system revokes by the profiles' policy, as Intune
        does when Entra groups change; it is not the directory manager revoking (nor refused for lack of
        the revoke right: removing a leaver from a group is how access ends).
        """
        devices = Device.objects.filter(pk__in=list(device_ids)) | Device.objects.filter(
            primary_user_id__in=list(user_ids)
        )
        with acting_as(None):
            devices_reconcile(devices=devices.distinct())
