"""Admin list plumbing shared by the apps (no domain): a text-box filter, CSV export of a filtered list, and
what a list of a million rows needs: a paginator that does not count them all, and a date drill-down that
does not read them all.

``CsvExportAdminMixin`` adds ``<changelist>/export.csv``: the same rows the list shows with the same query
string (filters, search, ordering), every page of them, as CSV. The changelist template links to it with
the current query string (``templates/admin/change_list.html``), so a filtered list exports as filtered.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Max, Min, Model, QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import URLPattern, path
from django.utils import timezone

from core.counts import EXACT_COUNT_LIMIT, count_or_estimate

__all__ = [
    "CsvExportAdminMixin",
    "EstimatedCountPaginator",
    "InputFilter",
    "RangeDates",
    "RangeDatesChangeList",
    "model_field",
]


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


class EstimatedCountPaginator(Paginator):  # type: ignore[type-arg]
    """Counts exactly up to ``exact_limit`` rows and, above that on PostgreSQL, takes the planner's
    estimate (``estimated`` is then True and the list says "about"; :func:`core.counts.count_or_estimate`).
    The rows shown are never estimated; past the real last page a page is empty.
    """

    exact_limit = EXACT_COUNT_LIMIT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.estimated = False

    @cached_property
    def count(self) -> int:
        if not isinstance(self.object_list, QuerySet):
            return super().count
        count, self.estimated = count_or_estimate(self.object_list, exact_limit=self.exact_limit)
        return count


class RangeDates:
    """A changelist's queryset as the admin's date drill-down (``date_hierarchy``) sees it: the years of the
    whole table (its first and last value: one MIN/MAX that an index on the field answers from its two
    ends), the months of the chosen year and the days of the chosen month within them, instead of
    ``SELECT DISTINCT date_trunc(...)`` over every matching row. Periods without a row of the current filter
    are listed too (their page is empty).
    """

    def __init__(self, root: QuerySet[Any], field_name: str, params: dict[str, Any]) -> None:
        self.root, self.field_name, self.params = root, field_name, params

    @cached_property
    def extremes(self) -> tuple[Any, Any]:
        """The field's first and last value in the table (dates or datetimes, as the field holds)."""
        values = self.root.order_by().aggregate(first=Min(self.field_name), last=Max(self.field_name))
        return values["first"], values["last"]

    @property
    def bounds(self) -> tuple[dt.date, dt.date] | None:
        first, last = self.extremes
        if first is None or last is None:
            return None
        if isinstance(first, dt.datetime):
            return timezone.localtime(first).date(), timezone.localtime(last).date()
        return first, last

    def _chosen(self, part: str) -> int | None:
        value = self.params.get(f"{self.field_name}__{part}")
        if isinstance(value, list):
            value = value[-1] if value else None
        return int(value) if value not in (None, "") and str(value).isdigit() else None

    def aggregate(self, **expressions: Any) -> dict[str, Any]:
        """The drill-down's first question (MIN and MAX of the field): the table's range."""
        return dict(zip(expressions, self.extremes, strict=False))

    def datetimes(self, field_name: str, kind: str) -> list[dt.datetime]:
        zone = timezone.get_current_timezone()
        return [dt.datetime.combine(day, dt.time.min, tzinfo=zone) for day in self.dates(field_name, kind)]

    def dates(self, field_name: str, kind: str) -> list[dt.date]:
        if self.bounds is None:
            return []
        first, last = self.bounds
        year, month = self._chosen("year") or first.year, self._chosen("month") or first.month
        if kind == "year":
            return [dt.date(y, 1, 1) for y in range(first.year, last.year + 1)]
        if kind == "month":
            return [
                dt.date(year, m, 1)
                for m in range(1, 13)
                if (first.year, first.month) <= (year, m) <= (last.year, last.month)
            ]
        days = calendar.monthrange(year, month)[1]
        return [
            dt.date(year, month, d) for d in range(1, days + 1) if first <= dt.date(year, month, d) <= last
        ]


class RangeDatesChangeList:
    """A ChangeList whose ``queryset`` is :class:`RangeDates` (everything else is the ChangeList's)."""

    def __init__(self, changelist: Any) -> None:
        self._changelist = changelist
        self.queryset = RangeDates(changelist.root_queryset, changelist.date_hierarchy, changelist.params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._changelist, name)
