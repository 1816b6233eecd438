"""Admin of the API tokens: create one (the secret is shown once, on the next page), list and revoke.
A token cannot be edited: revoke it and create another.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest

from access.conf import access_settings
from access.models import ApiToken
from access.services.tokens import api_token_create, api_token_revoke, api_token_scopes_validate
from core.exceptions import ApplicationError


class ApiTokenCreateForm(forms.ModelForm):  # type: ignore[type-arg]
    user = forms.ModelChoiceField(queryset=get_user_model().objects.filter(is_active=True))
    days = forms.IntegerField(min_value=1, help_text="Lifetime in days (every token expires)")
    scopes_text = forms.CharField(
        label="Scopes",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One permission pattern per line (e.g. *.view_* for read only, directory.* for the "
        "directory); empty: everything the user may do",
    )

    class Meta:
        model = ApiToken
        fields = ["name", "user"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["days"].initial = access_settings().API_TOKEN_DEFAULT_DAYS
        self.fields["days"].widget.attrs["max"] = access_settings().API_TOKEN_MAX_DAYS

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        maximum = access_settings().API_TOKEN_MAX_DAYS
        if data.get("days") is not None and data["days"] > maximum:
            self.add_error("days", f"at most {maximum} days (CERTPORTAL_API_TOKEN_MAX_DAYS)")
        try:
            data["scopes"] = api_token_scopes_validate(data.get("scopes_text", "").split())
        except ApplicationError as exc:
            self.add_error("scopes_text", exc.message)
        return data


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "token_key", "user", "scopes", "created", "expiry", "last_used_at", "created_by")
    list_filter = ("created", "expiry")
    search_fields = ("name", "token_key", "user__username")
    readonly_fields = (
        "name",
        "token_key",
        "user",
        "scopes",
        "created",
        "expiry",
        "last_used_at",
        "created_by",
    )
    fields = readonly_fields
    actions = ["revoke_tokens"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = ApiTokenCreateForm
            kwargs["fields"] = ["name", "user", "days", "scopes_text"]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["name", "user", "days", "scopes_text"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.readonly_fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke and create another

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        data = form.cleaned_data
        created = api_token_create(
            user=data["user"],
            name=data["name"],
            created_by=request.user,  # type: ignore[arg-type]
            days=data["days"],
            scopes=data["scopes"],
        )
        obj.pk = created.token.pk
        obj.digest = created.token.digest
        self.message_user(
            request,
            f"API token for {created.token.user}: {created.secret} — copy it now, it is not shown again.",
            messages.WARNING,
        )

    def delete_model(self, request: HttpRequest, obj: ApiToken) -> None:
        api_token_revoke(token=obj, revoked_by=request.user)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            api_token_revoke(token=token, revoked_by=request.user)  # type: ignore[arg-type]

    @admin.action(description="Revoke the selected API tokens", permissions=["delete"])
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = queryset.count()
        self.delete_queryset(request, queryset)
        self.message_user(request, f"{count} API token(s) revoked.")
