"""Directory users: create, update, delete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from django.db import transaction

from core.services import ModelUpdate, model_update
from directory.imports.rows import COLUMNS
from directory.models import DirectoryUser
from directory.services.objects import object_create, object_delete

__all__ = ["USER_FIELDS", "user_create", "user_delete", "user_update"]

#: The fields a caller may write (API, admin, import): the columns of a users import row.
USER_FIELDS: Final = COLUMNS["users"]


@transaction.atomic
def user_create(
    *,
    external_id: str,
    user_principal_name: str,
    user_name: str = "",
    email: str = "",
    display_name: str = "",
    on_premises_sam_account_name: str = "",
    on_premises_distinguished_name: str = "",
    on_premises_security_identifier: str = "",
    on_premises_user_principal_name: str = "",
    department: str = "",
    enabled: bool = True,
) -> DirectoryUser:
    return object_create(
        model=DirectoryUser,
        data={
            "external_id": external_id,
            "user_principal_name": user_principal_name,
            "user_name": user_name,
            "email": email,
            "display_name": display_name,
            "on_premises_sam_account_name": on_premises_sam_account_name,
            "on_premises_distinguished_name": on_premises_distinguished_name,
            "on_premises_security_identifier": on_premises_security_identifier,
            "on_premises_user_principal_name": on_premises_user_principal_name,
            "department": department,
            "enabled": enabled,
        },
    )


@transaction.atomic
def user_update(*, user: DirectoryUser, data: Mapping[str, Any]) -> ModelUpdate[DirectoryUser]:
    """Write the fields in ``data`` (any of ``USER_FIELDS``); only changed fields are saved."""
    return model_update(instance=user, data=data, fields=USER_FIELDS)


@transaction.atomic
def user_delete(*, user: DirectoryUser) -> None:
    """Delete a user; their devices keep existing without a primary user."""
    object_delete(instance=user)
