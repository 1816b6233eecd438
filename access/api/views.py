"""/api/v1/api-tokens/: administrators create (the secret is in that answer only), list and revoke tokens."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.base_user import AbstractBaseUser
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from access.api.serializers import ApiTokenCreateSerializer, ApiTokenSerializer
from access.models import ApiToken
from access.services.tokens import api_token_create, api_token_revoke

__all__ = ["ApiTokenViewSet"]


class ApiTokenViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[ApiToken],
):
    """API tokens: hashed at rest, each with a name, an expiry and optional scopes. Revoking deletes it."""

    queryset = ApiToken.objects.select_related("user", "created_by")
    serializer_class = ApiTokenSerializer
    lookup_field = "token_key"

    @extend_schema(
        request=ApiTokenCreateSerializer,
        responses={201: OpenApiResponse(OpenApiTypes.OBJECT, description="The token, with its secret once")},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = ApiTokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        creator = cast(AbstractBaseUser, request.user)  # authenticated: the permission class saw to it
        created = api_token_create(
            user=data.get("user") or creator,
            name=data["name"],
            created_by=creator,
            days=data.get("days"),
            scopes=data.get("scopes", ()),
        )
        body = dict(ApiTokenSerializer(created.token).data)
        body["token"] = created.secret
        body["warning"] = "the token is shown this once: store it now"
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})

    def perform_destroy(self, instance: ApiToken) -> None:
        api_token_revoke(token=instance, revoked_by=cast(AbstractBaseUser, self.request.user))
