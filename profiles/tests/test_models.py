"""The model fields whose choices come from the naming package's enums: the stored values and the labels the
admin and the API show are Intune's (and those of migration 0001).
"""

from __future__ import annotations

from directory.models import Platform
from profiles.models import ScepProfile
from profiles.naming.subject import SubjectNameFormat
from profiles.naming.variables import CertificateType


def test_certificate_type_choices():
    field = ScepProfile._meta.get_field("certificate_type")
    assert field.choices == [("user", "User"), ("device", "Device")]
    assert field.default == "user"
    assert field.help_text == "Device certificates only on iOS, Windows 8.1 and later, Windows 10 and later"


def test_subject_name_format_choices():
    field = ScepProfile._meta.get_field("subject_name_format")
    assert field.choices == [
        ("notConfigured", "Not configured"),
        ("commonName", "Common name"),
        ("commonNameIncludingEmail", "Common name including email"),
        ("commonNameAsEmail", "Common name as email"),
        ("commonNameAsIMEI", "IMEI"),
        ("commonNameAsSerialNumber", "Serial number"),
        ("commonNameAsAadDeviceId", "Common name as Entra device ID"),
        ("commonNameAsIntuneDeviceId", "Common name as Intune device ID"),
        ("custom", "Custom"),
    ]
    assert field.default == "commonName"


def test_display_names_come_from_the_enum_labels():
    profile = ScepProfile(
        platform=Platform.IOS,
        certificate_type=CertificateType.DEVICE,
        subject_name_format=SubjectNameFormat.COMMON_NAME_AS_SERIAL_NUMBER,
    )
    assert profile.get_certificate_type_display() == CertificateType.DEVICE.label == "Device"
    assert profile.get_subject_name_format_display() == "Serial number"
