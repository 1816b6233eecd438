"""CA rollovers: a CA's successor (a new key and certificate), prepared ahead, switched to at a given time.

AD CS renews a CA certificate with a new key and keeps issuing under the same name; here the successor is
a CA of its own (its own slug, key, CRL and OCSP URLs), the same subject by default, signed by the
parent (or by itself for a root). The old CA stays valid for what it issued and keeps publishing its CRL
and OCSP answers. The rollover row says what the successor is to be (the CA worker creates it from that),
when the SCEP services switch to it, and what became of it.
"""

from __future__ import annotations

from django.db import models

from ca.choices import RolloverStatus
from ca.models.authorities import CertificateAuthority
from core.models import TimestampedModel

__all__ = ["AuthorityRollover"]


class AuthorityRollover(TimestampedModel):
    authority = models.ForeignKey(
        CertificateAuthority,
        on_delete=models.PROTECT,
        related_name="rollovers",
        help_text="The CA being replaced",
    )
    successor = models.OneToOneField(
        CertificateAuthority,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rollover_from",
        editable=False,
        help_text="The next CA, once the CA worker has created it",
    )
    status = models.CharField(
        max_length=16, choices=RolloverStatus.choices, default=RolloverStatus.REQUESTED, db_index=True
    )
    # What the successor is to be.
    successor_slug = models.SlugField(max_length=64)
    successor_name = models.CharField(max_length=128)
    successor_subject = models.CharField(
        max_length=1024, blank=True, help_text="RFC 4514; empty: the subject of the CA being replaced"
    )
    key_spec = models.CharField(max_length=16, help_text="RSA-2048 ... RSA-4096, EC-P256, EC-P384")
    validity_days = models.PositiveIntegerField()
    parent = models.ForeignKey(
        CertificateAuthority,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who signs the successor; empty: it signs itself (a root)",
    )
    path_length = models.PositiveSmallIntegerField(null=True, blank=True)
    key_backend = models.CharField(max_length=64, default="default")
    # When, and what became of it.
    switch_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="When beat switches the services to the successor"
    )
    switched_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    task_id = models.CharField(max_length=64, blank=True, editable=False)
    failure_reason = models.TextField(blank=True)
    requested_by = models.CharField(max_length=255, help_text="command:<name>, api:<user>, ...")

    class Meta:
        ordering = ("-created_at",)
        verbose_name = "CA rollover"
        constraints = [
            models.UniqueConstraint(
                fields=["authority"],
                condition=models.Q(status__in=sorted(RolloverStatus.open())),
                name="ca_one_open_rollover",
                violation_error_message="this CA has a rollover under way already",
            ),
        ]

    def __str__(self) -> str:
        return f"rollover of {self.authority} to {self.successor_slug} ({self.status})"
