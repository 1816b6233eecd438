"""The audit log (django-auditlog's swappable log entry, made append-only) and the links of its hash chain.

``AuditEntry`` is ``AUDITLOG_LOGENTRY_MODEL``: django-auditlog writes one row per create, update and delete
of a registered model (``audit.registration``) with the changed fields' before and after values; the
manager adds who acted (``audit.context``). Rows are never updated or deleted by the application: the
model and its queryset refuse it, and on PostgreSQL a trigger does (migration 0002). ``ChainLink`` holds the
hash chains over the audit rows and the connector's events (``audit.services.sealing``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from auditlog.models import AbstractLogEntry, LogEntryManager

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models

from audit.choices import ActorKind, Chain
from audit.context import NAME_LENGTH, TOKEN_LENGTH, current_actor
from audit.exceptions import AuditLogImmutable
from audit.registration import secret_key_identity

__all__ = ["AuditEntry", "ChainLink"]


class AppendOnlyQuerySet(models.QuerySet[Any]):
    """Refuses the bulk changes (``update``, ``delete``, and ``bulk_update``, which updates)."""

    def update(self, **kwargs: Any) -> int:
        raise AuditLogImmutable(f"{self.model._meta.label} rows are never updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditLogImmutable(f"{self.model._meta.label} rows are never deleted")


class AuditEntryManager(LogEntryManager.from_queryset(AppendOnlyQuerySet)):  # type: ignore[misc]  # untyped
    """django-auditlog's manager; every row it creates names the current actor and the object's type."""

    def create(self, **kwargs: Any) -> AuditEntry:
        actor = current_actor()
        content_type = kwargs.get("content_type")
        if isinstance(content_type, ContentType) and not kwargs.get("object_type"):
            kwargs["object_type"] = f"{content_type.app_label}.{content_type.model}"
        kwargs.setdefault("actor_id", actor.user_id)
        kwargs.setdefault("actor_kind", actor.kind)
        kwargs.setdefault("actor_name", actor.name)
        kwargs.setdefault("actor_token", actor.token)
        kwargs.setdefault("actor_device_id", actor.device_id)
        kwargs.setdefault("on_behalf_of", actor.on_behalf_of)
        kwargs.setdefault("os_user", actor.os_user)
        kwargs.setdefault("via", actor.via)
        kwargs.setdefault("cid", actor.correlation_id or None)
        if kwargs.get("remote_addr") is None:
            kwargs["remote_addr"] = actor.remote_addr
        entry: AuditEntry = super().create(**kwargs)
        return entry

    def log_create(self, instance: models.Model, force_log: bool = False, **kwargs: Any) -> AuditEntry | None:
        kwargs.update(secret_key_identity(instance))
        entry: AuditEntry | None = super().log_create(instance, force_log=force_log, **kwargs)
        return entry

    def log_m2m_changes(
        self, changed_queryset: Any, instance: models.Model, operation: str, field_name: str, **kwargs: Any
    ) -> AuditEntry | None:
        kwargs.update(secret_key_identity(instance))
        entry: AuditEntry | None = super().log_m2m_changes(
            changed_queryset, instance, operation, field_name, **kwargs
        )
        return entry


class AuditEntry(AbstractLogEntry):  # type: ignore[misc]  # django-auditlog is untyped
    """One write: who (``actor_*``), what (``object_type``, ``object_pk``, ``action``), when
    (``timestamp``), the changed fields' before and after values (``changes``), and how (``via``: the
    request's method and path, a task's id; ``cid``: one id per request, command or task).
    """

    # django-auditlog's foreign keys cascade or set null, which would update or delete audit rows: these
    # refer without a database constraint and do nothing when the user or content type goes.
    content_type = models.ForeignKey(
        ContentType, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        help_text="The user (session or API token); none for devices, commands, tasks and the system",
    )
    object_type = models.CharField(
        max_length=200, db_index=True, help_text="app_label.model, e.g. ca.certificateauthority"
    )
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices, db_index=True)
    actor_name = models.CharField(
        max_length=NAME_LENGTH,
        db_index=True,
        help_text="username, device:<Intune device ID>, command:<name>, task:<name>, anonymous or system",
    )
    actor_token = models.CharField(
        max_length=TOKEN_LENGTH, blank=True, help_text="The API token's identifier (never the token)"
    )
    actor_device_id = models.BigIntegerField(null=True, blank=True, help_text="directory Device id")
    on_behalf_of = models.CharField(
        max_length=NAME_LENGTH, blank=True, help_text="Who started the command or task"
    )
    os_user = models.CharField(max_length=64, blank=True, help_text="The process's OS user (commands, tasks)")
    via = models.CharField(max_length=NAME_LENGTH, blank=True, help_text="METHOD /path, or task <id>")

    objects: ClassVar[AuditEntryManager] = AuditEntryManager()

    class Meta(AbstractLogEntry.Meta):  # type: ignore[misc]  # django-auditlog is untyped
        ordering = ("-timestamp", "-id")
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"
        indexes = [models.Index(fields=["object_type", "object_pk"], name="audit_object")]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditLogImmutable(f"audit entry {self.pk} cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditLogImmutable(f"audit entry {self.pk} cannot be deleted")


class ChainLinkQuerySet(AppendOnlyQuerySet):
    def events_drop_through(self, row_id: int) -> int:
        """Delete the event chain's links up to ``row_id`` (the events' retention job, behind an anchor):
        the one deletion the chains allow. The audit chain's links are never deleted.
        """
        deleted, _ = models.QuerySet.delete(self.filter(chain=Chain.EVENTS, row_id__lte=row_id))
        return deleted


class ChainLink(models.Model):
    """``link_hash`` = SHA-256(previous link's hash || canonical JSON of the row), the row ``row_id`` of
    the chain's table, read with the field list of ``version`` (``audit.chain``).
    """

    chain = models.CharField(max_length=8, choices=Chain.choices)
    row_id = models.BigIntegerField()
    link_hash = models.CharField(max_length=64)
    version = models.PositiveSmallIntegerField()
    sealed_at = models.DateTimeField()

    objects = ChainLinkQuerySet.as_manager()

    class Meta:
        ordering = ("chain", "row_id")
        constraints = [models.UniqueConstraint(fields=["chain", "row_id"], name="audit_chainlink_unique_row")]

    def __str__(self) -> str:
        return f"{self.chain} #{self.row_id} {self.link_hash[:12]}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditLogImmutable(f"chain link {self.pk} cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditLogImmutable(f"chain link {self.pk} cannot be deleted")
