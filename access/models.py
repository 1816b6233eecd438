"""API tokens: hashed at rest (django-rest-knox's digest), with an expiry, a name and optional scopes."""

from __future__ import annotations

import fnmatch

from knox.models import AbstractAuthToken

from django.conf import settings
from django.db import models

__all__ = ["ApiToken"]


class ApiToken(AbstractAuthToken):  # type: ignore[misc]  # knox is untyped
    """A token an administrator created for a person or an integration. Only its SHA-512 digest and its
    first characters (``token_key``, to find it and to tell tokens apart) are stored; the token itself is
    shown once, when it is created.
    """

    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'Intune sync job'")
    #: Permission patterns (``fnmatch``) the token is limited to, e.g. ``["*.view_*"]`` for read only or
    #: ``["directory.*"]``; empty: everything its user may do. A token never adds rights to its user's.
    scopes = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created",)
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.token_key}…, {self.user})"

    def allows(self, permission: str) -> bool:
        """Whether the token's scopes cover ``permission`` (``app_label.codename``)."""
        scopes = list(self.scopes or [])
        return not scopes or any(fnmatch.fnmatchcase(permission, str(pattern)) for pattern in scopes)
