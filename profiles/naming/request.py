"""What a device is expected to ask for: a profile's subject and SANs rendered together.

Pure (no Django). A one-time challenge is bound to the canonical forms of a :class:`RenderedRequest`,
and a device's CSR is compared with them; both use :mod:`ca.crypto.canonical`, the one definition of
"the same name" in certportal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509

from ca.crypto.canonical import canonical_sans, canonical_subject
from profiles.naming.sans import SanTemplate, render_sans
from profiles.naming.subject import SubjectFormat, render_subject
from profiles.naming.variables import RenderContext

__all__ = ["RenderedRequest", "render_request"]


@dataclass(frozen=True)
class RenderedRequest:
    """The rendered subject and SANs plus their canonical forms."""

    subject: x509.Name
    sans: tuple[x509.GeneralName, ...]
    canonical_subject: str = dataclasses.field(init=False)
    canonical_sans: tuple[str, ...] = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sans", tuple(self.sans))
        object.__setattr__(self, "canonical_subject", canonical_subject(self.subject))
        object.__setattr__(self, "canonical_sans", canonical_sans(self.sans))

    def matches(self, subject: x509.Name, sans: Iterable[x509.GeneralName]) -> bool:
        """True when ``subject``/``sans`` (e.g. from a CSR) are exactly this request, encoding aside."""
        return (
            canonical_subject(subject) == self.canonical_subject
            and canonical_sans(sans) == self.canonical_sans
        )


def render_request(
    fmt: SubjectFormat, san_templates: Iterable[SanTemplate], ctx: RenderContext
) -> RenderedRequest:
    """Render subject and SANs together.

    Raises:
        MissingVariable: the context lacks a value a variable needs.
        RenderError: a rendered value is unusable.
    """
    return RenderedRequest(subject=render_subject(fmt, ctx), sans=tuple(render_sans(san_templates, ctx)))
