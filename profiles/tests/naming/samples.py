"""Values shared by the naming tests: a context in which every attribute has a distinct value, the variable
table of the reference, hostile attribute values, and small helpers.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import NameOID

from profiles.naming.variables import CertificateType, RenderContext, VariableScope

USER = CertificateType.USER
DEVICE = CertificateType.DEVICE

SID = "S-1-5-21-3623811015-3361044348-30300820-1013"

# A context in which every attribute has a distinct value.
FULL = RenderContext(
    user_name="janedoe@contoso.com",
    email="jane.doe@contoso.com",
    upn="jane@corp.contoso.com",
    on_prem_distinguished_name="CN=Jane Doe,OU=UserAccounts,DC=corp,DC=contoso,DC=com",
    on_prem_sam_account_name="CONTOSO\\jdoe",
    on_prem_sid=SID,
    on_prem_upn="jdoe@corp.contoso.local",
    department="Finance",
    device_id="5f0e3a1c-1111-4a3b-9c7d-000000000001",
    aad_device_id="a1b2c3d4-2222-4e5f-8a9b-000000000002",
    serial_number="C02XK0AAJGH5",
    imei="356938035643809",
    meid="A0000000002329",
    wifi_mac="00:11:22:AA:BB:CC",
    device_name="WIN-PC01",
    fqdn="win-pc01.corp.contoso.com",
    platform="windows",
    domain_joined=True,
)


def cn(value: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, value)])


def attrs(name: x509.Name) -> list[list[tuple[str, str | bytes]]]:
    return [[(a.oid.dotted_string, a.value) for a in rdn] for rdn in name.rdns]


# (spelling as in the reference, RenderContext attribute, scope)
VARIABLE_TABLE = [
    ("{{UserName}}", "user_name", VariableScope.USER),
    ("{{EmailAddress}}", "email", VariableScope.USER),
    ("{{UserPrincipalName}}", "upn", VariableScope.USER),
    ("{{OnPrem_Distinguished_Name}}", "on_prem_distinguished_name", VariableScope.USER),
    ("{{onPremisesSamAccountName}}", "on_prem_sam_account_name", VariableScope.USER),
    ("{{OnPremisesSecurityIdentifier}}", "on_prem_sid", VariableScope.USER),
    ("{{OnPremisesUserPrincipalName}}", "on_prem_upn", VariableScope.USER),
    ("{{Department}}", "department", VariableScope.USER),
    ("{{AAD_Device_ID}}", "aad_device_id", VariableScope.DEVICE),
    ("{{AzureADDeviceId}}", "aad_device_id", VariableScope.DEVICE),
    ("{{DeviceId}}", "device_id", VariableScope.DEVICE),
    ("{{Device_Serial}}", "serial_number", VariableScope.DEVICE),
    ("{{SerialNumber}}", "serial_number", VariableScope.DEVICE),
    ("{{SERIALNUMBER}}", "serial_number", VariableScope.DEVICE),
    ("{{Device_IMEI}}", "imei", VariableScope.DEVICE),
    ("{{IMEINumber}}", "imei", VariableScope.DEVICE),
    ("{{IMEI}}", "imei", VariableScope.DEVICE),
    ("{{MEID}}", "meid", VariableScope.DEVICE),
    ("{{WiFiMacAddress}}", "wifi_mac", VariableScope.DEVICE),
    ("{{DeviceName}}", "device_name", VariableScope.DEVICE),
    ("{{FullyQualifiedDomainName}}", "fqdn", VariableScope.DEVICE),
]
SUBJECT_VARIABLES = [row for row in VARIABLE_TABLE if row[1] != "on_prem_sid"]
USER_VARIABLES = [row for row in VARIABLE_TABLE if row[2] is VariableScope.USER]
DEVICE_VARIABLES = [row for row in VARIABLE_TABLE if row[2] is VariableScope.DEVICE]

HOSTILE = [
    "Eve, CN=Administrator",
    "a+CN=b",
    "x;O=Evil",
    '"quoted"',
    "=",
    'a"b',
    '",CN=x,"',
    "CN=Jane Doe,OU=UserAccounts,DC=corp,DC=contoso,DC=com",
    "\\,CN=esc",
    "#3003020101",
    " leading and trailing ",
    "<script>&amp;</script>",
    "'single'",
    "a,,b;;c++d==e",
    "{{UserName}}",
    "{{OnPremisesSecurityIdentifier}}",
    "}{",
    "Ünïcödé, Ltd.",
]
