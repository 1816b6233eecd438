import json

import pytest

from directory.exceptions import ImportFileInvalid
from directory.models import Device, DeviceState, DirectoryUser, Group, GroupKind, Platform
from directory.services.imports import directory_import, directory_import_file
from directory.tests.factories import DeviceFactory, DirectoryUserFactory, GroupFactory

pytestmark = pytest.mark.django_db

USERS_CSV = (
    "external_id,user_principal_name,display_name,email,department,enabled,on_premises_security_identifier\n"
    "u1,jane@corp.example.com,Jane Doe,jane@corp.example.com,Finance,true,"
    "S-1-5-21-1004336348-1177238915-682003330-1001\n"
    "u2,joe@corp.example.com,Joe Bloggs,joe@corp.example.com,Sales,no,\n"
)

COMBINED = {
    "users": [
        {"external_id": "u1", "user_principal_name": "jane@corp.example.com", "display_name": "Jane"},
        {"external_id": "u2", "user_principal_name": "joe@corp.example.com"},
    ],
    "devices": [
        {"external_id": "d1", "name": "JANE-PC", "platform": "Windows 10 and later", "primary_user": "u1",
         "wifi_mac": "001122AABBCC", "domain_joined": True, "fqdn": "jane-pc.corp.example.com"},
        {"external_id": "d2", "name": "Joe's iPhone", "platform": "iOS",
         "primary_user": "JOE@corp.example.com", "imei": 356938035643809},
    ],
    "groups": [
        {"external_id": "g1", "name": "All staff", "kind": "user", "members": ["u1", "joe@corp.example.com"]},
        {"external_id": "g2", "name": "Corporate PCs", "kind": "Device group", "members": "d1"},
    ],
}  # fmt: skip


def _counts(result):
    return result.created, result.updated, result.unchanged, result.failed


def test_csv_users_are_created_with_typed_values():
    result = directory_import_file(content=USERS_CSV.encode(), filename="users.csv")
    assert _counts(result) == (2, 0, 0, 0)
    assert result.errors == []
    jane = DirectoryUser.objects.get(external_id="u1")
    assert (jane.user_principal_name, jane.department, jane.enabled) == (
        "jane@corp.example.com",
        "Finance",
        True,
    )
    assert jane.on_premises_security_identifier == "S-1-5-21-1004336348-1177238915-682003330-1001"
    assert DirectoryUser.objects.get(external_id="u2").enabled is False


def test_importing_the_same_file_twice_creates_nothing_the_second_time():
    directory_import_file(content=USERS_CSV, filename="users.csv")
    before = {u.external_id: u.updated_at for u in DirectoryUser.objects.all()}
    result = directory_import_file(content=USERS_CSV, filename="users.csv")
    assert _counts(result) == (0, 0, 2, 0)
    assert result.as_dict()["by_kind"] == {"users": {"created": 0, "updated": 0, "unchanged": 2, "failed": 0}}
    assert {u.external_id: u.updated_at for u in DirectoryUser.objects.all()} == before


def test_an_update_changes_only_the_changed_fields():
    user = DirectoryUserFactory.create(
        external_id="u1", user_principal_name="jane@corp.example.com", display_name="Jane",
        department="Finance", on_premises_sam_account_name="jdoe",
    )  # fmt: skip
    untouched = DirectoryUserFactory.create(external_id="u2", user_principal_name="joe@corp.example.com")
    untouched_at = untouched.updated_at
    result = directory_import(
        kind="users",
        rows=[
            {"external_id": "u1", "display_name": "Jane Doe", "department": "Finance"},
            {"external_id": "u2", "user_principal_name": "joe@corp.example.com"},
        ],
    )
    assert _counts(result) == (0, 1, 1, 0)
    user.refresh_from_db()
    assert (user.display_name, user.department, user.on_premises_sam_account_name) == (
        "Jane Doe",
        "Finance",
        "jdoe",
    )
    assert user.user_principal_name == "jane@corp.example.com"  # not in the row: left alone
    assert DirectoryUser.objects.get(pk=untouched.pk).updated_at == untouched_at


