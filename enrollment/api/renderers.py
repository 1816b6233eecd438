"""The SCEP endpoint's one renderer: the view has already encoded the answer (RFC 8894 section 4 decides
the content type per operation), so the renderer passes the bytes through, whatever a device's Accept
header says (often absent or ``*/*``): content negotiation can never turn an answer into a 406.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import BaseRenderer

__all__ = ["ScepRenderer"]


class ScepRenderer(BaseRenderer):
    media_type = "*/*"
    format = "scep"
    charset = None

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        return str(data).encode("utf-8")
