"""API of the PKCS certificate profiles and the Wi-Fi, VPN and email resource profiles."""

from __future__ import annotations

from typing import ClassVar

from rest_framework import serializers, viewsets

from profiles.api.serializers_resources import PkcsProfileSerializer, ResourceProfileSerializer
from profiles.models import PkcsProfile, ResourceProfile
from profiles.services.profiles import scep_profile_delete, scep_profile_update
from profiles.services.resources import (
    pkcs_profile_create,
    resource_profile_create,
    resource_profile_delete,
    resource_profile_update,
)

__all__ = ["PkcsProfileViewSet", "ResourceProfileViewSet"]


class PkcsProfileViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    """``/api/v1/pkcs-profiles/``: certificate profiles whose key the CA generates (delivered as PKCS#12)."""

    queryset = PkcsProfile.objects.select_related("root_profile", "authority", "template")
    serializer_class = PkcsProfileSerializer
    filterset_fields: ClassVar[list[str]] = ["platform", "certificate_type", "authority", "template"]
    ordering_fields: ClassVar[list[str]] = ["name", "created_at"]

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:  # type: ignore[type-arg]
        serializer.instance = pkcs_profile_create(**serializer.validated_data)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:  # type: ignore[type-arg]
        serializer.instance = scep_profile_update(profile=self.get_object(), **serializer.validated_data)

    def perform_destroy(self, instance: PkcsProfile) -> None:
        scep_profile_delete(profile=instance)


class ResourceProfileViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    """``/api/v1/resource-profiles/``: Wi-Fi, VPN and email profiles using a certificate's identity."""

    queryset = ResourceProfile.objects.select_related("identity_profile", "server_root_profile")
    serializer_class = ResourceProfileSerializer
    filterset_fields: ClassVar[list[str]] = ["kind", "platform", "identity_profile"]
    ordering_fields: ClassVar[list[str]] = ["name", "created_at"]

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:  # type: ignore[type-arg]
        serializer.instance = resource_profile_create(**serializer.validated_data)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:  # type: ignore[type-arg]
        serializer.instance = resource_profile_update(profile=self.get_object(), **serializer.validated_data)

    def perform_destroy(self, instance: ResourceProfile) -> None:
        resource_profile_delete(profile=instance)
