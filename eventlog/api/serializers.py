"""The event log's API representation: the row, with the event's name and the code as the admin shows it."""

from __future__ import annotations

from rest_framework import serializers

from eventlog.models import ConnectorEvent

__all__ = ["ConnectorEventSerializer"]


class ConnectorEventSerializer(serializers.ModelSerializer[ConnectorEvent]):
    event_name = serializers.CharField(read_only=True, help_text="The reference's name of the event ID")
    diagnostic = serializers.CharField(
        read_only=True,
        help_text="The diagnostic code as the connector shows it: 0x00000411 CRPSCEPChallenge_Expired",
    )
    diagnostic_message = serializers.CharField(
        read_only=True, help_text="The reference's message of the code"
    )
    diagnostic_action = serializers.CharField(read_only=True, help_text="What to do about the code")

    class Meta:
        model = ConnectorEvent
        fields = [
            "id",
            "created_at",
            "event_id",
            "event_name",
            "level",
            "message",
            "diagnostic_code",
            "diagnostic",
            "diagnostic_message",
            "diagnostic_action",
            "details",
            "service_slug",
            "scep_transaction_id",
            "transaction_id",
            "message_type",
            "fail_info",
            "client_address",
            "device_id",
            "device_external_id",
            "user_id",
            "user_principal_name",
            "authority_slug",
            "ca_name",
            "template_name",
            "serial",
            "thumbprint",
        ]
        read_only_fields = fields
