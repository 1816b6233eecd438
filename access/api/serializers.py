"""The API tokens' representation: never the digest; the secret only in the answer that creates it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from access.models import ApiToken

__all__ = ["ApiTokenCreateSerializer", "ApiTokenSerializer"]


class ApiTokenSerializer(serializers.ModelSerializer[ApiToken]):
    user: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    token_key = serializers.CharField(
        read_only=True, help_text="The token's first characters, to recognise it"
    )

    class Meta:
        model = ApiToken
        fields = ["token_key", "name", "user", "scopes", "created", "expiry", "last_used_at", "created_by"]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer[None]):
    name = serializers.CharField(max_length=100)
    user = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        help_text="Whose rights the token carries (default: yours)",
    )
    days = serializers.IntegerField(
        min_value=1, required=False, help_text="Lifetime (default CERTPORTAL_API_TOKEN_DEFAULT_DAYS)"
    )
    scopes = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        max_length=50,
        help_text="Permission patterns the token is limited to, e.g. ['*.view_*']; empty: all of the user's",
    )
