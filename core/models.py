"""Abstract model base classes."""

from django.db import models

__all__ = ["TimestampedModel"]


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