def test_bad_rows_are_reported_with_their_line_and_good_rows_applied():
    DirectoryUserFactory.create(external_id="existing", user_principal_name="taken@corp.example.com")
    content = (
        "external_id,user_principal_name,email,enabled\n"
        "u1,jane@corp.example.com,jane@corp.example.com,yes\n"
        "u2,joe@corp.example.com,not-an-email,perhaps\n"
        "u3,taken@corp.example.com,,\n"  # the UPN belongs to another user: found by the database checks
        ",nobody@corp.example.com,,\n"
        "u5,max@corp.example.com,,0\n"
    )
    result = directory_import_file(content=content)
    assert _counts(result) == (2, 0, 0, 3)
    assert [error.as_dict() for error in result.errors] == [
        {
            "kind": "users",
            "row": 3,
            "external_id": "u2",
            "errors": {
                "email": ["Enter a valid email address."],
                "enabled": ["'perhaps' is not a boolean; use true/false, yes/no or 1/0."],
            },
        },
        {
            "kind": "users",
            "row": 4,
            "external_id": "u3",
            "errors": {"user_principal_name": ["User with this User principal name already exists."]},
        },
        {
            "kind": "users",
            "row": 5,
            "external_id": None,
            "errors": {"external_id": ["This field is required."]},
        },
    ]
    assert set(DirectoryUser.objects.values_list("external_id", flat=True)) == {"existing", "u1", "u5"}


def test_dry_run_counts_but_writes_nothing():
    DirectoryUserFactory.create(external_id="u2", user_principal_name="old@corp.example.com")
    result = directory_import_file(content=json.dumps(COMBINED), dry_run=True)
    assert result.dry_run is True
    assert result.errors == []
    assert _counts(result) == (5, 1, 0, 0)
    assert list(DirectoryUser.objects.values_list("external_id", "user_principal_name")) == [
        ("u2", "old@corp.example.com")
    ]
    assert not Device.objects.exists()
    assert not Group.objects.exists()


def test_unknown_column_is_a_file_error_and_nothing_is_written():
    with pytest.raises(ImportFileInvalid) as exc_info:
        directory_import_file(
            content="external_id,user_principal_name,colour\nu1,jane@corp.example.com,red\n"
        )
    assert exc_info.value.extra["unknown_columns"] == ["colour"]
    assert not DirectoryUser.objects.exists()


def test_combined_json_links_devices_and_groups_to_rows_of_the_same_file():
    result = directory_import_file(content=json.dumps(COMBINED), filename="export.json")
    assert result.as_dict()["by_kind"] == {
        "users": {"created": 2, "updated": 0, "unchanged": 0, "failed": 0},
        "devices": {"created": 2, "updated": 0, "unchanged": 0, "failed": 0},
        "groups": {"created": 2, "updated": 0, "unchanged": 0, "failed": 0},
    }
    pc = Device.objects.select_related("primary_user").get(external_id="d1")
    assert (pc.platform, pc.primary_user_id, pc.wifi_mac, pc.domain_joined) == (
        Platform.WINDOWS_10, DirectoryUser.objects.get(external_id="u1").pk, "001122AABBCC", True,
    )  # fmt: skip
    phone = Device.objects.get(external_id="d2")
    assert (phone.platform, phone.primary_user_id, phone.imei) == (
        Platform.IOS,
        DirectoryUser.objects.get(external_id="u2").pk,
        "356938035643809",
    )
    assert set(Group.objects.get(external_id="g1").users.values_list("external_id", flat=True)) == {
        "u1",
        "u2",
    }
    assert list(Group.objects.get(external_id="g2").devices.values_list("external_id", flat=True)) == ["d1"]

    again = directory_import_file(content=json.dumps(COMBINED), filename="export.json")
    assert _counts(again) == (0, 0, 6, 0)


def test_group_membership_change_counts_as_update():
    directory_import_file(content=json.dumps(COMBINED))
    result = directory_import(kind="groups", rows=[{"external_id": "g1", "members": "u1"}])
    assert _counts(result) == (0, 1, 0, 0)
    assert list(Group.objects.get(external_id="g1").users.values_list("external_id", flat=True)) == ["u1"]


