"""The certificate list's pagination at a million rows: limit/offset as every list, with ``count`` exact up to
10,000 matches and PostgreSQL's estimate above (``count_estimated`` says which; ``core.counts``).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response

from core.counts import EXACT_COUNT_LIMIT, count_or_estimate

__all__ = ["EstimatedCountPagination"]


class EstimatedCountPagination(LimitOffsetPagination):
    exact_limit = EXACT_COUNT_LIMIT

    def get_count(self, queryset: Any) -> int:
        self.count_estimated = False
        if not isinstance(queryset, QuerySet):
            return super().get_count(queryset)
        count, self.count_estimated = count_or_estimate(queryset, exact_limit=self.exact_limit)
        return count

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        response.data["count_estimated"] = self.count_estimated
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated: dict[str, Any] = super().get_paginated_response_schema(schema)
        paginated["properties"]["count_estimated"] = {
            "type": "boolean",
            "description": f"true when more than {self.exact_limit:,} match: count is then PostgreSQL's "
            "estimate, not an exact count",
        }
        return paginated
