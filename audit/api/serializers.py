"""The audit log's API representation: the entry, its actor as one object, the changes as recorded."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audit.choices import Action, ActorKind
from audit.models import AuditEntry

__all__ = ["AuditActorSerializer", "AuditEntrySerializer"]


class AuditActorSerializer(serializers.Serializer[AuditEntry]):
    kind = serializers.ChoiceField(source="actor_kind", choices=ActorKind.choices, read_only=True)
    name = serializers.CharField(source="actor_name", read_only=True)
    user_id = serializers.IntegerField(source="actor_id", read_only=True, allow_null=True)
    token = serializers.CharField(
        source="actor_token", read_only=True, help_text="The API token's identifier"
    )
    device_id = serializers.IntegerField(source="actor_device_id", read_only=True, allow_null=True)
    on_behalf_of = serializers.CharField(read_only=True, help_text="Who started the command or task")
    os_user = serializers.CharField(read_only=True)
    remote_addr = serializers.IPAddressField(read_only=True, allow_null=True)
    via = serializers.CharField(read_only=True)


class AuditEntrySerializer(serializers.ModelSerializer[AuditEntry]):
    action = serializers.SerializerMethodField()
    actor = AuditActorSerializer(source="*", read_only=True)
    changes = serializers.SerializerMethodField(
        help_text='{"field": [before, after]}; many-to-many: {"field": {"type": "m2m", "operation": "add" | '
        '"delete", "objects": [...]}}; a secret field: "[redacted]"'
    )
    sealed = serializers.BooleanField(read_only=True, help_text="Whether the hash chain covers the entry yet")

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "timestamp",
            "action",
            "object_type",
            "object_pk",
            "object_id",
            "object_repr",
            "changes",
            "actor",
            "cid",
            "additional_data",
            "sealed",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=[action.label for action in Action]))
    def get_action(self, obj: AuditEntry) -> str:
        return str(Action(obj.action).label)

    @extend_schema_field(serializers.JSONField(allow_null=True))
    def get_changes(self, obj: AuditEntry) -> Any:
        return obj.changes
