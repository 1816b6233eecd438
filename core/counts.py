"""Counting the rows of a list without reading a million of them: exact up to a limit, PostgreSQL's estimate
above it (the admin's :class:`core.admin_lists.EstimatedCountPaginator`, the certificate API's pagination).

An exact ``COUNT(*)`` of a filter that matches most of a large table reads every matching row (or index
entry) on every page of the list: about 0.2 s per 800,000 rows here (docs/benchmarks-admin.md). Below the
limit the count is exact and cheap (it reads at most ``exact_limit + 1`` rows); above it, the planner's row
estimate of the same query (from the table's statistics, no rows read) is close enough to say "about N".
"""

from __future__ import annotations

import json
from typing import Any, Final

from django.db import connections
from django.db.models import QuerySet

__all__ = ["EXACT_COUNT_LIMIT", "count_or_estimate"]

#: Lists count exactly up to this many rows.
EXACT_COUNT_LIMIT: Final = 10_000


def count_or_estimate(queryset: QuerySet[Any], *, exact_limit: int = EXACT_COUNT_LIMIT) -> tuple[int, bool]:
    """``(count, estimated)``: the exact count when at most ``exact_limit`` rows match (or the database is
    not PostgreSQL), else the planner's estimate for the query (never below ``exact_limit + 1``).
    """
    unordered = queryset.order_by()
    capped = unordered.values("pk")[: exact_limit + 1].count()
    if capped <= exact_limit:
        return capped, False
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return unordered.count(), False
    sql, params = unordered.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return max(int(plan[0]["Plan"]["Plan Rows"]), capped), True
