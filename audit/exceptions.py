from __future__ import annotations

from core.exceptions import ApplicationError

__all__ = ["AuditLogImmutable"]


class AuditLogImmutable(ApplicationError):
    """An audit row (or a link of its hash chain) was to be changed or deleted: the log is append-only."""

    code = "immutable"
    http_status = 403
