"""Template filters of the admin pages that show certificates: a stored subject with attribute names."""

from __future__ import annotations

from django import template

from ca.crypto.describe import subject_text_readable

__all__ = ["readable_subject"]

register = template.Library()


@register.filter
def readable_subject(text: str | None) -> str:
    """A stored RFC 4514 subject as the certificate pages show it: ``1.2.840.113549.1.9.1=a@b,CN=x`` is
    ``E=a@b, CN=x`` (names, not OIDs; see :func:`ca.crypto.describe.subject_text_readable`).
    """
    return subject_text_readable(text) if text else ""
