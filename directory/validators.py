"""Format checks for directory attributes the model fields do not check themselves (SID, MAC address).

Django-style validators (raise ``ValidationError``), used by the services, the import parser, the API
serializers and the admin forms, so that every way into the directory applies the same rules.
"""

from __future__ import annotations

import re
from typing import Final

from django.core.exceptions import ValidationError

__all__ = ["validate_mac_address", "validate_sid"]

#: ``S-1-<identifier authority>-<sub-authority>...`` (MS-DTYP 2.4.2.1): a 48-bit authority in decimal
#: or as 0x + 12 hex digits, then 1 to 15 32-bit sub-authorities.
_SID_RE: Final = re.compile(r"S-1-(?P<authority>\d{1,15}|0x[0-9A-Fa-f]{12})(?P<sub>(?:-\d{1,10}){1,15})")
_MAX_AUTHORITY: Final = 2**48 - 1
_MAX_SUB_AUTHORITY: Final = 2**32 - 1

#: 00:11:22:aa:bb:cc, 00-11-22-AA-BB-CC, 001122AABBCC (as Intune reports wiFiMacAddress), 0011.22aa.bbcc.
_MAC_RE: Final = re.compile(
    r"[0-9A-Fa-f]{2}(?P<sep>[:-]?)[0-9A-Fa-f]{2}(?:(?P=sep)[0-9A-Fa-f]{2}){4}"
    r"|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}"
)


def validate_sid(value: str) -> None:
    """A Windows security identifier (SID) in string form, e.g. ``S-1-5-21-1004336348-1177238915-512``."""
    match = _SID_RE.fullmatch(value)
    if match is not None:
        authority = match["authority"]
        authority_value = int(authority, 16) if authority.startswith("0x") else int(authority)
        subs = [int(part) for part in match["sub"][1:].split("-")]
        if authority_value <= _MAX_AUTHORITY and all(sub <= _MAX_SUB_AUTHORITY for sub in subs):
            return
    raise ValidationError(
        "Enter a security identifier (SID) such as S-1-5-21-1004336348-1177238915-682003330-512.",
        code="invalid_sid",
    )


def validate_mac_address(value: str) -> None:
    """A 48-bit MAC address written with ``:`` or ``-`` separators, without separators, or Cisco-dotted."""
    if _MAC_RE.fullmatch(value) is None:
        raise ValidationError(
            "Enter a MAC address such as 00:11:22:AA:BB:CC, 00-11-22-AA-BB-CC or 001122AABBCC.",
            code="invalid_mac_address",
        )