def test_group_kind_change_with_new_members_in_one_row():
    device = DeviceFactory.create(external_id="d1")
    GroupFactory.create(external_id="g1", kind=GroupKind.USER, members=[DirectoryUserFactory.create()])
    result = directory_import(kind="groups", rows=[{"external_id": "g1", "kind": "device"}])
    assert result.errors[0].errors == {"kind": ["a device group cannot contain users"]}
    result = directory_import(kind="groups", rows=[{"external_id": "g1", "kind": "device", "members": "d1"}])
    assert _counts(result) == (0, 1, 0, 0)
    group = Group.objects.get(external_id="g1")
    assert (group.kind, list(group.devices.all()), group.users.count()) == (GroupKind.DEVICE, [device], 0)


def test_unknown_references_fail_their_row():
    DeviceFactory.create(external_id="d1")
    result = directory_import_file(
        content=json.dumps(
            {
                "devices": [{"external_id": "d9", "name": "X", "platform": "ios", "primary_user": "ghost"}],
                "groups": [
                    {"external_id": "g1", "name": "Staff", "kind": "user", "members": ["d1"]},
                    {"external_id": "g2", "name": "No kind", "members": ["d1"]},
                ],
            }
        )
    )
    assert [(e.kind, e.row, e.errors) for e in result.errors] == [
        ("devices", 1, {"primary_user": ["No user has the external_id or UPN 'ghost'."]}),
        ("groups", 1, {"members": ["Unknown users: d1."]}),
        ("groups", 2, {"kind": ["This field cannot be blank."]}),
    ]
    assert not Group.objects.exists()
    assert not Device.objects.filter(external_id="d9").exists()


def test_new_device_needs_name_and_platform():
    result = directory_import(kind="devices", rows=[{"external_id": "d1", "serial_number": "SN1"}])
    assert result.errors[0].errors == {
        "name": ["This field cannot be blank."],
        "platform": ["This field cannot be blank."],
    }


def test_state_is_set_on_creation_but_not_changed_by_an_import():
    DeviceFactory.create(external_id="d1", state=DeviceState.ACTIVE)
    content = "external_id,name,platform,state\nd1,PC-1,windows_10,Retired\nd2,PC-2,windows_10,Retired\n"
    result = directory_import_file(content=content)
    assert _counts(result) == (1, 0, 0, 1)
    assert result.errors[0].row == 2
    assert list(result.errors[0].errors) == ["state"]
    assert "profiles services" in result.errors[0].errors["state"][0]
    assert Device.objects.get(external_id="d1").state == DeviceState.ACTIVE
    assert Device.objects.get(external_id="d2").state == DeviceState.RETIRED


def test_empty_cells_clear_text_but_keep_booleans():
    DirectoryUserFactory.create(external_id="u1", department="Finance", enabled=False)
    result = directory_import_file(content="external_id,department,enabled\nu1,,\n")
    assert _counts(result) == (0, 1, 0, 0)
    user = DirectoryUser.objects.get(external_id="u1")
    assert (user.department, user.enabled) == ("", False)


def test_a_row_failing_after_its_members_changed_is_rolled_back_alone():
    first, second = DirectoryUserFactory.create_batch(2)
    GroupFactory.create(external_id="g1", name="Staff", kind=GroupKind.USER, members=[first])
    result = directory_import(
        kind="groups",
        rows=[
            {"external_id": "g1", "name": "", "members": second.external_id},  # members first, then the name
            {"external_id": "g2", "name": "Others", "kind": "user", "members": second.external_id},
        ],
    )
    assert _counts(result) == (1, 0, 0, 1)
    assert result.errors[0].errors == {"name": ["This field cannot be blank."]}
    group = Group.objects.get(external_id="g1")
    assert (group.name, list(group.users.all())) == ("Staff", [first])
    assert list(Group.objects.get(external_id="g2").users.all()) == [second]
