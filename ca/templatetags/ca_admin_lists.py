"""The certificates' changelist at a million rows: its date drill-down reads the first and last notBefore
(the index answers) instead of every row's (``core.admin_lists.RangeDates``).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.admin.templatetags.admin_list import date_hierarchy

from core.admin_lists import RangeDatesChangeList

__all__ = ["range_date_hierarchy"]

register = template.Library()


@register.inclusion_tag("admin/date_hierarchy.html")
def range_date_hierarchy(changelist: Any) -> dict[str, Any] | None:
    """Django's ``{% date_hierarchy cl %}``, its years, months and days taken from the range of values."""
    result: dict[str, Any] | None = date_hierarchy(RangeDatesChangeList(changelist))  # type: ignore[arg-type]
    return result
