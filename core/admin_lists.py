"""Admin list plumbing shared by the apps (no domain): a text-box filter, and CSV export of a filtered list.

``CsvExportAdminMixin`` adds ``<changelist>/export.csv``: the same rows the list shows with the same query
string (filters, search, ordering), every page of them, as CSV. The changelist template links to it with
the current query string (``templates/admin/change_list.html``), so a filtered list exports as filtered.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import URLPattern, path

__all__ = ["CsvExportAdminMixin", "InputFilter", "model_field"]


class InputFilter(admin.SimpleListFilter):
    """A list filter typed in a box (a device or user out of thousands), not picked from links."""

    template = "admin/input_filter.html"
    #: Placeholder of the box.
    placeholder = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return []

    def has_output(self) -> bool:
        return True

    def choices(self, changelist: Any) -> Iterator[Any]:
        kept = {
            key: value for key, value in changelist.get_filters_params().items() if key != self.parameter_name
        }
        yield {
            "parameter_name": self.parameter_name,
            "value": self.value() or "",
            "placeholder": self.placeholder,
            "kept": [(key, item) for key, values in kept.items() for item in _as_list(values)],
            "clear_url": changelist.get_query_string(remove=[self.parameter_name]),
        }


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


class _Echo:
    def write(self, value: str) -> str:
        return value


class CsvExportAdminMixin:
    """``csv_columns``: (header, callable of a row giving its cell); the file is ``csv_filename``."""

    csv_columns: Sequence[tuple[str, Callable[[Any], Any]]] = ()
    csv_filename = "export.csv"

    def get_csv_columns(self, request: HttpRequest) -> Sequence[tuple[str, Callable[[Any], Any]]]:
        return self.csv_columns

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta  # type: ignore[attr-defined]
        export = self.admin_site.admin_view(self.csv_export_view)  # type: ignore[attr-defined]
        return [
            path("export.csv", export, name=f"{opts.app_label}_{opts.model_name}_export"),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def csv_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        """What the list shows for this query string, unpaginated."""
        changelist = self.get_changelist_instance(request)  # type: ignore[attr-defined]
        return changelist.get_queryset(request)  # type: ignore[no-any-return]

    def csv_export_view(self, request: HttpRequest) -> StreamingHttpResponse:
        if not self.has_view_or_change_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        columns = self.get_csv_columns(request)
        rows = self.csv_queryset(request)
        writer = csv.writer(_Echo())

        def lines() -> Iterator[str]:
            yield writer.writerow([header for header, _ in columns])
            for row in rows.iterator(chunk_size=500):
                yield writer.writerow([_cell(cell(row)) for _, cell in columns])

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{self.csv_filename}"'
        return response


def _cell(value: Any) -> str:
    """A cell that a spreadsheet will not run as a formula (CSV injection)."""
    text = "" if value is None else (value.isoformat() if hasattr(value, "isoformat") else str(value))
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def model_field(name: str) -> Callable[[Model], Any]:
    return lambda row: getattr(row, name)
