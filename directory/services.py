"""Every write to the directory: users, devices, groups and their members, check-in tokens, imports.

Device state changes (retire, wipe) are not here: they revoke certificates, so they belong to the
profiles services, which call into this app and not the other way round.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, Final, Literal, TypeAlias, TypeVar

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS as DJANGO_NON_FIELD_ERRORS
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils.crypto import constant_time_compare, salted_hmac

from core.exceptions import ApplicationError
from directory.exceptions import (
    DeviceNotActive,
    DeviceStateChangeRefused,
    DeviceStillActive,
    GroupMemberKindMismatch,
    ObjectInUse,
)
from directory.imports import (
    KINDS,
    NON_FIELD_ERRORS,
    DeviceRow,
    GroupRow,
    ImportFormat,
    ImportKind,
    ImportResult,
    RowError,
    RowsValidation,
    SourceRow,
    UserRow,
    ValidRow,
    parse_file,
    source_rows,
    validate_device_rows,
    validate_group_rows,
    validate_user_rows,
)
from directory.models import Device, DeviceState, DirectoryUser, Group, GroupKind
from directory.selectors import Member, device_resolve_many, user_resolve_many
from directory.validators import validate_mac_address, validate_sid

__all__ = [
    "CHECKIN_TOKEN_SALT",
    "DEVICE_FIELDS",
    "GROUP_FIELDS",
    "USER_FIELDS",
    "ImportResult",
    "Member",
    "device_authenticate",
    "device_checkin_token_rotate",
    "device_create",
    "device_delete",
    "device_update",
    "directory_import",
    "directory_import_combined",
    "directory_import_file",
    "group_create",
    "group_delete",
    "group_members_add",
    "group_members_remove",
    "group_members_set",
    "group_update",
    "user_create",
    "user_delete",
    "user_update",
]

#: ``salted_hmac`` key salt of device check-in tokens; only the HMAC is stored.
CHECKIN_TOKEN_SALT: Final = "certportal.directory.checkin-token"  # noqa: S105  (a salt, not a secret)

USER_FIELDS: Final = (
    "external_id", "user_principal_name", "user_name", "email", "display_name",
    "on_premises_sam_account_name", "on_premises_distinguished_name", "on_premises_security_identifier",
    "on_premises_user_principal_name", "department", "enabled",
)  # fmt: skip
DEVICE_FIELDS: Final = (
    "external_id", "name", "platform", "os_version", "serial_number", "imei", "meid", "aad_device_id",
    "wifi_mac", "fqdn", "domain_joined", "primary_user", "state",
)  # fmt: skip
GROUP_FIELDS: Final = ("external_id", "name", "description", "kind")

#: Format checks the model fields do not carry (see directory.validators).
_EXTRA_VALIDATORS: Final[Mapping[type[models.Model], Mapping[str, Callable[[str], None]]]] = {
    DirectoryUser: {"on_premises_security_identifier": validate_sid},
    Device: {"wifi_mac": validate_mac_address},
}

ModelT = TypeVar("ModelT", DirectoryUser, Device, Group)
_Outcome: TypeAlias = Literal["created", "updated", "unchanged"]


# --- helpers -----------------------------------------------------------------------------------------


def _full_clean(instance: models.Model) -> None:
    """``full_clean`` plus the directory's extra format checks, reported together by field."""
    errors: dict[str, list[ValidationError]] = {}
    try:
        instance.full_clean()
    except ValidationError as exc:
        errors = (
            dict(exc.error_dict) if hasattr(exc, "error_dict") else {DJANGO_NON_FIELD_ERRORS: exc.error_list}
        )
    for name, validator in _EXTRA_VALIDATORS.get(type(instance), {}).items():
        value = getattr(instance, name)
        if value and name not in errors:
            try:
                validator(value)
            except ValidationError as exc:
                errors[name] = exc.error_list
    if errors:
        raise ValidationError(errors)


