"""Admin of the SCEP front end: services (with the legacy switch), RAs, transactions.

(Their events are in the connector's event log: ``eventlog.admin``.)
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from enrollment.choices import StaticSanType
from enrollment.models import RegistrationAuthority, ScepService, ScepTransaction

#: Shown above the static-challenge settings: the risk they limit.
STATIC_CHALLENGE_RISK = (
    "A static challenge is shared: whoever knows it can ask for whatever it allows. With a template "
    "that has Client Authentication, on a CA that Active Directory trusts for logon (NTAuth), a request "
    "that names an account (a UPN, the KB5014754 SID URI or SID extension) gets a logon certificate for "
    "that account (ESC1, SpecterOps 'Certified Pre-Owned'). Those are never allowed here; keep the SAN "
    "types to what the devices need (DNS by default), constrain the subject with a pattern, or turn "
    "'subject supplied in the request' off and enroll with one-time challenges from SCEP profiles."
)


class ScepServiceForm(forms.ModelForm):  # type: ignore[type-arg]
    static_san_types = forms.MultipleChoiceField(
        label="SAN types a static challenge may request",
        choices=StaticSanType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=ScepService._meta.get_field("static_san_types").help_text,
    )

    class Meta:
        model = ScepService
        fields = (
            "static_subject_from_request",
            "static_san_types",
            "static_subject_pattern",
        )

    def clean_static_san_types(self) -> list[str]:
        return [str(item) for item in self.cleaned_data.get("static_san_types") or []]


@admin.register(ScepService)
class ScepServiceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = ScepServiceForm
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
            "Static challenge (plain NDES mode)",
            {
                "description": STATIC_CHALLENGE_RISK,
                "fields": (
                    "static_challenge_set",
                    "static_subject_from_request",
                    "static_san_types",
                    "static_subject_pattern",
                ),
            },
        ),
        (
            "Challenges and renewal",
            {
                "fields": (
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
