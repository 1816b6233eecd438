"""The CA's PKCS requests in the admin: read only (the check-in writes them, the CA worker answers them)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from ca.models import PkcsRequest

__all__ = ["PkcsRequestAdmin"]


@admin.register(PkcsRequest)
class PkcsRequestAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The CA's PKCS requests: read only (the check-in writes them, the CA worker answers them). The
    encrypted PKCS#12 is never shown, only whether it is still kept.
    """

    list_display = (
        "id",
        "subject",
        "key_spec",
        "status",
        "authority",
        "template",
        "created_at",
        "delivered_at",
    )
    list_filter = ("status", "authority", "template")
    search_fields = ("subject", "requester")
    fields = (
        "authority",
        "template",
        "key_spec",
        "subject",
        "requester",
        "holder",
        "status",
        "failure_reason",
        "certificate",
        "certificate_request",
        "pkcs12_kept",
        "delivered_at",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(boolean=True, description="PKCS#12 kept")
    def pkcs12_kept(self, obj: PkcsRequest) -> bool:
        return bool(obj.pkcs12_der)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
