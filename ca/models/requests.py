"""The CA's queue of certificate requests: what policy decided to issue, and where it stands."""

from __future__ import annotations

from cryptography import x509

from django.db import models

from ca.choices import CertificateRequestStatus
from ca.crypto.names import general_name_from_json, name_from_json
from ca.models.authorities import CertificateAuthority
from ca.models.templates import CertificateTemplate
from ca.querysets import CertificateRequestQuerySet
from core.models import TimestampedModel

__all__ = ["CertificateRequest"]


class CertificateRequest(TimestampedModel):
    """A request in the CA's queue: what policy decided to issue, waiting for (or done by) the CA worker."""

    authority = models.ForeignKey(CertificateAuthority, on_delete=models.PROTECT, related_name="requests")
    template = models.ForeignKey(CertificateTemplate, on_delete=models.PROTECT, related_name="requests")
    csr_der = models.BinaryField(editable=False)
    public_key_sha256 = models.CharField(max_length=64, db_index=True, editable=False)
    subject_json = models.JSONField(editable=False, help_text="Subject chosen by policy (JSON RDNs)")
    sans_json = models.JSONField(default=list, editable=False, help_text="SANs chosen by policy")
    subject = models.CharField(max_length=1024, editable=False, help_text="Readable subject (RFC 4514)")
    validity_days = models.PositiveIntegerField(null=True, blank=True, help_text="Requested validity, if any")
    sid = models.CharField(max_length=184, blank=True, help_text="SID for the KB5014754 mapping extension")
    key_usage = models.JSONField(
        null=True,
        blank=True,
        editable=False,
        help_text='Key usage the requester asks for ({"digital_signature": bool, "key_encipherment": bool}); '
        "the certificate gets what the template also allows. Empty: the template's",
    )
    extended_key_usages = models.JSONField(
        null=True,
        blank=True,
        editable=False,
        help_text="EKU OIDs the requester asks for, within the template's application policies. "
        "Empty: the template's",
    )
    requester = models.CharField(max_length=255, help_text="Who asked: scep:<endpoint>, api:<user>, ...")
    status = models.CharField(max_length=20, choices=CertificateRequestStatus.choices, db_index=True)
    failure_reason = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True, editable=False)
    decided_by = models.CharField(max_length=255, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = CertificateRequestQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at",)
        permissions = [("approve_certificaterequest", "Can approve or deny certificate requests")]

    def __str__(self) -> str:
        return f"request {self.pk} ({self.subject or 'no subject'}, {self.status})"

    @property
    def subject_name(self) -> x509.Name:
        return name_from_json(self.subject_json)

    @property
    def subject_alternative_names(self) -> list[x509.GeneralName]:
        return [general_name_from_json(item) for item in self.sans_json]

    @property
    def is_terminal(self) -> bool:
        return self.status in CertificateRequestStatus.terminal()
