"""Format checks of directory attributes that Django's field types do not know (SID, UPN, MAC address).

Django validators (raise ``ValidationError``) set on the model fields, so that ``full_clean`` applies
them on every way into the directory: the services, the API serializers, the admin forms. The import
rows check them as well, before any database work (:mod:`directory.imports.rows`).
"""

from __future__ import annotations

import re
from typing import Final

from django.core.exceptions import ValidationError

from ca.crypto.identities import sid_is_valid, upn_is_valid

__all__ = ["validate_mac_address", "validate_sid", "validate_upn"]

#: 00:11:22:aa:bb:cc, 00-11-22-AA-BB-CC, 001122AABBCC (as Intune reports wiFiMacAddress), 0011.22aa.bbcc.
_MAC_RE: Final = re.compile(
    r"[0-9A-Fa-f]{2}(?P<sep>[:-]?)[0-9A-Fa-f]{2}(?:(?P=sep)[0-9A-Fa-f]{2}){4}"
    r"|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}"
)


def validate_sid(value: str) -> None:
    """A Windows security identifier (SID) in canonical string form, e.g. ``S-1-5-21-1004336348-...-512``.

    The grammar is :func:`ca.crypto.identities.sid_is_valid`'s, so that the directory never stores a SID
    that the CA would refuse to put in a certificate.
    """
    if not sid_is_valid(value):
        raise ValidationError(
            "Enter a security identifier (SID) such as S-1-5-21-1004336348-1177238915-682003330-512.",
            code="invalid_sid",
        )


def validate_upn(value: str) -> None:
    """A user principal name ``name@domain``, with :func:`ca.crypto.identities.upn_is_valid`'s grammar (the
    one the CA and the profiles' UPN SANs use).
    """
    if not upn_is_valid(value):
        raise ValidationError(
            "Enter a user principal name such as jane@corp.example.com.", code="invalid_upn"
        )


def validate_mac_address(value: str) -> None:
    """A 48-bit MAC address written with ``:`` or ``-`` separators, without separators, or Cisco-dotted."""
    if _MAC_RE.fullmatch(value) is None:
        raise ValidationError(
            "Enter a MAC address such as 00:11:22:AA:BB:CC, 00-11-22-AA-BB-CC or 001122AABBCC.",
            code="invalid_mac_address",
        )
