"""The PKIOperation body parser: raw DER bytes, whatever Content-Type the client sent, size-bounded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.parsers import BaseParser

from enrollment.conf import enrollment_settings

__all__ = ["PkiMessageParser", "RequestTooLarge"]


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "request body too large"


class PkiMessageParser(BaseParser):
    """application/x-pki-message by convention; clients vary (octet-stream, none), so any type is accepted."""

    media_type = "*/*"

    def parse(  # type: ignore[override]  # returns the body itself, not a mapping
        self,
        stream: IO[Any] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        limit = enrollment_settings().SCEP_MAX_MESSAGE_SIZE
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise RequestTooLarge(f"body of {declared} bytes is over the limit of {limit} bytes")
        if stream is None:
            return b""
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise RequestTooLarge(f"body is over the limit of {limit} bytes")
        return bytes(body)
