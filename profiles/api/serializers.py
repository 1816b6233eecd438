"""Serializers of the profiles API; the rules live in profiles.validation and the services."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ca.models import CertificateAuthority, CertificateTemplate
from core.exceptions import ApplicationError
from core.serializers import FullCleanMixin
from directory.models import Device, Group
from profiles.models import DeviceCertificateState, ProfileAssignment, ScepProfile, TrustedRootProfile
from profiles.services.profiles import certificate_der_from_upload

__all__ = [
    "DeviceCertificateStateSerializer",
    "ProfileAssignmentSerializer",
    "ScepProfilePreviewInputSerializer",
    "ScepProfileSerializer",
    "TrustedRootProfileSerializer",
]


class TrustedRootProfileSerializer(FullCleanMixin):
    authority = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=CertificateAuthority.objects.all(),
        required=False,
        allow_null=True,
        help_text="One of our CAs (slug); or give `certificate`",
    )
    certificate = serializers.CharField(
        write_only=True,
        required=False,
        help_text="The CA certificate: PEM, or base64 of the DER .cer file",
    )
    certificate_pem = serializers.SerializerMethodField()

    class Meta:
        model = TrustedRootProfile
        fields = [
            "id",
            "name",
            "description",
            "platform",
            "authority",
            "certificate",
            "certificate_pem",
            "certificate_file_name",
            "destination_store",
            "thumbprint_sha1",
            "subject",
            "not_after",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["thumbprint_sha1", "subject", "not_after", "version", "created_at", "updated_at"]

    def get_certificate_pem(self, obj: TrustedRootProfile) -> str:
        return obj.certificate.public_bytes(Encoding.PEM).decode("ascii")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        text = attrs.pop("certificate", None)
        authority = attrs.get("authority")
        if text is not None:
            attrs["certificate_der"] = _certificate_der(text)
        elif authority is not None:
            attrs["certificate_der"] = authority.certificate_der
        elif self.instance is None:
            raise serializers.ValidationError(
                {"certificate": "choose one of our CAs (authority) or give a certificate"}
            )
        try:
            return super().validate(attrs)
        except serializers.ValidationError as exc:
            detail = exc.detail
            if isinstance(detail, dict) and "certificate_der" in detail:
                detail["certificate"] = detail.pop("certificate_der")  # the API's name for it
            raise


def _certificate_der(text: str) -> bytes:
    raw = text.strip().encode("ascii", errors="replace")
    if not raw.startswith(b"-----BEGIN"):
        try:
            raw = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise serializers.ValidationError({"certificate": "give PEM, or base64 of the DER file"}) from exc
    try:
        return certificate_der_from_upload(raw)
    except ApplicationError as exc:
        raise serializers.ValidationError({"certificate": exc.message}) from exc


class ScepProfileSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """Field types only: ``scep_profile_create`` / ``scep_profile_update`` check the profile as a whole (its
    own rules and those that read the template, the CA and the root profile) and their ``ValidationError``
    answers as 400 field errors (``portal.api.exceptions``), all of them in one answer.
    """

    authority = serializers.SlugRelatedField(slug_field="slug", queryset=CertificateAuthority.objects.all())
    template = serializers.SlugRelatedField(slug_field="name", queryset=CertificateTemplate.objects.all())
    validity_days = serializers.IntegerField(read_only=True)

    class Meta:
        model = ScepProfile
        fields = [
            "id",
            "name",
            "description",
            "platform",
            "certificate_type",
            "subject_name_format",
            "subject_name_format_string",
            "subject_alternative_names",
            "validity_value",
            "validity_scale",
            "validity_days",
            "key_storage_provider",
            "key_usage_digital_signature",
            "key_usage_key_encipherment",
            "key_size",
            "hash_algorithms",
            "root_profile",
            "extended_key_usages",
            "renewal_threshold_percentage",
            "scep_server_urls",
            "authority",
            "template",
            "include_sid_uri",
            "include_sid_extension",
            "allow_all_apps_access",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["version", "created_at", "updated_at"]


class ScepProfilePreviewInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    device: serializers.SlugRelatedField[Device] = serializers.SlugRelatedField(
        slug_field="external_id", queryset=Device.objects.all(), help_text="The device's external id"
    )


class ProfileAssignmentSerializer(FullCleanMixin):
    group = serializers.SlugRelatedField(
        slug_field="external_id", queryset=Group.objects.all(), required=False, allow_null=True, default=None
    )

    class Meta:
        model = ProfileAssignment
        fields = [
            "id",
            "scep_profile",
            "trusted_root_profile",
            "resource_profile",
            "target",
            "group",
            "intent",
            "created_at",
        ]
        read_only_fields = ["created_at"]


class DeviceCertificateStateSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    device: serializers.SlugRelatedField[Device] = serializers.SlugRelatedField(
        slug_field="external_id", read_only=True
    )
    device_name = serializers.CharField(source="device.name", read_only=True)
    profile_name = serializers.CharField(source="profile.name", read_only=True)
    graph_issuance_state = serializers.IntegerField(read_only=True)
    diagnostic_code_hex = serializers.SerializerMethodField()
    certificate_serial = serializers.CharField(source="certificate.serial", read_only=True, default=None)
    certificate_thumbprint = serializers.CharField(
        source="certificate.fingerprint_sha1", read_only=True, default=None
    )
    certificate_expires_at = serializers.DateTimeField(
        source="certificate.not_after", read_only=True, default=None
    )

    class Meta:
        model = DeviceCertificateState
        fields = [
            "id",
            "device",
            "device_name",
            "profile",
            "profile_name",
            "state",
            "graph_issuance_state",
            "reason",
            "diagnostic_code",
            "diagnostic_code_hex",
            "certificate",
            "certificate_serial",
            "certificate_thumbprint",
            "certificate_expires_at",
            "state_changed_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_diagnostic_code_hex(self, obj: DeviceCertificateState) -> str | None:
        return f"0x{obj.diagnostic_code:08X}" if obj.diagnostic_code is not None else None
