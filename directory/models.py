"""The directory: users, devices and groups, as Entra ID / Intune know them (the source of the variables)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from core.models import TimestampedModel
from directory.validators import (
    validate_external_id,
    validate_mac_address,
    validate_sid,
    validate_single_line_text,
    validate_text,
    validate_upn,
)

__all__ = [
    "Device",
    "DeviceState",
    "DirectoryUser",
    "Group",
    "GroupKind",
    "ImportJob",
    "ImportJobStatus",
    "Platform",
]


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
        max_length=255,
        unique=True,
        validators=[validate_external_id],
        help_text="Entra object ID or another stable key",
    )
    user_principal_name = models.CharField(
        max_length=255,
        unique=True,
        validators=[validate_single_line_text, validate_upn],
        help_text="{{UserPrincipalName}}",
    )
    user_name = models.CharField(
        max_length=255,
        blank=True,
        validators=[validate_single_line_text],
        help_text="{{UserName}} (default: the UPN)",
    )
    email = models.EmailField(
        max_length=255, blank=True, validators=[validate_single_line_text], help_text="{{EmailAddress}}"
    )
    display_name = models.CharField(max_length=255, validators=[validate_single_line_text], blank=True)
    on_premises_sam_account_name = models.CharField(
        max_length=255,
        blank=True,
        validators=[validate_single_line_text],
        help_text="{{onPremisesSamAccountName}}",
    )
    on_premises_distinguished_name = models.CharField(
        max_length=1024,
        blank=True,
        validators=[validate_single_line_text],
        help_text="{{OnPrem_Distinguished_Name}}",
    )
    on_premises_security_identifier = models.CharField(
        max_length=184,
        blank=True,
        validators=[validate_single_line_text, validate_sid],
        help_text="{{OnPremisesSecurityIdentifier}} (KB5014754 strong mapping)",
    )
    on_premises_user_principal_name = models.CharField(
        max_length=255,
        blank=True,
        validators=[validate_single_line_text, validate_upn],
        help_text="{{OnPremisesUserPrincipalName}}",
    )
    department = models.CharField(
        max_length=255, blank=True, validators=[validate_single_line_text], help_text="{{Department}}"
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ("user_principal_name",)
        verbose_name = "user"

    def __str__(self) -> str:
        return self.user_principal_name


class Device(TimestampedModel):
    """A managed device (Intune managedDevice), with the attributes Intune's device variables read."""

    external_id = models.CharField(
        max_length=255,
        unique=True,
        validators=[validate_external_id],
        help_text="Intune device ID: {{DeviceId}}",
    )
    name = models.CharField(
        max_length=255, validators=[validate_single_line_text], help_text="{{DeviceName}}"
    )
    platform = models.CharField(max_length=32, choices=Platform.choices, db_index=True)
    os_version = models.CharField(max_length=64, validators=[validate_single_line_text], blank=True)
    serial_number = models.CharField(
        max_length=128,
        blank=True,
        validators=[validate_single_line_text],
        help_text="{{SerialNumber}}, {{Device_Serial}}",
    )
    imei = models.CharField(
        max_length=32,
        blank=True,
        validators=[validate_single_line_text],
        help_text="{{IMEI}}, {{IMEINumber}}, {{Device_IMEI}}",
    )
    meid = models.CharField(
        max_length=32, blank=True, validators=[validate_single_line_text], help_text="{{MEID}}"
    )
    aad_device_id = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_single_line_text],
        help_text="Entra device ID: {{AAD_Device_ID}}, {{AzureADDeviceId}}",
    )
    wifi_mac = models.CharField(
        max_length=32,
        blank=True,
        validators=[validate_single_line_text, validate_mac_address],
        help_text="{{WiFiMacAddress}}",
    )
    fqdn = models.CharField(
        max_length=255,
        blank=True,
        validators=[validate_single_line_text],
        help_text="{{FullyQualifiedDomainName}} (domain-joined Windows)",
    )
    domain_joined = models.BooleanField(default=False)
    security_identifier = models.CharField(
        max_length=184,
        blank=True,
        validators=[validate_single_line_text, validate_sid],
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
        permissions = [
            (
                "rotate_checkin_token",
                "Give a device a new check-in token (the device can then fetch one-time challenges for its "
                "user)",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_platform_display()})"

    @property
    def is_active(self) -> bool:
        return self.state == DeviceState.ACTIVE


class Group(TimestampedModel):
    """A group of users or a group of devices (Entra ID security group)."""

    external_id = models.CharField(max_length=255, unique=True, validators=[validate_external_id])
    name = models.CharField(max_length=255, validators=[validate_single_line_text])
    description = models.TextField(blank=True, validators=[validate_text])
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


class ImportJobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ImportJob(TimestampedModel):
    """One directory import (a file or rows sent to the API, or ``manage.py directory_import``), applied by
    a job on the default queue in chunks (``directory.services.import_jobs``), with its progress, its counts
    and the rows that failed. ``updated_at`` moves with every chunk: the sweep tells a stalled job by it.
    """

    status = models.CharField(
        max_length=16, choices=ImportJobStatus.choices, default=ImportJobStatus.QUEUED, db_index=True
    )
    requested_by = models.CharField(max_length=255, help_text="Who asked: api:<user>, cli:<user>")
    requested_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    dry_run = models.BooleanField(default=False, help_text="Count what the rows would do; write nothing")
    file_name = models.CharField(max_length=255, blank=True, help_text="The uploaded file's name")
    file_size = models.PositiveBigIntegerField(default=0, help_text="Bytes")
    file_format = models.CharField(
        max_length=8, choices=[(f, f) for f in ("auto", "csv", "json")], default="auto", help_text="As asked"
    )
    kind = models.CharField(
        max_length=8,
        choices=[(k, k) for k in ("auto", "users", "devices", "groups")],
        default="auto",
        help_text="As asked: auto tells the kind by the columns",
    )
    kinds = models.JSONField(default=list, blank=True, help_text="What the file holds, in the order applied")
    content = models.BinaryField(editable=False, help_text="The file, kept until the job has finished")
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    #: Rows per transaction, fixed when the job is created: a job that runs again resumes at the same chunk.
    chunk_size = models.PositiveIntegerField(default=500, editable=False)
    chunks_done = models.PositiveIntegerField(default=0, editable=False)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    by_kind = models.JSONField(default=dict, blank=True, help_text="The counts per kind")
    errors = models.JSONField(
        default=list, blank=True, help_text="The failed rows (the first ones by kind and row), with messages"
    )
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Runs started (a lost task runs again)")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.TextField(blank=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = "directory import"
        indexes = [models.Index(fields=["status", "updated_at"], name="directory_importjob_stale")]

    def __str__(self) -> str:
        what = self.file_name or "rows"
        return f"import {self.pk} of {what} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportJobStatus.DONE, ImportJobStatus.FAILED)

    @property
    def progress(self) -> float:
        """Per cent of the rows processed (100 once finished)."""
        if self.is_finished or not self.rows_total:
            return 100.0 if self.is_finished else 0.0
        return round(100.0 * self.rows_done / self.rows_total, 1)

    @property
    def errors_omitted(self) -> int:
        """Failed rows not listed in ``errors`` (only the first ones are kept)."""
        return max(self.failed - len(self.errors), 0)
