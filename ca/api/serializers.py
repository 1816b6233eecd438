"""Serializers of the CA API. Validation of business rules lives in the services and models."""

from __future__ import annotations

import ipaddress
from typing import Any

from cryptography import x509

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ca.choices import RevocationReason, TemplatePurpose
from ca.constants import WELL_KNOWN_EKUS
from ca.crypto.csr import CsrError, load_csr
from ca.crypto.identities import upn_general_name
from ca.models import (
    CertificateAuthority,
    CertificateRequest,
    CertificateTemplate,
    IssuedCertificate,
    RevocationRequest,
    RevocationRequestItem,
)
from core.serializers import FullCleanMixin

__all__ = [
    "CertificateAuthoritySerializer",
    "CertificateRequestApproveInputSerializer",
    "CertificateRequestDenyInputSerializer",
    "CertificateRequestSerializer",
    "CertificateRequestSubmitInputSerializer",
    "CertificateRevokeInputSerializer",
    "CertificateTemplateSerializer",
    "IssuedCertificateSerializer",
]


class CertificateTemplateSerializer(FullCleanMixin):
    application_policy_names = serializers.SerializerMethodField()
    ndes_registry_value = serializers.SerializerMethodField()

    class Meta:
        model = CertificateTemplate
        fields = [
            "id",
            "name",
            "display_name",
            "purpose",
            "ndes_registry_value",
            "validity_days",
            "allow_requester_validity",
            "subject_supplied_in_request",
            "digital_signature",
            "key_encipherment",
            "non_repudiation",
            "application_policies",
            "application_policy_names",
            "min_rsa_key_size",
            "min_ec_key_size",
            "allowed_signature_hashes",
            "requires_approval",
            "enabled",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def get_application_policy_names(self, obj: CertificateTemplate) -> list[str]:
        return [WELL_KNOWN_EKUS.get(oid, oid) for oid in obj.application_policies]

    def get_ndes_registry_value(self, obj: CertificateTemplate) -> str:
        return TemplatePurpose(obj.purpose).ndes_registry_value


class CertificateAuthoritySerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    is_root = serializers.BooleanField(read_only=True)
    certificate_pem = serializers.CharField(read_only=True)
    published_templates = serializers.SlugRelatedField(
        many=True, slug_field="name", queryset=CertificateTemplate.objects.all(), required=False
    )
    # A declared field named like Field.parent: DRF's metaclass moves it into _declared_fields.
    parent: serializers.SlugRelatedField[CertificateAuthority] = serializers.SlugRelatedField(  # type: ignore[assignment]
        slug_field="slug", read_only=True
    )

    class Meta:
        model = CertificateAuthority
        fields = [
            "id",
            "name",
            "slug",
            "parent",
            "is_root",
            "subject",
            "serial",
            "not_before",
            "not_after",
            "fingerprint_sha1",
            "fingerprint_sha256",
            "key_type",
            "key_size",
            "key_backend",
            "signature_hash",
            "crl_url",
            "issuer_url",
            "ocsp_url",
            "crl_validity_hours",
            "enabled",
            "published_templates",
            "certificate_pem",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "name",
            "slug",
            "subject",
            "serial",
            "not_before",
            "not_after",
            "fingerprint_sha1",
            "fingerprint_sha256",
            "key_type",
            "key_size",
            "key_backend",
            "created_at",
            "updated_at",
        ]


class IssuedCertificateSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    authority: serializers.SlugRelatedField[CertificateAuthority] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    template: serializers.SlugRelatedField[CertificateTemplate] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    status = serializers.CharField(read_only=True)
    pem = serializers.CharField(read_only=True)

    class Meta:
        model = IssuedCertificate
        fields = [
            "id",
            "serial",
            "authority",
            "template",
            "request",
            "subject",
            "sans",
            "not_before",
            "not_after",
            "fingerprint_sha1",
            "fingerprint_sha256",
            "status",
            "revoked_at",
            "revocation_reason",
            "pem",
            "created_at",
        ]
        read_only_fields = fields


class CertificateRevokeInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    reason = serializers.ChoiceField(choices=RevocationReason.choices, default=RevocationReason.UNSPECIFIED)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class RevocationRequestItemSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    serial = serializers.CharField(source="certificate.serial", read_only=True)
    authority = serializers.CharField(source="certificate.authority.slug", read_only=True)

    class Meta:
        model = RevocationRequestItem
        fields = ("certificate", "serial", "authority", "outcome")
        read_only_fields = fields


class RevocationRequestSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """A revocation request and its progress: queued, then done with each certificate's outcome."""

    items = RevocationRequestItemSerializer(many=True, read_only=True)

    class Meta:
        model = RevocationRequest
        fields = (
            "id",
            "reason",
            "cause",
            "requested_by",
            "comment",
            "status",
            "created_at",
            "completed_at",
            "failure_reason",
            "items",
        )
        read_only_fields = fields


class CertificateRevokeResultSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The answer of a revocation: the certificate (revoked, or not yet) and the request carrying it."""

    certificate = IssuedCertificateSerializer(read_only=True)
    revocation_request = RevocationRequestSerializer(read_only=True)


class CertificateRequestSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    authority: serializers.SlugRelatedField[CertificateAuthority] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    template: serializers.SlugRelatedField[CertificateTemplate] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    certificate = serializers.SerializerMethodField()

    class Meta:
        model = CertificateRequest
        fields = [
            "id",
            "authority",
            "template",
            "subject",
            "sans_json",
            "validity_days",
            "requester",
            "status",
            "failure_reason",
            "decided_by",
            "decided_at",
            "certificate",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_certificate(self, obj: CertificateRequest) -> int | None:
        try:
            return obj.certificate.pk
        except IssuedCertificate.DoesNotExist:
            return None


class CertificateRequestApproveInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    pass


class CertificateRequestDenyInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class CertificateRequestSubmitInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Submit a PKCS#10 request as an integration (certreq's role): the caller states subject and SANs."""

    authority = serializers.SlugRelatedField(slug_field="slug", queryset=CertificateAuthority.objects.all())
    template = serializers.SlugRelatedField(slug_field="name", queryset=CertificateTemplate.objects.all())
    csr = serializers.CharField(max_length=65536, help_text="PEM PKCS#10 request; only its key is used")
    subject = serializers.CharField(
        max_length=1024,
        required=False,
        allow_blank=True,
        help_text="RFC 4514 subject, e.g. CN=device1,O=Example. Default: the CSR's subject, where the "
        "template lets the request supply it",
    )
    sans = serializers.ListField(
        child=serializers.CharField(max_length=1024),
        required=False,
        default=list,
        help_text="Subject alternative names as TYPE:value with TYPE one of DNS, email, URI, UPN, IP",
    )
    validity_days = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)

    def validate_csr(self, value: str) -> x509.CertificateSigningRequest:
        try:
            return load_csr(value.encode("ascii", errors="replace"))
        except CsrError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate_subject(self, value: str) -> x509.Name | None:
        if not value:
            return None
        try:
            return x509.Name.from_rfc4514_string(value)
        except ValueError as exc:
            raise serializers.ValidationError(f"not an RFC 4514 name: {exc}") from exc

    def validate_sans(self, value: list[str]) -> list[x509.GeneralName]:
        return [_parse_san(item) for item in value]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("subject") is None:
            template: CertificateTemplate = attrs["template"]
            if not template.subject_supplied_in_request:
                raise serializers.ValidationError(
                    {
                        "subject": f"template {template.name} does not take the subject from the request; "
                        "state it"
                    }
                )
            attrs["subject"] = attrs["csr"].subject
        return attrs


def _parse_san(text: str) -> x509.GeneralName:
    kind, sep, value = text.partition(":")
    kind = kind.strip().lower()
    value = value.strip()
    if not sep or not value:
        raise serializers.ValidationError(f"{text!r}: write TYPE:value, e.g. DNS:host.example.com")
    try:
        if kind == "dns":
            return x509.DNSName(value)
        if kind == "email":
            return x509.RFC822Name(value)
        if kind == "uri":
            return x509.UniformResourceIdentifier(value)
        if kind == "ip":
            return x509.IPAddress(ipaddress.ip_address(value))
        if kind == "upn":
            return upn_general_name(value)
    except ValueError as exc:
        raise serializers.ValidationError(f"{text!r}: {exc}") from exc
    raise serializers.ValidationError(f"{text!r}: unknown type {kind!r}; use DNS, email, URI, UPN or IP")
