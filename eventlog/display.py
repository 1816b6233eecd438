"""The event log shown to people: SCEP numbers as the RFC's names, subjects with attribute names not OIDs.

The events store what the protocol carried (``fail_info`` 2, ``message_type`` 19) and subjects as RFC 4514
strings, in which attributes without an RFC 4514 keyword (emailAddress, serialNumber, ...) are dotted OIDs.
The event log imports no app, so the few names needed here are its own table (RFC 8894 3.2.1.2 and
3.2.1.4; the attribute keywords Windows and OpenSSL print).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["fail_info_name", "message_type_name", "readable_details", "readable_names"]

#: RFC 8894 3.2.1.4 failInfo.
FAIL_INFO_NAMES = {0: "badAlg", 1: "badMessageCheck", 2: "badRequest", 3: "badTime", 4: "badCertId"}
#: RFC 8894 3.2.1.2 messageType.
MESSAGE_TYPE_NAMES = {
    3: "CertRep",
    17: "RenewalReq",
    18: "UpdateReq",
    19: "PKCSReq",
    20: "CertPoll",
    21: "GetCert",
    22: "GetCRL",
}
#: Attributes RFC 4514 has no keyword for, with the keyword people know.
ATTRIBUTE_KEYWORDS = {
    "1.2.840.113549.1.9.1": "E",
    "2.5.4.5": "SERIALNUMBER",
    "2.5.4.4": "SN",
    "2.5.4.42": "G",
    "2.5.4.12": "T",
    "2.5.4.17": "PostalCode",
    "2.5.4.65": "pseudonym",
    "1.2.840.113549.1.9.2": "unstructuredName",
    "1.2.840.113549.1.9.8": "unstructuredAddress",
    "2.5.4.46": "dnQualifier",
    "2.5.4.43": "initials",
    "2.5.4.44": "generationQualifier",
}
_OID_ATTRIBUTE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)+)=")


def fail_info_name(value: int | None) -> str:
    """``badRequest (2)``; empty for none."""
    if value is None:
        return ""
    name = FAIL_INFO_NAMES.get(value)
    return f"{name} ({value})" if name else str(value)


def message_type_name(value: int | None) -> str:
    """``PKCSReq (19)``; empty for none."""
    if value is None:
        return ""
    name = MESSAGE_TYPE_NAMES.get(value)
    return f"{name} ({value})" if name else str(value)


def readable_names(text: str) -> str:
    """``1.2.840.113549.1.9.1=a@b,CN=x`` -> ``E=a@b,CN=x`` (OIDs we have no keyword for stay)."""
    return _OID_ATTRIBUTE.sub(
        lambda match: f"{ATTRIBUTE_KEYWORDS.get(match.group(1), match.group(1))}=", text
    )


def readable_details(details: Any) -> list[tuple[str, str]]:
    """An event's details as (name, value) lines, subjects readable, nested values as compact text."""
    if not isinstance(details, dict):
        return [("details", readable_names(str(details)))] if details else []
    lines = []
    for key, value in details.items():
        if isinstance(value, (list, tuple)):
            text = ", ".join(str(item) for item in value)
        elif isinstance(value, dict):
            text = ", ".join(f"{k}={v}" for k, v in value.items())
        else:
            text = "" if value is None else str(value)
        lines.append((str(key).replace("_", " "), readable_names(text)))
    return lines
