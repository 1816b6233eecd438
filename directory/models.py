"""The directory: users, devices and groups, as Entra ID / Intune know them (the source of the variables)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from core.models import TimestampedModel
from directory.validators import validate_mac_address, validate_sid, validate_upn

__all__ = ["Device", "DeviceState", "DirectoryUser", "Group", "GroupKind", "Platform"]


class Platform(models.TextChoices):
    """The platforms of Intune's SCEP profile ("Platform" drop-down)."""

    ANDROID = "android", "Android"
    ANDROID_ENTERPRISE = "android_enterprise", "Android Enterprise"
    IOS = "ios", "iOS"
    MACOS = "macos", "macOS"
    WINDOWS_PHONE_81 = "windows_phone_81", "Windows Phone 8.1"
    WINDOWS_81 = "windows_81", "Windows 8.1 and later"
    WINDOWS_10 = "windows_10", "Windows 10 and later"

    @classmethod
    def windows(cls) -> frozenset[str]:
        return frozenset({cls.WINDOWS_PHONE_81, cls.WINDOWS_81, cls.WINDOWS_10})

    @classmethod
    def apple(cls) -> frozenset[str]:
        return frozenset({cls.IOS, cls.MACOS})


class DeviceState(models.TextChoices):
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"
    WIPED = "wiped", "Wiped"


class GroupKind(models.TextChoices):
    USER = "user", "User group"
    DEVICE = "device", "Device group"


class DirectoryUser(TimestampedModel):
    """A user (Entra ID user object), with the attributes Intune's user variables read."""

    external_id = models.CharField(
        max_length=255, unique=True, help_text="Entra object ID or another stable key"
    )
    user_principal_name = models.CharField(
        max_length=255, unique=True, validators=[validate_upn], help_text="{{UserPrincipalName}}"
    )
    user_name = models.CharField(max_length=255, blank=True, help_text="{{UserName}} (default: the UPN)")
    email = models.EmailField(max_length=255, blank=True, help_text="{{EmailAddress}}")
    display_name = models.CharField(max_length=255, blank=True)
    on_premises_sam_account_name = models.CharField(
        max_length=255, blank=True, help_text="{{onPremisesSamAccountName}}"
    )
    on_premises_distinguished_name = models.CharField(
        max_length=1024, blank=True, help_text="{{OnPrem_Distinguished_Name}}"
    )
    on_premises_security_identifier = models.CharField(
        max_length=184,
        blank=True,
        validators=[validate_sid],
        help_text="{{OnPremisesSecurityIdentifier}} (KB5014754 strong mapping)",
    )
    on_premises_user_principal_name = models.CharField(
        max_length=255, blank=True, validators=[validate_upn], help_text="{{OnPremisesUserPrincipalName}}"
    )
    department = models.CharField(max_length=255, blank=True, help_text="{{Department}}")
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ("user_principal_name",)
        verbose_name = "user"

    def __str__(self) -> str:
        return self.user_principal_name


class Device(TimestampedModel):
    """A managed device (Intune managedDevice), with the attributes Intune's device variables read."""

    external_id = models.CharField(max_length=255, unique=True, help_text="Intune device ID: {{DeviceId}}")
    name = models.CharField(max_length=255, help_text="{{DeviceName}}")
    platform = models.CharField(max_length=32, choices=Platform.choices, db_index=True)
    os_version = models.CharField(max_length=64, blank=True)
    serial_number = models.CharField(
        max_length=128, blank=True, help_text="{{SerialNumber}}, {{Device_Serial}}"
    )
    imei = models.CharField(max_length=32, blank=True, help_text="{{IMEI}}, {{IMEINumber}}, {{Device_IMEI}}")
    meid = models.CharField(max_length=32, blank=True, help_text="{{MEID}}")
    aad_device_id = models.CharField(
        max_length=64, blank=True, help_text="Entra device ID: {{AAD_Device_ID}}, {{AzureADDeviceId}}"
    )
    wifi_mac = models.CharField(
        max_length=32, blank=True, validators=[validate_mac_address], help_text="{{WiFiMacAddress}}"
    )
    fqdn = models.CharField(
        max_length=255, blank=True, help_text="{{FullyQualifiedDomainName}} (domain-joined Windows)"
    )
    domain_joined = models.BooleanField(default=False)
    security_identifier = models.CharField(
        max_length=184,
        blank=True,
        validators=[validate_sid],
        help_text="On-premises computer account SID of a hybrid-joined Windows device: "
        "{{OnPremisesSecurityIdentifier}} of its device certificates (KB5014754 strong mapping)",
    )
    primary_user = models.ForeignKey(
        DirectoryUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="devices"
    )
    state = models.CharField(
        max_length=16, choices=DeviceState.choices, default=DeviceState.ACTIVE, db_index=True
    )
    checkin_token_digest = models.CharField(
        max_length=64, blank=True, editable=False, help_text="HMAC of the device's check-in token"
    )
    last_checkin_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return f"{self.name} ({self.get_platform_display()})"

    @property
    def is_active(self) -> bool:
        return self.state == DeviceState.ACTIVE


class Group(TimestampedModel):
    """A group of users or a group of devices (Entra ID security group)."""

    external_id = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=8, choices=GroupKind.choices)
    users = models.ManyToManyField(DirectoryUser, blank=True, related_name="member_of")
    devices = models.ManyToManyField(Device, blank=True, related_name="member_of")

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display().lower()})"

    def clean(self) -> None:
        if self._state.adding:
            return
        if self.kind == GroupKind.USER and self.devices.exists():
            raise ValidationError({"kind": "a user group cannot contain devices"})
        if self.kind == GroupKind.DEVICE and self.users.exists():
            raise ValidationError({"kind": "a device group cannot contain users"})
