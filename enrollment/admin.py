"""Admin of the SCEP front end: services (with the legacy switch), RAs, transactions.

(Their events are in the connector's event log: ``eventlog.admin``.)
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from enrollment.models import RegistrationAuthority, ScepService, ScepTransaction


@admin.register(ScepService)
class ScepServiceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "slug",
        "name",
        "authority",
        "allow_legacy_algorithms",
        "static_challenge_set",
        "accept_one_time_challenges",
        "allow_renewal",
        "is_default",
        "enabled",
    )
    list_filter = ("enabled", "allow_legacy_algorithms", "is_default", "authority")
    search_fields = ("slug", "name")
    readonly_fields = ("static_challenge_set",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "slug",
                    "name",
                    "enabled",
                    "is_default",
                    "authority",
                    "registration_authority",
                    "next_registration_authority",
                )
            },
        ),
        (
            "NDES template mapping",
            {"fields": ("general_purpose_template", "signature_template", "encryption_template")},
        ),
        ("Algorithms", {"fields": ("allow_legacy_algorithms",)}),
        (
            "Challenges and renewal",
            {
                "fields": (
                    "static_challenge_set",
                    "accept_one_time_challenges",
                    "allow_renewal",
                    "renewal_window_days",
                    "issue_wait_seconds",
                )
            },
        ),
    )

    @admin.display(boolean=True, description="Static challenge")
    def static_challenge_set(self, obj: ScepService) -> bool:
        return bool(obj.static_challenge_digest)


@admin.register(RegistrationAuthority)
class RegistrationAuthorityAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "authority", "fingerprint_sha1", "not_after", "created_at")
    list_filter = ("authority",)
    readonly_fields = ("authority", "fingerprint_sha1", "fingerprint_sha256", "not_after", "certificate_pem")
    exclude = ("encrypted_key_pem",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created with `manage.py init_ra`


@admin.register(ScepTransaction)
class ScepTransactionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "transaction_id",
        "service",
        "message_type",
        "subject",
        "status",
        "fail_info",
        "certificate",
        "client_address",
        "created_at",
    )
    list_filter = ("status", "service", "message_type", "fail_info")
    search_fields = ("transaction_id", "subject", "signer_public_key_sha256", "csr_sha256")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in ScepTransaction._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
