"""``Authorization: Token <token>``: django-rest-knox's hashed tokens (expired ones are refused and
deleted), noting when each was last used.
"""

from __future__ import annotations

from typing import Any

from knox.auth import TokenAuthentication

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from access.models import ApiToken
from access.services.tokens import api_token_used

__all__ = ["ApiTokenAuthentication", "ApiTokenScheme"]


class ApiTokenAuthentication(TokenAuthentication):  # type: ignore[misc]  # knox is untyped
    def validate_user(self, auth_token: ApiToken) -> tuple[Any, ApiToken]:
        user, token = super().validate_user(auth_token)
        api_token_used(token=token)
        return user, token


class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "access.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Token <token>: an API token made by an administrator (/api/v1/api-tokens/)",
        }