def _assign(instance: models.Model, data: Mapping[str, Any], allowed: Collection[str]) -> list[str]:
    """Set the values in ``data`` that differ from the instance's; return the names of the changed fields."""
    unknown = set(data) - set(allowed)
    if unknown:
        raise TypeError(
            f"{type(instance).__name__} fields that cannot be updated: {', '.join(sorted(unknown))}"
        )
    changed: list[str] = []
    for name, value in data.items():
        field = instance._meta.get_field(name)
        if field.many_to_one:
            current = getattr(instance, field.attname)  # type: ignore[union-attr]
            new = value.pk if value is not None else None
        else:
            current, new = getattr(instance, name), value
        if current != new:
            setattr(instance, name, value)
            changed.append(name)
    return changed


def _create(model: type[ModelT], data: Mapping[str, Any]) -> ModelT:
    instance = model(**data)
    _full_clean(instance)
    instance.save()
    return instance


def _save_changes(instance: models.Model, changed: Sequence[str]) -> None:
    if changed:
        _full_clean(instance)
        instance.save(update_fields=[*changed, "updated_at"])


def _delete(instance: models.Model) -> None:
    blockers: Iterable[models.Model]
    cause: Exception
    try:
        instance.delete()
        return
    except ProtectedError as exc:
        blockers, cause = exc.protected_objects, exc
    except RestrictedError as exc:
        blockers, cause = exc.restricted_objects, exc
    raise ObjectInUse(
        f"{instance} is still referenced by other records and cannot be deleted",
        extra={"referenced_by": sorted(f"{obj._meta.verbose_name}: {obj}" for obj in list(blockers)[:10])},
    ) from cause


