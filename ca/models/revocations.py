"""Revocation requests: durable like certificate requests, written by the RA, carried out by the CA worker.

A request names one or more certificates, an RFC 5280 reason, who asked and why (the cause). It is
written in the caller's database transaction and sent to the ``ca`` queue once that commits; the CA worker
revokes its certificates together and publishes one CRL per CA touched. A lost task is sent again by the
stale-request sweep; a certificate already revoked is left as it was (asked twice, revoked once).
"""

from __future__ import annotations

from django.db import models

from ca.choices import RevocationCause, RevocationOutcome, RevocationReason, RevocationRequestStatus
from ca.models.certificates import IssuedCertificate
from core.models import TimestampedModel

__all__ = ["RevocationRequest", "RevocationRequestItem"]


class RevocationRequest(TimestampedModel):
    reason = models.CharField(max_length=32, choices=RevocationReason.choices)
    cause = models.CharField(max_length=24, choices=RevocationCause.choices)
    requested_by = models.CharField(
        max_length=255, help_text="Who asked: api:<user>, admin:<user>, system:<what>"
    )
    comment = models.TextField(blank=True)
    status = models.CharField(
        max_length=16,
        choices=RevocationRequestStatus.choices,
        default=RevocationRequestStatus.QUEUED,
        db_index=True,
    )
    task_id = models.CharField(max_length=64, blank=True, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.TextField(blank=True)
    certificates: models.ManyToManyField[IssuedCertificate, RevocationRequestItem] = models.ManyToManyField(
        IssuedCertificate, through="RevocationRequestItem", related_name="revocation_requests"
    )

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"revocation request {self.pk} ({self.get_cause_display()}, {self.status})"


class RevocationRequestItem(models.Model):
    """One certificate of a revocation request, and what became of it."""

    request = models.ForeignKey(RevocationRequest, on_delete=models.CASCADE, related_name="items")
    certificate = models.ForeignKey(IssuedCertificate, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(
        max_length=16, choices=RevocationOutcome.choices, default=RevocationOutcome.PENDING, db_index=True
    )
    #: What the requester knows of the certificate's holder (device and user ids and names, from the
    #: certificate observers), for the event log; the CA does not interpret it.
    context = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(fields=["request", "certificate"], name="ca_revocation_item_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.certificate} in {self.request}: {self.outcome}"
