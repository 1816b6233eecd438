"""Serializers of the PKCS certificate profiles and the Wi-Fi, VPN and email resource profiles."""

from __future__ import annotations

from rest_framework import serializers

from profiles.api.serializers import ScepProfileSerializer
from profiles.models import PkcsProfile, ResourceProfile

__all__ = ["PkcsProfileSerializer", "ResourceProfileSerializer"]


class PkcsProfileSerializer(ScepProfileSerializer):
    """A SCEP profile's settings without SCEP servers, with the key the CA generates."""

    class Meta(ScepProfileSerializer.Meta):
        model = PkcsProfile
        fields = [
            *(name for name in ScepProfileSerializer.Meta.fields if name != "scep_server_urls"),
            "key_algorithm",
        ]


class ResourceProfileSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """Field types only: ``resource_profile_create`` / ``_update`` check the profile as a whole."""

    class Meta:
        model = ResourceProfile
        fields = [
            "id",
            "name",
            "description",
            "kind",
            "platform",
            "identity_profile",
            "server_root_profile",
            "ssid",
            "wifi_security",
            "hidden_network",
            "auto_join",
            "server_certificate_names",
            "remote_address",
            "remote_identifier",
            "local_identifier",
            "exchange_host",
            "email_address_attribute",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["version", "created_at", "updated_at"]
