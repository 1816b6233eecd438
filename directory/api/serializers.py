"""Serializers of the directory API. Model rules answer through ``full_clean`` (FullCleanMixin)."""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from core.serializers import FullCleanMixin
from directory.imports.rows import KINDS
from directory.models import Device, DirectoryUser, Group, GroupKind, ImportJob
from directory.selectors import Member, member_resolve_many
from directory.services.devices import DEVICE_FIELDS
from directory.services.groups import GROUP_FIELDS
from directory.services.import_jobs import ERRORS_KEPT
from directory.services.users import USER_FIELDS
from directory.validators import validate_single_line_text

__all__ = [
    "DeviceCheckinTokenSerializer",
    "DeviceSerializer",
    "DirectoryImportInputSerializer",
    "DirectoryUserSerializer",
    "GroupMemberSerializer",
    "GroupMembersInputSerializer",
    "GroupSerializer",
    "ImportCountsSerializer",
    "ImportJobSerializer",
]

_TIMESTAMPS = ["created_at", "updated_at"]


class DirectoryUserSerializer(FullCleanMixin):
    class Meta:
        model = DirectoryUser
        fields = ["id", *USER_FIELDS, *_TIMESTAMPS]
        read_only_fields = _TIMESTAMPS


class DeviceSerializer(FullCleanMixin):
    primary_user = serializers.SlugRelatedField(
        slug_field="external_id", queryset=DirectoryUser.objects.all(), allow_null=True, required=False,
        help_text="The primary user's external_id",
    )  # fmt: skip
    primary_user_upn = serializers.SerializerMethodField()
    has_checkin_token = serializers.SerializerMethodField()

    class Meta:
        model = Device
        fields = [
            "id", *DEVICE_FIELDS, "primary_user_upn", "has_checkin_token", "last_checkin_at", *_TIMESTAMPS,
        ]  # fmt: skip
        read_only_fields = ["last_checkin_at", *_TIMESTAMPS]
        extra_kwargs = {
            "state": {"help_text": "Set on creation; retire or wipe a device through the profiles API"},
        }

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_primary_user_upn(self, obj: Device) -> str | None:
        return obj.primary_user.user_principal_name if obj.primary_user is not None else None

    def get_has_checkin_token(self, obj: Device) -> bool:
        return bool(obj.checkin_token_digest)


class GroupSerializer(FullCleanMixin):
    member_count = serializers.SerializerMethodField()

    class Meta:
        model = Group
        fields = ["id", *GROUP_FIELDS, "member_count", *_TIMESTAMPS]
        read_only_fields = _TIMESTAMPS

    def get_member_count(self, obj: Group) -> int:
        annotated: int | None = getattr(obj, "member_count", None)
        if annotated is not None:
            return annotated
        return obj.users.count() if obj.kind == GroupKind.USER else obj.devices.count()


class GroupMemberSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """A member as listed: a user (name = UPN) or a device (name = device name)."""

    id = serializers.IntegerField(source="pk")
    external_id = serializers.CharField()
    name = serializers.SerializerMethodField()

    def get_name(self, obj: Model) -> str:
        return obj.user_principal_name if isinstance(obj, DirectoryUser) else str(getattr(obj, "name", obj))


class GroupMembersInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    members = serializers.ListField(
        child=serializers.CharField(max_length=255, validators=[validate_single_line_text]),
        allow_empty=True, max_length=100_000,
        help_text="external_ids of users (or their UPNs) for a user group, of devices for a device group",
    )  # fmt: skip

    def validate_members(self, value: list[str]) -> list[Member]:
        group: Group = self.context["group"]
        members, unknown = member_resolve_many(kind=group.kind, references=value)
        if unknown:
            what = "users" if group.kind == GroupKind.USER else "devices"
            raise serializers.ValidationError(f"Unknown {what}: {', '.join(unknown[:20])}.")
        return members


class DeviceCheckinTokenSerializer(serializers.Serializer):  # type: ignore[type-arg]
    device = serializers.IntegerField()
    external_id = serializers.CharField()
    token = serializers.CharField(help_text="Shown once; only its HMAC is stored")


class DirectoryImportInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """A file upload (multipart ``file``), or rows in a JSON body.

    In a JSON body: ``rows`` (with ``kind``, or ``auto`` to tell it by the keys), or ``users``,
    ``devices`` and ``groups`` lists as in a combined file.
    """

    file = serializers.FileField(required=False, help_text="CSV or JSON import file")
    kind = serializers.ChoiceField(choices=["auto", *KINDS], default="auto")
    format = serializers.ChoiceField(choices=["auto", "csv", "json"], default="auto")
    dry_run = serializers.BooleanField(default=False, help_text="Validate and count, write nothing")
    rows = serializers.ListField(child=serializers.DictField(), required=False, max_length=100_000)
    users = serializers.ListField(child=serializers.DictField(), required=False, max_length=100_000)
    devices = serializers.ListField(child=serializers.DictField(), required=False, max_length=100_000)
    groups = serializers.ListField(child=serializers.DictField(), required=False, max_length=100_000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        sources: list[str] = [name for name in ("file", "rows") if name in attrs]
        if any(kind in attrs for kind in KINDS):
            sources.append("users/devices/groups")
        if len(sources) != 1:
            raise serializers.ValidationError(
                "Send exactly one of: a file, rows (with kind), or users/devices/groups lists."
            )
        if "file" not in attrs and attrs["format"] == "csv":
            raise serializers.ValidationError(
                {"format": "Rows in a JSON body are JSON; upload CSV as a file."}
            )
        return attrs


class ImportCountsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    failed = serializers.IntegerField()


_ImportRowErrorSerializer = inline_serializer(
    name="ImportRowError",
    many=True,
    read_only=True,
    fields={
        "kind": serializers.ChoiceField(choices=list(KINDS)),
        "row": serializers.IntegerField(
            help_text="CSV line number (the header is line 1), or 1-based index in a JSON list"
        ),
        "external_id": serializers.CharField(allow_null=True),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()), help_text="Messages by field"
        ),
    },
)


class ImportJobSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """An import job: what was sent, how far it is, what its rows did and which ones failed."""

    progress = serializers.FloatField(read_only=True, help_text="Per cent of the rows processed")
    by_kind = serializers.DictField(
        child=ImportCountsSerializer(), read_only=True, help_text=f"keys: {', '.join(KINDS)}"
    )
    # A declared field: the metaclass pops it from the class, so Serializer.errors (the property) stays.
    errors = _ImportRowErrorSerializer  # type: ignore[assignment]
    errors_omitted = serializers.IntegerField(
        read_only=True, help_text=f"Failed rows not listed in errors (the first {ERRORS_KEPT} are)"
    )

    class Meta:
        model = ImportJob
        fields = [
            "id", "status", "dry_run", "requested_by", "file_name", "file_size", "kinds", "created_at",
            "started_at", "finished_at", "rows_total", "rows_done", "progress", "created", "updated",
            "unchanged", "failed", "by_kind", "errors", "errors_omitted", "failure_reason", "attempts",
        ]  # fmt: skip
        read_only_fields = fields
