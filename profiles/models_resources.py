"""Resource profiles (Wi-Fi, VPN, email) that use a certificate profile's identity, and the PKCS requests
made for devices. Loaded by :mod:`profiles.models` (Django finds them there); the profiles they
reference are named as strings, so this module does not import profiles.models back (no import cycle).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from ca.models import PkcsRequest
from core.models import TimestampedModel
from directory.models import Device, Platform
from profiles.choices import EmailAddressAttribute, ResourceKind, WifiSecurity

__all__ = ["DevicePkcsRequest", "ResourceProfile"]

#: The fields that belong to one kind only (the others are left empty).
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    ResourceKind.WIFI: ("ssid", "wifi_security", "hidden_network", "auto_join", "server_certificate_names"),
    ResourceKind.VPN: ("remote_address", "remote_identifier", "local_identifier"),
    ResourceKind.EMAIL: ("exchange_host", "email_address_attribute"),
}


class ResourceProfile(TimestampedModel):
    """A Wi-Fi, VPN or email profile whose authentication is the certificate of a SCEP or PKCS profile
    (its identity), and whose server is trusted through a trusted certificate profile.

    As in the reference, it is assigned on its own, and fails on a device that does not also have its
    identity profile (and its trusted certificate profile) assigned.
    """

    name = models.CharField(max_length=255, unique=True)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=8, choices=ResourceKind.choices, db_index=True)
    platform = models.CharField(max_length=32, choices=Platform.choices, db_index=True)
    identity_profile = models.ForeignKey(
        "profiles.ScepProfile",
        on_delete=models.PROTECT,
        related_name="resource_profiles",
        help_text="The SCEP or PKCS certificate profile whose certificate authenticates the device or user",
    )
    server_root_profile = models.ForeignKey(
        "profiles.TrustedRootProfile",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="resource_profiles",
        help_text="The trusted certificate profile of the root that the server's certificate chains to "
        "(required for Wi-Fi)",
    )
    # Wi-Fi
    ssid = models.CharField(max_length=32, blank=True, help_text="Wi-Fi: the network name (1-32 bytes)")
    wifi_security = models.CharField(max_length=16, choices=WifiSecurity.choices, blank=True)
    hidden_network = models.BooleanField(default=False)
    auto_join = models.BooleanField(default=True)
    server_certificate_names = models.JSONField(
        default=list,
        blank=True,
        help_text="Wi-Fi: the names the RADIUS servers' certificates may have, e.g. radius.corp.example",
    )
    # VPN
    remote_address = models.CharField(max_length=255, blank=True, help_text="VPN: the server's name or IP")
    remote_identifier = models.CharField(
        max_length=255, blank=True, help_text="VPN: the server's IKE identity (often its DNS name)"
    )
    local_identifier = models.CharField(
        max_length=255,
        blank=True,
        default="{{UserPrincipalName}}",
        help_text="VPN: the client's IKE identity; {{UserPrincipalName}}, {{EmailAddress}}, {{DeviceName}}, "
        "{{DeviceId}} are replaced",
    )
    # email
    exchange_host = models.CharField(
        max_length=255, blank=True, help_text="Email: the Exchange server's name"
    )
    email_address_attribute = models.CharField(
        max_length=8, choices=EmailAddressAttribute.choices, blank=True
    )
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ("name",)
        verbose_name = "resource profile"

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()}, {self.get_platform_display()})"

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}

        def add(field: str, message: str) -> None:
            errors.setdefault(field, []).append(message)

        if self.kind == ResourceKind.WIFI:
            if not self.ssid or len(self.ssid.encode("utf-8")) > 32:
                add("ssid", "enter the network name (1 to 32 bytes)")
            if not self.wifi_security:
                add("wifi_security", "choose WPA2-Enterprise or WPA3-Enterprise")
            names = self.server_certificate_names
            if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
                add("server_certificate_names", "enter the server certificate names (a list of names)")
            if self.server_root_profile_id is None:
                add(
                    "server_root_profile",
                    "EAP-TLS needs the root that the RADIUS server's certificate chains to",
                )
        elif self.kind == ResourceKind.VPN:
            if not self.remote_address:
                add("remote_address", "enter the VPN server's name or address")
            if not self.remote_identifier:
                add("remote_identifier", "enter the server's IKE identity")
            if not self.local_identifier:
                add("local_identifier", "enter the client's IKE identity")
        elif self.kind == ResourceKind.EMAIL:
            if not self.exchange_host:
                add("exchange_host", "enter the Exchange server's name")
            if not self.email_address_attribute:
                add("email_address_attribute", "choose the email address attribute")
        for kind, fields in KIND_FIELDS.items():
            if kind == self.kind:
                continue
            for field in fields:
                if field in ("hidden_network", "auto_join", "local_identifier"):  # defaults of every kind
                    continue
                if getattr(self, field) not in ("", [], None):
                    add(field, f"applies to {ResourceKind(kind).label} profiles only")
        if errors:
            raise ValidationError(errors)


class DevicePkcsRequest(models.Model):
    """A PKCS request made for a device under a PKCS profile (the CA's ``PkcsRequest`` knows no devices)."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="pkcs_requests")
    profile = models.ForeignKey(
        "profiles.ScepProfile", on_delete=models.CASCADE, related_name="device_pkcs_requests"
    )
    profile_version = models.PositiveIntegerField()
    request = models.OneToOneField(PkcsRequest, on_delete=models.CASCADE, related_name="device_request")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"PKCS request {self.request_id} for {self.device_id}/{self.profile_id}"
