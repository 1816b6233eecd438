"""The Intune-style ``{{Variable}}`` placeholders: catalogue, render context and value templates.

Pure module: no Django. The catalogue is the single place that knows which variables exist, whether
they describe the *user* or the *device*, and which :class:`RenderContext` attribute supplies the value.
It also holds the pieces :mod:`profiles.naming.subject` and :mod:`profiles.naming.sans` build on:
:class:`CertificateType`, :class:`ValueTemplate` (static text interleaved with variables), its parser
and substitution, and the error classes.

Rules encoded here (Intune "Configure and use SCEP certificates", see ``shared/reference``):

* variable names match case-insensitively (the docs spell both ``{{SERIALNUMBER}}`` and
  ``{{SerialNumber}}``);
* a *user* certificate may use user and device variables, a *device* certificate only device variables;
* ``{{FullyQualifiedDomainName}}`` only has a value for domain-joined Windows devices;
* ``{{OnPremisesSecurityIdentifier}}`` may only appear as a URI subject alternative name (it is rendered
  as the KB5014754 ``tag:microsoft.com,2022-09-14:sid:<SID>`` URI), never in the subject; in a device
  certificate it is the device's own SID (hybrid-joined Windows devices).
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

__all__ = [
    "VARIABLES",
    "CertificateType",
    "MissingVariable",
    "RenderContext",
    "RenderError",
    "SanFormatError",
    "SubjectFormatError",
    "TemplateError",
    "ValueTemplate",
    "Variable",
    "VariableScope",
    "check_characters",
    "check_scope",
    "lookup_variable",
    "parse_value_template",
    "substitute",
    "unavailable_reason",
    "variable_value",
]


class CertificateType(enum.StrEnum):
    """Intune's "Certificate type" (Graph ``certificateStore``: user / machine).

    The one definition: ``ScepProfile.certificate_type`` takes its choices from the members and labels.
    """

    USER = "user"
    DEVICE = "device"

    @property
    def label(self) -> str:
        """The name the admin sees (the model field's choice label)."""
        return {"user": "User", "device": "Device"}[self.value]

    @classmethod
    def _missing_(cls, value: object) -> CertificateType | None:
        # Accept any case, and Graph's certificateStore spelling "machine" for a device certificate.
        if isinstance(value, str):
            lowered = value.lower()
            if lowered == "machine":
                return cls.DEVICE
            for member in cls:
                if member.value == lowered:
                    return member
        return None


class VariableScope(enum.StrEnum):
    USER = "user"
    DEVICE = "device"


@dataclass(frozen=True)
class RenderContext:
    """Attribute values of one user and one device, as plain strings (no ORM objects).

    Every attribute is optional; a variable whose attribute is ``None``, empty or only whitespace is
    *missing* and rendering fails with :class:`MissingVariable`, as Intune fails the
    profile installation when a device lacks, for example, an IMEI.
    """

    # user attributes
    user_name: str | None = None
    email: str | None = None
    upn: str | None = None
    on_prem_distinguished_name: str | None = None
    on_prem_sam_account_name: str | None = None
    on_prem_sid: str | None = None
    on_prem_upn: str | None = None
    department: str | None = None
    # device attributes
    device_id: str | None = None
    aad_device_id: str | None = None
    serial_number: str | None = None
    imei: str | None = None
    meid: str | None = None
    wifi_mac: str | None = None
    device_name: str | None = None
    fqdn: str | None = None
    platform: str = ""
    domain_joined: bool = False

    @property
    def is_windows(self) -> bool:
        """True for any Windows platform name (``windows``, ``windows10AndLater``, ``windows81AndLater``)."""
        return self.platform.strip().lower().startswith("windows")


@dataclass(frozen=True)
class Variable:
    """One ``{{Name}}`` placeholder.

    Attributes:
        name: canonical spelling, without the braces.
        scope: whether the value describes the user or the device.
        attribute: the :class:`RenderContext` field that supplies the value.
        description: human wording of the attribute for error messages ("IMEI", "email address").
        subject_allowed: False for variables that may not be used in the subject name.
        uri_only: True for variables that may only be used as the whole value of a URI SAN.
        device_too: True for a user variable that a device certificate may use too, its value then
            describing the device (the SID: a hybrid-joined Windows device's computer account).
    """

    name: str
    scope: VariableScope
    attribute: str
    description: str
    subject_allowed: bool = True
    uri_only: bool = False
    device_too: bool = False

    @property
    def placeholder(self) -> str:
        return "{{" + self.name + "}}"

    def allowed_for(self, certificate_type: CertificateType) -> bool:
        return (
            certificate_type is CertificateType.USER or self.scope is VariableScope.DEVICE or self.device_too
        )


_U = VariableScope.USER
_D = VariableScope.DEVICE

_CATALOGUE: tuple[Variable, ...] = (
    # user variables
    Variable("UserName", _U, "user_name", "user name"),
    Variable("EmailAddress", _U, "email", "email address"),
    Variable("UserPrincipalName", _U, "upn", "user principal name"),
    Variable("OnPrem_Distinguished_Name", _U, "on_prem_distinguished_name", "on-premises distinguished name"),
    Variable("onPremisesSamAccountName", _U, "on_prem_sam_account_name", "on-premises sAMAccountName"),
    Variable(
        "OnPremisesSecurityIdentifier",
        _U,
        "on_prem_sid",
        "on-premises security identifier (SID)",
        subject_allowed=False,
        uri_only=True,
        device_too=True,
    ),
    Variable("OnPremisesUserPrincipalName", _U, "on_prem_upn", "on-premises user principal name"),
    Variable("Department", _U, "department", "department"),
    # device variables
    Variable("AAD_Device_ID", _D, "aad_device_id", "Entra ID (Azure AD) device ID"),
    Variable("AzureADDeviceId", _D, "aad_device_id", "Entra ID (Azure AD) device ID"),
    Variable("DeviceId", _D, "device_id", "device ID"),
    Variable("Device_Serial", _D, "serial_number", "serial number"),
    Variable("SerialNumber", _D, "serial_number", "serial number"),
    Variable("Device_IMEI", _D, "imei", "IMEI"),
    Variable("IMEINumber", _D, "imei", "IMEI"),
    Variable("IMEI", _D, "imei", "IMEI"),
    Variable("MEID", _D, "meid", "MEID"),
    Variable("WiFiMacAddress", _D, "wifi_mac", "Wi-Fi MAC address"),
    Variable("DeviceName", _D, "device_name", "device name"),
    Variable("FullyQualifiedDomainName", _D, "fqdn", "fully qualified domain name"),
)

#: Every known variable, keyed by its lower-cased name.
VARIABLES: Final[Mapping[str, Variable]] = MappingProxyType(
    {variable.name.lower(): variable for variable in _CATALOGUE}
)


def lookup_variable(name: str) -> Variable | None:
    """Return the variable called ``name`` (without braces, any case), or None."""
    return VARIABLES.get(name.lower())


def variable_value(variable: Variable, ctx: RenderContext) -> str | None:
    """The value ``variable`` takes in ``ctx``, or None when the context cannot supply it."""
    if variable.attribute == "fqdn" and not (ctx.is_windows and ctx.domain_joined):
        return None
    value = getattr(ctx, variable.attribute)
    if not isinstance(value, str) or not value.strip():
        return None
    return value


def unavailable_reason(variable: Variable, ctx: RenderContext, *, where: str) -> str:
    """Why :func:`variable_value` returned None.

    For example "device has no IMEI, required by {{IMEI}} in the subject".
    """
    reason = f"{variable.scope} has no {variable.description}, required by {variable.placeholder} in {where}"
    if variable.attribute == "fqdn" and not (ctx.is_windows and ctx.domain_joined):
        platform = ctx.platform or "unknown platform"
        joined = "domain-joined" if ctx.domain_joined else "not domain-joined"
        reason += (
            f": {variable.placeholder} is only available for domain-joined Windows devices "
            f"(this device: {platform}, {joined})"
        )
    return reason


# --------------------------------------------------------------------------------------------------
# errors


class TemplateError(Exception):
    """A subject or SAN template is invalid. The message is shown to the admin when saving a profile."""

    def __init__(self, message: str, *, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: 1-based character position in the template, when the error has one.
        self.position = position


class SubjectFormatError(TemplateError):
    """The subject name format cannot be used."""


class SanFormatError(TemplateError):
    """A subject alternative name entry cannot be used."""


class RenderError(Exception):
    """A valid template cannot be rendered for this user/device (bad or unusable attribute value)."""


class MissingVariable(RenderError):
    """The context has no value for a variable the template needs (Intune: the profile fails to install)."""

    def __init__(self, message: str, *, variable: Variable) -> None:
        super().__init__(message)
        self.variable = variable


# --------------------------------------------------------------------------------------------------
# value templates (static text + variables)


@dataclass(frozen=True)
class ValueTemplate:
    """One attribute value or SAN value: static text interleaved with variables."""

    parts: tuple[str | Variable, ...]

    @property
    def variables(self) -> tuple[Variable, ...]:
        return tuple(part for part in self.parts if isinstance(part, Variable))

    @property
    def is_static(self) -> bool:
        return not self.variables

    def __str__(self) -> str:
        return "".join(part if isinstance(part, str) else part.placeholder for part in self.parts)


_VARIABLE_RE: Final = re.compile(r"\{\{([^{}]*)\}\}")


def _snippet(text: str, start: int, width: int = 24) -> str:
    end = text.find("}", start)
    if end < 0:
        end = len(text)
    while end < len(text) and text[end] == "}":
        end += 1
    return text[start : min(end, start + width)]


def _unknown_variable_message(name: str, where: str) -> str:
    message = "unknown variable {{" + name + "}} in " + where
    close = difflib.get_close_matches(name.lower(), list(VARIABLES), n=1, cutoff=0.75)
    if close:
        message += "; did you mean " + VARIABLES[close[0]].placeholder + "?"
    return message


def parse_value_template(
    value: str,
    *,
    where: str,
    forbidden: str,
    error: type[TemplateError],
    offset: int | None,
) -> ValueTemplate:
    """Split ``value`` into static text and variables.

    Curly brackets that do not form ``{{KnownVariable}}`` and any character in ``forbidden`` that appears
    in the static text are errors.
    """
    parts: list[str | Variable] = []
    literal: list[str] = []
    index = 0
    while index < len(value):
        char = value[index]
        position = None if offset is None else offset + index + 1
        if char == "{":
            match = _VARIABLE_RE.match(value, index)
            if match is None:
                raise error(
                    f'curly brackets not enclosing a variable in {where}: "{_snippet(value, index)}" '
                    "(variables are written {{Name}}; other curly brackets are not allowed)",
                    position=position,
                )
            variable = lookup_variable(match.group(1))
            if variable is None:
                raise error(_unknown_variable_message(match.group(1), where), position=position)
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(variable)
            index = match.end()
            continue
        if char == "}":
            context = value[max(0, index - 20) : index + 1]
            raise error(
                f'curly brackets not enclosing a variable in {where}: "{context}"',
                position=position,
            )
        if char in forbidden:
            raise error(f"'{char}' is not allowed in the static text of {where}", position=position)
        literal.append(char)
        index += 1
    if literal:
        parts.append("".join(literal))
    return ValueTemplate(tuple(parts))


def check_scope(
    template: ValueTemplate,
    certificate_type: CertificateType,
    *,
    where: str,
    error: type[TemplateError],
    position: int | None = None,
) -> None:
    """Reject user variables in a device certificate's template."""
    for variable in template.variables:
        if not variable.allowed_for(certificate_type):
            raise error(
                f"{variable.placeholder} in {where} is a user variable; a device certificate may only use "
                "device variables",
                position=position,
            )


def substitute(template: ValueTemplate, ctx: RenderContext, *, where: str) -> str:
    pieces: list[str] = []
    for part in template.parts:
        if isinstance(part, str):
            pieces.append(part)
            continue
        value = variable_value(part, ctx)
        if value is None:
            raise MissingVariable(unavailable_reason(part, ctx, where=where), variable=part)
        pieces.append(value)
    return "".join(pieces)


def check_characters(value: str, *, what: str) -> None:
    for char in value:
        code = ord(char)
        if code < 0x20 or 0x7F <= code <= 0x9F:
            raise RenderError(f"{what} contains the control character U+{code:04X}: {value!r}")
        if 0xD800 <= code <= 0xDFFF:
            raise RenderError(f"{what} contains an unpaired surrogate U+{code:04X}: {value!r}")