# --- users -------------------------------------------------------------------------------------------


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
    return _create(
        DirectoryUser,
        {
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
def user_update(*, user: DirectoryUser, data: Mapping[str, Any]) -> DirectoryUser:
    """Write the fields in ``data`` (any of ``USER_FIELDS``); only changed fields are saved."""
    _save_changes(user, _assign(user, data, USER_FIELDS))
    return user


@transaction.atomic
def user_delete(*, user: DirectoryUser) -> None:
    """Delete a user; their devices keep existing without a primary user."""
    _delete(user)


# --- devices -----------------------------------------------------------------------------------------


@transaction.atomic
def device_create(
    *,
    external_id: str,
    name: str,
    platform: str,
    os_version: str = "",
    serial_number: str = "",
    imei: str = "",
    meid: str = "",
    aad_device_id: str = "",
    wifi_mac: str = "",
    fqdn: str = "",
    domain_joined: bool = False,
    primary_user: DirectoryUser | None = None,
    state: str = DeviceState.ACTIVE,
) -> Device:
    return _create(
        Device,
        {
            "external_id": external_id,
            "name": name,
            "platform": platform,
            "os_version": os_version,
            "serial_number": serial_number,
            "imei": imei,
            "meid": meid,
            "aad_device_id": aad_device_id,
            "wifi_mac": wifi_mac,
            "fqdn": fqdn,
            "domain_joined": domain_joined,
            "primary_user": primary_user,
            "state": state,
        },
    )


def _device_assign(device: Device, data: Mapping[str, Any]) -> list[str]:
    if "state" in data and data["state"] != device.state:
        raise DeviceStateChangeRefused(
            f"the state of {device} cannot be changed from {device.state} to {data['state']} here; "
            "retiring or wiping a device revokes its certificates and goes through the profiles services",
            extra={"field": "state"},
        )
    return _assign(device, data, DEVICE_FIELDS)


@transaction.atomic
def device_update(*, device: Device, data: Mapping[str, Any]) -> Device:
    """Write the fields in ``data`` (any of ``DEVICE_FIELDS``, ``primary_user`` as a DirectoryUser or None).

    ``state`` may be given only with the device's current value (retire/wipe are profiles services).
    """
    _save_changes(device, _device_assign(device, data))
    return device


@transaction.atomic
def device_delete(*, device: Device) -> None:
    """Delete a retired or wiped device.

    An active device is refused: deleting it would drop the records binding it to its certificates
    (profiles) without revoking them. Retire or wipe it first; that revokes them.
    """
    if device.is_active:
        raise DeviceStillActive(
            f"{device} is active; retire or wipe it first (that revokes its certificates), then delete it"
        )
    _delete(device)


def _checkin_token_digest(token: str, *, secret: str | bytes | None = None) -> str:
    return salted_hmac(CHECKIN_TOKEN_SALT, token, secret=secret, algorithm="sha256").hexdigest()


@transaction.atomic
def device_checkin_token_rotate(*, device: Device) -> str:
    """Give an active device a new check-in token, returned this once; only its HMAC is stored.

    The previous token stops working at once.
    """
    if not device.is_active:
        raise DeviceNotActive(f"{device} is {device.state}; only an active device gets a check-in token")
    token = secrets.token_urlsafe(32)
    device.checkin_token_digest = _checkin_token_digest(token)
    device.save(update_fields=["checkin_token_digest", "updated_at"])
    return token


def device_authenticate(*, device_external_id: str, token: str) -> Device | None:
    """The active device whose check-in token this is, or None (unknown, not active, no or wrong token).

    Compares in constant time against the HMAC under ``SECRET_KEY`` and each ``SECRET_KEY_FALLBACKS``
    entry, so rotating the secret key the Django way does not lock devices out.
    """
    device = Device.objects.filter(external_id=device_external_id, state=DeviceState.ACTIVE).first()
    stored = device.checkin_token_digest if device is not None else ""
    matched = False
    for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        # Always compute and compare, also for an unknown device, so timing tells nothing.
        matched |= constant_time_compare(_checkin_token_digest(token, secret=secret), stored or "-")
    if device is None or not stored or not matched:
        return None
    return device


# --- groups ------------------------------------------------------------------------------------------


def _split_members(group: Group, members: Iterable[Member]) -> tuple[list[DirectoryUser], list[Device]]:
    members = list(members)
    users = [m for m in members if isinstance(m, DirectoryUser)]
    devices = [m for m in members if isinstance(m, Device)]
    wrong: list[Member] = list(devices) if group.kind == GroupKind.USER else list(users)
    if wrong:
        holds = "users" if group.kind == GroupKind.USER else "devices"
        names = ", ".join(str(m) for m in wrong[:5]) + (", ..." if len(wrong) > 5 else "")
        raise GroupMemberKindMismatch(
            f"{group.name} is a {group.get_kind_display().lower()}: it holds only {holds}, not {names}",
            extra={"field": "members", "members": [m.external_id for m in wrong]},
        )
    return users, devices


def _touch(group: Group) -> None:
    group.save(update_fields=["updated_at"])


def _members_set(group: Group, members: Iterable[Member]) -> bool:
    users, devices = _split_members(group, members)
    before_users = set(group.users.values_list("pk", flat=True))
    before_devices = set(group.devices.values_list("pk", flat=True))
    changed = before_users != {u.pk for u in users} or before_devices != {d.pk for d in devices}
    if changed:
        group.users.set(users)
        group.devices.set(devices)
    return changed


@transaction.atomic
def group_create(
    *, external_id: str, name: str, kind: str, description: str = "", members: Iterable[Member] = ()
) -> Group:
    group = _create(
        Group, {"external_id": external_id, "name": name, "kind": kind, "description": description}
    )
    _members_set(group, members)
    return group


@transaction.atomic
def group_update(*, group: Group, data: Mapping[str, Any], members: Iterable[Member] | None = None) -> Group:
    """Write the fields in ``data`` (any of ``GROUP_FIELDS``) and, when given, replace the members.

    Changing ``kind`` needs members of the new kind (or none): pass them in the same call.
    """
    _group_update(group, data, members)
    return group


def _group_update(group: Group, data: Mapping[str, Any], members: Iterable[Member] | None) -> bool:
    changed = _assign(group, data, GROUP_FIELDS)
    members_changed = members is not None and _members_set(group, members)
    _save_changes(group, changed)
    if members_changed and not changed:
        _touch(group)
    return bool(changed) or members_changed


@transaction.atomic
def group_members_set(*, group: Group, members: Iterable[Member]) -> Group:
    """Make ``members`` the group's members (users for a user group, devices for a device group)."""
    if _members_set(group, members):
        _touch(group)
    return group


@transaction.atomic
def group_members_add(*, group: Group, members: Iterable[Member]) -> Group:
    users, devices = _split_members(group, members)
    if group.kind == GroupKind.USER:
        new: set[int] = {u.pk for u in users} - set(group.users.values_list("pk", flat=True))
        group.users.add(*users)
    else:
        new = {d.pk for d in devices} - set(group.devices.values_list("pk", flat=True))
        group.devices.add(*devices)
    if new:
        _touch(group)
    return group


@transaction.atomic
def group_members_remove(*, group: Group, members: Iterable[Member]) -> Group:
    """Remove members; those that are not members are ignored, those of the wrong kind are refused."""
    users, devices = _split_members(group, members)
    if group.kind == GroupKind.USER:
        gone = group.users.filter(pk__in=[u.pk for u in users]).exists()
        group.users.remove(*users)
    else:
        gone = group.devices.filter(pk__in=[d.pk for d in devices]).exists()
        group.devices.remove(*devices)
    if gone:
        _touch(group)
    return group


@transaction.atomic
def group_delete(*, group: Group) -> None:
    _delete(group)


# --- imports -----------------------------------------------------------------------------------------

_BATCH: Final = 500  # external_ids per query, well under SQLite's variable limit


def _error_dict(exc: ValidationError) -> dict[str, list[str]]:
    if not hasattr(exc, "error_dict"):
        return {NON_FIELD_ERRORS: list(exc.messages)}
    return {
        (NON_FIELD_ERRORS if name == DJANGO_NON_FIELD_ERRORS else name): messages
        for name, messages in exc.message_dict.items()
    }


def _apply_row(
    result: ImportResult, kind: ImportKind, row: ValidRow[Any], apply: Callable[[], _Outcome]
) -> None:
    """Apply one row in its own savepoint: a failing row is rolled back and reported, the others go on."""
    counts = result.counts_for(kind)
    try:
        with transaction.atomic():
            outcome = apply()
    except ValidationError as exc:
        errors = _error_dict(exc)
    except ApplicationError as exc:
        errors = {str(exc.extra.get("field", NON_FIELD_ERRORS)): [exc.message]}
    except IntegrityError as exc:  # a concurrent writer took a unique value between check and insert
        errors = {NON_FIELD_ERRORS: [f"The database refused the row: {exc}"]}
    else:
        setattr(counts, outcome, getattr(counts, outcome) + 1)
        return
    counts.failed += 1
    result.errors.append(RowError(kind, row.number, row.external_id, errors))


def _record_invalid(result: ImportResult, kind: ImportKind, validation: RowsValidation[Any]) -> None:
    result.counts_for(kind).failed += len(validation.errors)
    result.errors.extend(validation.errors)


def _existing(model: type[ModelT], rows: Sequence[ValidRow[Any]]) -> dict[str, ModelT]:
    found: dict[str, ModelT] = {}
    external_ids = [row.external_id for row in rows]
    for start in range(0, len(external_ids), _BATCH):
        found.update(model.objects.in_bulk(external_ids[start : start + _BATCH], field_name="external_id"))
    return found


def _import_user(row: ValidRow[UserRow], existing: Mapping[str, DirectoryUser]) -> _Outcome:
    user = existing.get(row.external_id)
    if user is None:
        _create(DirectoryUser, row.data)
        return "created"
    changed = _assign(user, row.data, USER_FIELDS)
    _save_changes(user, changed)
    return "updated" if changed else "unchanged"


def _import_device(
    row: ValidRow[DeviceRow], existing: Mapping[str, Device], users: Mapping[str, DirectoryUser]
) -> _Outcome:
    data: dict[str, Any] = dict(row.data)
    reference = data.get("primary_user")
    if reference is not None:
        data["primary_user"] = users.get(reference)
        if data["primary_user"] is None:
            raise ValidationError({"primary_user": [f"No user has the external_id or UPN {reference!r}."]})
    device = existing.get(row.external_id)
    if device is None:
        _create(Device, data)
        return "created"
    changed = _device_assign(device, data)
    _save_changes(device, changed)
    return "updated" if changed else "unchanged"


def _group_row_kind(row: ValidRow[GroupRow], existing: Mapping[str, Group]) -> str | None:
    group = existing.get(row.external_id)
    return row.data.get("kind") or (group.kind if group is not None else None)


def _import_group(
    row: ValidRow[GroupRow],
    existing: Mapping[str, Group],
    users: Mapping[str, DirectoryUser],
    devices: Mapping[str, Device],
) -> _Outcome:
    data: dict[str, Any] = dict(row.data)
    references: list[str] | None = data.pop("members", None)
    group = existing.get(row.external_id)
    members: list[Member] | None = None
    if references is not None:
        kind = _group_row_kind(row, existing)
        if kind is None:
            raise ValidationError({"kind": ["This field cannot be blank."]})
        lookup: Mapping[str, Member] = users if kind == GroupKind.USER else devices
        unknown = [reference for reference in references if reference not in lookup]
        if unknown:
            what = "users" if kind == GroupKind.USER else "devices"
            raise ValidationError({"members": [f"Unknown {what}: {', '.join(unknown)}."]})
        members = list(dict.fromkeys(lookup[reference] for reference in references))
    if group is None:
        group = _create(Group, data)
        _members_set(group, members or ())
        return "created"
    return "updated" if _group_update(group, data, members) else "unchanged"


def _import_users(rows: Sequence[SourceRow], result: ImportResult) -> None:
    validation = validate_user_rows(rows)
    _record_invalid(result, "users", validation)
    existing = _existing(DirectoryUser, validation.valid)
    for row in validation.valid:
        _apply_row(result, "users", row, partial(_import_user, row, existing))


def _import_devices(rows: Sequence[SourceRow], result: ImportResult) -> None:
    validation = validate_device_rows(rows)
    _record_invalid(result, "devices", validation)
    existing = _existing(Device, validation.valid)
    users = user_resolve_many(
        references={ref for row in validation.valid if (ref := row.data.get("primary_user"))}
    )
    for row in validation.valid:
        _apply_row(result, "devices", row, partial(_import_device, row, existing, users))


def _import_groups(rows: Sequence[SourceRow], result: ImportResult) -> None:
    validation = validate_group_rows(rows)
    _record_invalid(result, "groups", validation)
    existing = _existing(Group, validation.valid)
    user_refs: set[str] = set()
    device_refs: set[str] = set()
    for row in validation.valid:
        refs = user_refs if _group_row_kind(row, existing) == GroupKind.USER else device_refs
        refs.update(row.data.get("members", []))
    users = user_resolve_many(references=user_refs)
    devices = device_resolve_many(references=device_refs)
    for row in validation.valid:
        _apply_row(result, "groups", row, partial(_import_group, row, existing, users, devices))


_IMPORTERS: Final[Mapping[ImportKind, Callable[[Sequence[SourceRow], ImportResult], None]]] = {
    "users": _import_users,
    "devices": _import_devices,
    "groups": _import_groups,
}

ImportRows: TypeAlias = Sequence[Mapping[str, Any] | SourceRow]


def directory_import(*, kind: ImportKind, rows: ImportRows, dry_run: bool = False) -> ImportResult:
    """Create or update ``kind`` objects from ``rows``, by ``external_id``; see :mod:`directory.imports`.

    A row that fails is rolled back alone and reported in ``ImportResult.errors``; all other rows are
    applied in one transaction, or, with ``dry_run``, rolled back after counting what they would do.
    Raises ``ImportFileInvalid`` (nothing applied) for unknown columns or a missing external_id column.
    """
    return directory_import_combined(sections={kind: rows}, dry_run=dry_run)


def directory_import_combined(
    *, sections: Mapping[ImportKind, ImportRows], dry_run: bool = False
) -> ImportResult:
    """:func:`directory_import` for several kinds at once, applied as users, devices, then groups."""
    unknown = set(sections) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown import kinds: {', '.join(sorted(unknown))}")
    prepared = {kind: source_rows(kind, sections[kind]) for kind in KINDS if kind in sections}
    result = ImportResult(dry_run=dry_run)
    with transaction.atomic():
        for kind, rows in prepared.items():
            result.counts_for(kind)
            _IMPORTERS[kind](rows, result)
        if dry_run:
            transaction.set_rollback(True)
    result.errors.sort(key=lambda error: (KINDS.index(error.kind), error.row))
    return result


def directory_import_file(
    *,
    content: bytes | str,
    file_format: ImportFormat | Literal["auto"] = "auto",
    kind: ImportKind | Literal["auto"] = "auto",
    filename: str | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Read a CSV or JSON import file (see :func:`directory.imports.parse_file`) and import it."""
    sections = parse_file(content, file_format=file_format, kind=kind, filename=filename)
    return directory_import_combined(sections=sections, dry_run=dry_run)
