"""Directory API: users, devices, groups (CRUD, members, device check-in tokens) and imports.

Writes go through the :mod:`directory.services` modules; the serializers only parse and validate input.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import Count, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from directory.api.filtersets import DeviceFilterSet, DirectoryUserFilterSet, GroupFilterSet
from directory.api.permissions import DirectoryImportPermission
from directory.api.serializers import (
    DeviceCheckinTokenSerializer,
    DeviceSerializer,
    DirectoryImportInputSerializer,
    DirectoryUserSerializer,
    GroupMemberSerializer,
    GroupMembersInputSerializer,
    GroupSerializer,
    ImportResultSerializer,
)
from directory.exceptions import ImportFileInvalid
from directory.imports.files import detect_kind, parse_file
from directory.imports.rows import ImportKind, SourceRow
from directory.models import Device, DirectoryUser, Group
from directory.selectors import group_member_list
from directory.services.checkin_tokens import device_checkin_token_rotate
from directory.services.devices import device_create, device_delete, device_update
from directory.services.groups import (
    group_create,
    group_delete,
    group_members_add,
    group_members_remove,
    group_members_set,
    group_update,
)
from directory.services.imports import directory_import_combined
from directory.services.users import user_create, user_delete, user_update

__all__ = ["DeviceViewSet", "DirectoryImportViewSet", "DirectoryUserViewSet", "GroupViewSet"]

#: Largest import file the API accepts; bigger directories are imported with ``manage.py directory_import``.
MAX_IMPORT_BYTES = 20 * 1024 * 1024


class DirectoryUserViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    """Directory users (Entra ID users): the source of the user variables such as {{UserPrincipalName}}."""

    queryset = DirectoryUser.objects.all()
    serializer_class = DirectoryUserSerializer
    filterset_class = DirectoryUserFilterSet
    ordering_fields: ClassVar[list[str]] = ["user_principal_name", "display_name", "created_at", "updated_at"]

    def perform_create(self, serializer: BaseSerializer[DirectoryUser]) -> None:
        serializer.instance = user_create(**serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer[DirectoryUser]) -> None:
        assert serializer.instance is not None  # noqa: S101  (an update always has one)
        serializer.instance = user_update(user=serializer.instance, data=serializer.validated_data).instance

    def perform_destroy(self, instance: DirectoryUser) -> None:
        user_delete(user=instance)


class DeviceViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    """Managed devices (Intune managedDevice): the source of the device variables such as {{DeviceId}}.

    ``state`` is set on creation; retiring or wiping a device revokes its certificates and is done
    through the profiles API, so an update that changes ``state`` is refused, and so is deleting a
    device that is still active (409).
    """

    queryset = Device.objects.select_related("primary_user")
    serializer_class = DeviceSerializer
    filterset_class = DeviceFilterSet
    ordering_fields: ClassVar[list[str]] = ["name", "platform", "state", "last_checkin_at", "created_at"]
    #: A check-in token lets its holder fetch one-time challenges for the device's user: a right of its own.
    action_permissions: ClassVar[dict[str, tuple[str, ...]]] = {
        "checkin_token": ("directory.rotate_checkin_token", "directory.view_device")
    }

    def perform_create(self, serializer: BaseSerializer[Device]) -> None:
        serializer.instance = device_create(**serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer[Device]) -> None:
        assert serializer.instance is not None  # noqa: S101
        serializer.instance = device_update(
            device=serializer.instance, data=serializer.validated_data
        ).instance

    def perform_destroy(self, instance: Device) -> None:
        device_delete(device=instance)

    @extend_schema(
        request=None,
        responses={
            200: DeviceCheckinTokenSerializer,
            409: OpenApiResponse(description="The device is retired or wiped"),
        },
    )
    @action(detail=True, methods=["post"], url_path="checkin-token")
    def checkin_token(self, request: Request, pk: str) -> Response:
        """Issue a new check-in token (the old one stops working). The token is shown this once."""
        device = self.get_object()
        token = device_checkin_token_rotate(device=device)
        data = DeviceCheckinTokenSerializer(
            {"device": device.pk, "external_id": device.external_id, "token": token}
        )
        return Response(data.data, headers={"Cache-Control": "no-store"})


class GroupViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    """User groups and device groups, the targets of profile assignments.

    ``members`` lists (GET), replaces (PUT), adds (POST) or removes (DELETE) members, given as
    ``{"members": [external_id, ...]}`` (users may also be named by UPN).
    """

    queryset = Group.objects.annotate(
        member_count=Count("users", distinct=True) + Count("devices", distinct=True)
    ).order_by("name", "pk")  # Meta.ordering does not apply to an aggregating query
    serializer_class = GroupSerializer
    filterset_class = GroupFilterSet
    ordering_fields: ClassVar[list[str]] = ["name", "kind", "created_at", "updated_at"]
    action_permissions: ClassVar[dict[str, str]] = {
        "members": "directory.view_group",
        "members_set": "directory.change_group",
        "members_add": "directory.change_group",
        "members_remove": "directory.change_group",
    }

    def get_queryset(self) -> QuerySet[Group]:
        if self.action in ("list", "retrieve"):
            return super().get_queryset()
        return Group.objects.all()  # writes and member actions: no aggregate (and no GROUP BY to lock)

    def perform_create(self, serializer: BaseSerializer[Group]) -> None:
        serializer.instance = group_create(**serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer[Group]) -> None:
        assert serializer.instance is not None  # noqa: S101
        serializer.instance = group_update(group=serializer.instance, data=serializer.validated_data).instance

    def perform_destroy(self, instance: Group) -> None:
        group_delete(group=instance)

    @extend_schema(responses=GroupMemberSerializer(many=True))
    @action(detail=True, methods=["get"])
    def members(self, request: Request, pk: str) -> Response:
        """The group's members: users for a user group, devices for a device group (paginated)."""
        queryset = group_member_list(group=self.get_object())
        page = self.paginate_queryset(queryset)
        if page is not None:
            return self.get_paginated_response(GroupMemberSerializer(page, many=True).data)
        return Response(GroupMemberSerializer(queryset, many=True).data)

    def _members_input(self, request: Request, group: Group) -> Any:
        serializer = GroupMembersInputSerializer(data=request.data, context={"group": group})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data["members"]

    @extend_schema(request=GroupMembersInputSerializer, responses=GroupSerializer)
    @members.mapping.put
    def members_set(self, request: Request, pk: str) -> Response:
        """Replace the members."""
        group = self.get_object()
        group = group_members_set(group=group, members=self._members_input(request, group))
        return Response(GroupSerializer(group).data)

    @extend_schema(request=GroupMembersInputSerializer, responses=GroupSerializer)
    @members.mapping.post
    def members_add(self, request: Request, pk: str) -> Response:
        """Add members (those already in the group are left as they are)."""
        group = self.get_object()
        group = group_members_add(group=group, members=self._members_input(request, group))
        return Response(GroupSerializer(group).data)

    @extend_schema(request=GroupMembersInputSerializer, responses=GroupSerializer)
    @members.mapping.delete
    def members_remove(self, request: Request, pk: str) -> Response:
        """Remove members (those not in the group are ignored)."""
        group = self.get_object()
        group = group_members_remove(group=group, members=self._members_input(request, group))
        return Response(GroupSerializer(group).data)


