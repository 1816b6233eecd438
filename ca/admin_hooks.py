"""What other apps add to the CA's certificate pages, without the CA knowing them.

The CA must not import profiles or the directory, yet an admin filters certificates by profile, device and
user, and a certificate's page names the device it was issued to. Apps above the CA register here (the
project does it for profiles when the admin starts: ``portal.apps``); ``ca.admin_certificates`` reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ca.models import IssuedCertificate

__all__ = ["CertificateAdminExtensions", "RelatedLink", "certificate_admin_extensions"]


@dataclass(frozen=True)
class RelatedLink:
    """A line of the certificate page's "Issued to" box: ``label: text`` linking to ``url`` (or not)."""

    label: str
    text: str
    url: str = ""


@dataclass
class CertificateAdminExtensions:
    #: List filters (classes, as in ``list_filter``) appended to the certificate list's own.
    list_filters: list[Any] = field(default_factory=list)
    #: Search fields (ORM paths from IssuedCertificate) appended to the list's own.
    search_fields: list[str] = field(default_factory=list)
    #: Callables giving, for a certificate, what it was issued to.
    related: list[Callable[[IssuedCertificate], list[RelatedLink]]] = field(default_factory=list)
    #: Extra CSV columns: (header, callable giving the cell of a certificate).
    csv_columns: list[tuple[str, Callable[[IssuedCertificate], str]]] = field(default_factory=list)
    #: ``select_related`` paths the extra columns and filters read.
    select_related: list[str] = field(default_factory=list)

    def register(
        self,
        *,
        list_filters: Sequence[Any] = (),
        search_fields: Sequence[str] = (),
        related: Callable[[IssuedCertificate], list[RelatedLink]] | None = None,
        csv_columns: Sequence[tuple[str, Callable[[IssuedCertificate], str]]] = (),
        select_related: Sequence[str] = (),
    ) -> None:
        """Add to the certificate pages (idempotent: registering the same thing twice adds it once)."""
        _extend(self.list_filters, list_filters)
        _extend(self.search_fields, search_fields)
        _extend(self.csv_columns, csv_columns)
        _extend(self.select_related, select_related)
        if related is not None and related not in self.related:
            self.related.append(related)


def _extend(target: list[Any], items: Sequence[Any]) -> None:
    target.extend(item for item in items if item not in target)


certificate_admin_extensions = CertificateAdminExtensions()
