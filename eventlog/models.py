"""The event log: one row per event, with soft links to what it is about."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from eventlog.catalogue import diagnostic_describe, diagnostic_display
from eventlog.choices import DiagnosticCode, EventId, EventLevel

__all__ = ["ConnectorEvent"]


class ConnectorEvent(models.Model):
    """An event of the connector's log (the reference's Event Viewer log), accepted or refused.

    What it is about is kept by soft links (plain columns, no foreign keys): the log keeps its rows when
    a device, user, CA or transaction is deleted, and the apps below the one that records an event (the
    CA) could not refer to its rows anyway. ``created_at`` is a default, not ``auto_now_add``, so that
    rows moved from the older enrollment log kept their times.
    """

    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    event_id = models.PositiveIntegerField(choices=EventId.choices, db_index=True)
    level = models.CharField(max_length=16, choices=EventLevel.choices)
    message = models.CharField(max_length=1024)
    diagnostic_code = models.PositiveIntegerField(
        choices=DiagnosticCode.choices, null=True, blank=True, db_index=True
    )
    details = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    # --- soft links ----------------------------------------------------------------------------------
    service_slug = models.CharField(max_length=64, blank=True, help_text="SCEP service")
    scep_transaction_id = models.BigIntegerField(null=True, blank=True, help_text="ScepTransaction id")
    transaction_id = models.CharField(
        max_length=128, blank=True, db_index=True, help_text="The client's SCEP transactionID"
    )
    message_type = models.PositiveSmallIntegerField(null=True, blank=True, help_text="SCEP messageType")
    fail_info = models.PositiveSmallIntegerField(null=True, blank=True, help_text="SCEP failInfo")
    client_address = models.GenericIPAddressField(null=True, blank=True)
    device_id = models.BigIntegerField(null=True, blank=True)
    device_external_id = models.CharField(max_length=255, blank=True, help_text="Intune device ID")
    user_id = models.BigIntegerField(null=True, blank=True)
    user_principal_name = models.CharField(max_length=255, blank=True)
    authority_slug = models.CharField(max_length=64, blank=True)
    ca_name = models.CharField(max_length=128, blank=True)
    template_name = models.CharField(max_length=64, blank=True)
    serial = models.CharField(max_length=64, blank=True, db_index=True, help_text="Certificate serial (hex)")
    thumbprint = models.CharField(max_length=64, blank=True, help_text="Certificate SHA-1 thumbprint")

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = "connector event"
        indexes = [  # the timelines; they also serve the plain device_id and user_id filters
            models.Index(fields=["device_id", "-created_at"], name="eventlog_device_timeline"),
            models.Index(fields=["user_id", "-created_at"], name="eventlog_user_timeline"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} {self.message}"

    @property
    def event_name(self) -> str:
        return self.get_event_id_display()

    @property
    def diagnostic_code_hex(self) -> str:
        return f"0x{self.diagnostic_code:08X}" if self.diagnostic_code is not None else ""

    @property
    def diagnostic(self) -> str:
        """``0x00000411 CRPSCEPChallenge_Expired``."""
        return diagnostic_display(self.diagnostic_code)

    @property
    def diagnostic_message(self) -> str:
        described = diagnostic_describe(self.diagnostic_code)
        return described.message if described is not None else ""

    @property
    def diagnostic_action(self) -> str:
        described = diagnostic_describe(self.diagnostic_code)
        return described.action if described is not None else ""
