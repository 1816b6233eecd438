"""Directory API: users, devices, groups (CRUD, members, device check-in tokens) and imports.

Writes go through the :mod:`directory.services` modules; the serializers only parse and validate input.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal

from django.db.models import Count, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from core.parsers import SafeJSONParser
from directory.api.filtersets import DeviceFilterSet, DirectoryUserFilterSet, GroupFilterSet
from directory.api.permissions import VIEW_ALL_IMPORTS, DirectoryImportPermission, permissions_held
from directory.api.serializers import (
    DeviceCheckinTokenSerializer,
    DeviceSerializer,
    DirectoryImportInputSerializer,
    DirectoryUserSerializer,
    GroupMemberSerializer,
    GroupMembersInputSerializer,
    GroupSerializer,
    ImportJobSerializer,
)
from directory.exceptions import ImportFileInvalid
from directory.imports.rows import KINDS, ImportKind
from directory.models import Device, DirectoryUser, Group, ImportJob
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
from directory.services.import_jobs import import_job_create
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


class DirectoryImportViewSet(viewsets.GenericViewSet):  # type: ignore[type-arg]
    """Import users, devices and groups from a CSV or JSON file, or from rows in a JSON body, as a job.

    ``POST`` reads the file as a whole, checks the requester's rights, records an import job and answers
    **202** with it (``Location``: the job). The job applies the rows on the default queue, by
    ``external_id``, ``CERTPORTAL_IMPORT_CHUNK_SIZE`` (500) rows per transaction (none with ``dry_run``);
    ``GET /directory-import/{id}/`` shows its status (queued, running, done, failed), progress, counts and
    the rows that failed, so check ``failed``. Where tasks run in process (the embedded default) the job
    has run when the answer comes: the 202 carries it done. **400**: nothing recorded; a problem with the
    request or the file as a whole (unreadable CSV or JSON, unknown columns, no ``external_id`` column).
    **403**: nothing recorded; the file holds a kind the requester may not import: an import creates and
    updates, so each kind takes both rights (``directory.add_directoryuser`` and
    ``directory.change_directoryuser`` for users; likewise ``device`` and ``group``). ``GET`` lists every
    job with ``directory.view_importjob``, one's own with the rights to import.
    """

    permission_classes = (DirectoryImportPermission,)
    parser_classes = (SafeJSONParser, MultiPartParser, FormParser)
    serializer_class = ImportJobSerializer
    queryset = ImportJob.objects.defer("content")
    filterset_fields: ClassVar[list[str]] = ["status", "dry_run"]
    ordering_fields: ClassVar[list[str]] = ["created_at"]

    def get_queryset(self) -> QuerySet[ImportJob]:
        jobs = ImportJob.objects.defer("content").order_by("-created_at", "-pk")
        if permissions_held(self.request, [VIEW_ALL_IMPORTS]):
            return jobs
        return jobs.filter(requested_by_user_id=self.request.user.pk)

    @extend_schema(
        request={
            "multipart/form-data": DirectoryImportInputSerializer,
            "application/json": DirectoryImportInputSerializer,
        },
        responses={
            202: ImportJobSerializer,
            400: OpenApiResponse(description="Invalid request or file; nothing was recorded"),
            403: OpenApiResponse(description="The file holds a kind the requester may not import"),
        },
    )
    def create(self, request: Request) -> Response:
        serializer = DirectoryImportInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        content, file_name, kind = self._content(data)
        user = request.user if request.user.is_authenticated else None
        job = import_job_create(
            content=content,
            requested_by=f"api:{request.user.get_username()}",
            requested_by_user=user,
            file_name=file_name,
            file_format=data["format"] if "file" in data else "json",
            kind=kind,
            dry_run=data["dry_run"],
            permitted=lambda permissions: permissions_held(request, permissions),
        )
        job = self.get_queryset().get(pk=job.pk)  # where tasks run in process, it has run by now
        location = request.build_absolute_uri(f"{job.pk}/")  # the job, below the collection posted to
        return Response(
            ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED, headers={"Location": location}
        )

    def list(self, request: Request) -> Response:
        """Import jobs, newest first."""
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        if page is not None:
            return self.get_paginated_response(ImportJobSerializer(page, many=True).data)
        return Response(ImportJobSerializer(queryset, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        """An import job: its status, progress, counts and the rows that failed."""
        return Response(ImportJobSerializer(self.get_object()).data)

    @staticmethod
    def _content(data: dict[str, Any]) -> tuple[bytes, str, ImportKind | Literal["auto"]]:
        """The file to import, its name and the kind asked for: an upload as it is, rows as a JSON file."""
        if "file" in data:
            upload = data["file"]
            if upload.size is not None and upload.size > MAX_IMPORT_BYTES:
                raise ImportFileInvalid(
                    f"the file is larger than {MAX_IMPORT_BYTES // 2**20} MiB; "
                    "import it with manage.py directory_import"
                )
            return upload.read(), str(upload.name or ""), data["kind"]
        if "rows" in data:
            return json.dumps(data["rows"]).encode(), "", data["kind"]
        sections = {kind: data[kind] for kind in KINDS if kind in data}
        return json.dumps(sections).encode(), "", "auto"
