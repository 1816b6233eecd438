"""The profile editor's rows fields: SANs, EKUs and SCEP server URLs as rows of inputs and pickers
(:class:`profiles.widgets.RowsWidget`) in, the model's JSON out. Blank rows are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from django import forms
from django.core.exceptions import ValidationError

from ca.conf import ca_settings
from ca.constants import WELL_KNOWN_EKUS
from profiles.widgets import Column, RowsWidget

__all__ = [
    "CUSTOM_EKU",
    "SAN_TYPE_CHOICES",
    "EkuRowsField",
    "SanRowsField",
    "UrlRowsField",
    "scep_url_suggestions",
]

CUSTOM_EKU: Final = "custom"
_OID_RE: Final = re.compile(r"[0-2](?:\.(?:0|[1-9][0-9]*))+")
SAN_TYPE_CHOICES: Final = (("upn", "UPN"), ("email", "Email address"), ("dns", "DNS"), ("uri", "URI"))


class _RowsField(forms.Field):
    """Rows (dicts of strings) in, the model's JSON out; blank rows are dropped."""

    def rows(self, value: Any) -> list[dict[str, str]]:
        if not isinstance(value, list):
            return []
        return [
            {key: str(cell).strip() for key, cell in row.items()} for row in value if isinstance(row, Mapping)
        ]

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")


class SanRowsField(_RowsField):
    """``[{"type": "upn", "value": "{{UserPrincipalName}}"}]``: a type picker and a value with variables."""

    def __init__(self, **kwargs: Any) -> None:
        widget = RowsWidget(
            [
                Column("type", "Attribute", kind="select", choices=SAN_TYPE_CHOICES, width="10em"),
                Column("value", "Value", placeholder="{{UserPrincipalName}}"),
                Column("variable", "Insert", kind="variables", target="value", width="9em"),
            ],
            add_label="Add a subject alternative name",
            empty_text="No subject alternative names.",
        )
        super().__init__(widget=widget, required=False, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        return [
            {"type": str(row.get("type", "")).lower(), "value": row.get("value", "")}
            for row in self.rows(value)
        ]

    def to_python(self, value: Any) -> list[dict[str, str]]:
        return [
            {"type": row.get("type", "").lower(), "value": row["value"]}
            for row in self.rows(value)
            if row.get("value")
        ]


class EkuRowsField(_RowsField):
    """``[{"name": "Client Authentication", "oid": "1.3.6.1.5.5.7.3.2"}]``: a named EKU, or a custom OID."""

    def __init__(self, **kwargs: Any) -> None:
        named = list(WELL_KNOWN_EKUS.items())
        widget = RowsWidget(
            [
                Column(
                    "eku",
                    "Extended key usage",
                    kind="select",
                    choices=[*named, (CUSTOM_EKU, "Custom OID…")],
                    width="15em",
                ),
                Column("oid", "Object identifier", placeholder="1.3.6.1.4.1.311.20.2.2"),
                Column("name", "Name of a custom OID", placeholder="Name (optional)"),
            ],
            add_label="Add an extended key usage",
            empty_text="No extended key usages.",
        )
        super().__init__(widget=widget, required=False, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        rows = []
        for row in self.rows(value):
            if "eku" in row:  # posted rows, shown again with the form's errors
                rows.append(row)
                continue
            oid = row.get("oid", "")
            known = oid in WELL_KNOWN_EKUS
            rows.append(
                {
                    "eku": oid if known else CUSTOM_EKU,
                    "name": "" if known else row.get("name", ""),
                    "oid": oid,
                }
            )
        return rows

    def to_python(self, value: Any) -> list[dict[str, str]]:
        result: list[dict[str, str]] = []
        errors: list[str] = []
        for number, row in enumerate(self.rows(value), start=1):
            choice = row.get("eku", CUSTOM_EKU)
            if choice != CUSTOM_EKU:
                oid, name = choice, WELL_KNOWN_EKUS.get(choice, choice)
            else:
                oid, name = row.get("oid", ""), row.get("name", "")
                if not oid and not name:
                    continue  # a blank custom row
                if not _OID_RE.fullmatch(oid):
                    errors.append(
                        f"row {number}: {oid or '(empty)'} is not a dotted OID such as 1.3.6.1.5.5.7.3.2"
                    )
                    continue
                name = name or WELL_KNOWN_EKUS.get(oid, oid)
            if all(entry["oid"] != oid for entry in result):
                result.append({"name": name, "oid": oid})
        if errors:
            raise ValidationError(errors)
        return result


def scep_url_suggestions(extra: Iterable[str] = ()) -> list[str]:
    """The picker's SCEP server URLs: this portal's NDES-compatible and SCEP paths, and those in use."""
    base = ca_settings().BASE_URL.rstrip("/")
    suggestions = [f"{base}/certsrv/mscep/mscep.dll", f"{base}/scep"]
    for url in extra:
        if url not in suggestions:
            suggestions.append(url)
    return suggestions


class UrlRowsField(_RowsField):
    """``["https://.../certsrv/mscep/mscep.dll"]``: one URL a row, with this portal's SCEP URLs offered."""

    def __init__(self, **kwargs: Any) -> None:
        widget = RowsWidget(
            [Column("url", "SCEP server URL", placeholder="https://…/certsrv/mscep/mscep.dll")],
            add_label="Add a SCEP server URL",
            empty_text="No SCEP server URLs.",
        )
        super().__init__(widget=widget, required=False, **kwargs)

    def set_suggestions(self, urls: Iterable[str]) -> None:
        widget = self.widget
        assert isinstance(widget, RowsWidget)  # noqa: S101 - set in __init__
        column = widget.columns[0]
        widget.columns = (
            Column(column.name, column.label, placeholder=column.placeholder, datalist=tuple(urls)),
        )

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return [{"url": item} for item in value]
        return self.rows(value)

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return [item.strip() for item in value if item.strip()]
        urls: list[str] = []
        for row in self.rows(value):
            url = row.get("url", "")
            if url and url not in urls:
                urls.append(url)
        return urls
