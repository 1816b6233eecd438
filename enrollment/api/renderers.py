"""Renderers of the SCEP endpoint's content types, and a negotiation that never answers 406.

The view decides the content type per operation (RFC 8894 section 4); these renderers pass the bytes
through, so a device's Accept header (often absent or */*) cannot turn an answer into an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from enrollment import scep

__all__ = [
    "CaCertRenderer",
    "CaRaCertRenderer",
    "NextCaCertRenderer",
    "PkiMessageRenderer",
    "PlainTextRenderer",
    "ScepContentNegotiation",
]


class _BytesRenderer(BaseRenderer):
    charset: str | None = None

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        return str(data).encode("utf-8")


class PkiMessageRenderer(_BytesRenderer):
    media_type = scep.CONTENT_TYPE_PKI_MESSAGE
    format = "pki-message"


class CaCertRenderer(_BytesRenderer):
    media_type = scep.CONTENT_TYPE_CA_CERT
    format = "ca-cert"


class CaRaCertRenderer(_BytesRenderer):
    media_type = scep.CONTENT_TYPE_CA_RA_CERT
    format = "ca-ra-cert"


class NextCaCertRenderer(_BytesRenderer):
    media_type = scep.CONTENT_TYPE_NEXT_CA_CERT
    format = "next-ca-cert"


class PlainTextRenderer(_BytesRenderer):
    media_type = "text/plain"
    format = "txt"
    charset = "utf-8"


class ScepContentNegotiation(BaseContentNegotiation):
    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type
