"""The audit log's vocabulary: who acts, what was done, and the hash chains that protect the rows."""

from __future__ import annotations

from django.db import models

__all__ = ["Action", "ActorKind", "Chain"]


class ActorKind(models.TextChoices):
    USER = "user", "User (admin or API session)"
    TOKEN = "token", "User with an API token"
    DEVICE = "device", "Device (check-in API)"
    ANONYMOUS = "anonymous", "Unauthenticated request (e.g. a SCEP client)"
    COMMAND = "command", "Management command"
    TASK = "task", "Celery task"
    SYSTEM = "system", "System (no request, command or task)"


class Action(models.IntegerChoices):
    """django-auditlog's actions (``LogEntry.Action``), the values stored in ``AuditEntry.action``."""

    CREATE = 0, "create"
    UPDATE = 1, "update"
    DELETE = 2, "delete"
    ACCESS = 3, "access"


class Chain(models.TextChoices):
    """The two hash chains sealed by ``audit.services.sealing``: one per table."""

    AUDIT = "audit", "Audit log"
    EVENTS = "events", "Connector event log"