class DirectoryImportViewSet(viewsets.ViewSet):
    """Import users, devices and groups from a CSV or JSON file, or from rows in a JSON body.

    Rows are created or updated by ``external_id``. Every valid row is applied (in one transaction;
    none with ``dry_run``) and the answer is **200** with the counts and one entry per failed row in
    ``errors``, so check ``failed``. **400** means nothing was imported: a problem with the request or the
    file as a whole (unreadable CSV or JSON, unknown columns, no ``external_id`` column).
    """

    permission_classes = (DirectoryImportPermission,)
    parser_classes = (JSONParser, MultiPartParser, FormParser)
    serializer_class = DirectoryImportInputSerializer

    @extend_schema(
        request={
            "multipart/form-data": DirectoryImportInputSerializer,
            "application/json": DirectoryImportInputSerializer,
        },
        responses={
            200: ImportResultSerializer,
            400: OpenApiResponse(description="Invalid request or file; nothing was imported"),
        },
    )
    def create(self, request: Request) -> Response:
        serializer = DirectoryImportInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        sections = self._sections(data)
        if "groups" in sections and not request.user.has_perm("directory.add_group"):
            raise PermissionDenied("Importing groups takes the directory.add_group permission.")
        result = directory_import_combined(sections=sections, dry_run=data["dry_run"])
        return Response(result.as_dict(), status=status.HTTP_200_OK)

    @staticmethod
    def _sections(data: dict[str, Any]) -> dict[ImportKind, list[SourceRow] | list[dict[str, Any]]]:
        if "file" in data:
            upload = data["file"]
            if upload.size is not None and upload.size > MAX_IMPORT_BYTES:
                raise ImportFileInvalid(
                    f"the file is larger than {MAX_IMPORT_BYTES // 2**20} MiB; "
                    "import it with manage.py directory_import"
                )
            return dict(
                parse_file(upload.read(), file_format=data["format"], kind=data["kind"], filename=upload.name)
            )
        if "rows" in data:
            rows: list[dict[str, Any]] = data["rows"]
            if data["kind"] != "auto":
                return {data["kind"]: rows}
            columns = {str(column).strip().lower() for row in rows for column in row}
            return {detect_kind(columns): rows} if columns else {}
        return {kind: data[kind] for kind in ("users", "devices", "groups") if kind in data}
