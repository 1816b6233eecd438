"""Reading and validating import files, without a database."""

import json

import pytest

from directory.exceptions import ImportFileInvalid
from directory.imports import (
    SourceRow,
    detect_kind,
    parse_file,
    source_rows,
    validate_device_rows,
    validate_group_rows,
    validate_user_rows,
)


def _rows(**values):
    return [SourceRow(int(number), row) for number, row in values.items()]


def test_csv_rows_are_numbered_by_line_and_columns_normalised():
    content = (
        "\ufeff External_ID ,user_principal_name,display_name\r\n"
        "u1,jane@corp.example.com,Jane\r\n"
        "\r\n"
        'u2,joe@corp.example.com,"Joe\r\nSmith"\r\n'
        "u3,max@corp.example.com,Max\r\n"
    ).encode()
    sections = parse_file(content, filename="users.csv")
    assert list(sections) == ["users"]
    rows = sections["users"]
    assert [row.number for row in rows] == [2, 4, 6]
    assert rows[0].values == {
        "external_id": "u1",
        "user_principal_name": "jane@corp.example.com",
        "display_name": "Jane",
    }
    assert rows[1].values["display_name"] == "Joe\r\nSmith"


def test_csv_with_a_row_longer_than_the_header_reports_the_row():
    sections = parse_file("external_id,user_principal_name\nu1,jane@corp.example.com,extra\n")
    validation = validate_user_rows(sections["users"])
    assert validation.valid == []
    assert [error.as_dict() for error in validation.errors] == [
        {
            "kind": "users",
            "row": 2,
            "external_id": "u1",
            "errors": {"non_field_errors": ["The row has 3 values but the header has 2 columns."]},
        }
    ]


def test_csv_short_row_leaves_missing_columns_out():
    rows = parse_file("external_id,user_principal_name,department\nu1,jane@corp.example.com\n")["users"]
    assert rows[0].values == {"external_id": "u1", "user_principal_name": "jane@corp.example.com"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the CSV file is empty"),
        ("external_id,upn,user_principal_name\n", "unknown columns for users: upn"),
        ("external_id,,name\n", "column 2 of the header row has no name"),
        ("external_id,name,Name\n", "duplicate columns in the header row: name"),
        ("user_principal_name,email\n", "the users rows have no external_id column"),
        (
            "external_id,name\n",
            "cannot tell from the columns (external_id, name) whether the file holds devices or groups",
        ),
        ('external_id,name\nd1,"unterminated\n', "not valid CSV"),
    ],
)
def test_csv_file_level_problems(content, message):
    with pytest.raises(ImportFileInvalid) as exc_info:
        parse_file(content, file_format="csv")
    assert message in exc_info.value.message


def test_unknown_columns_are_listed_once_with_the_known_ones():
    with pytest.raises(ImportFileInvalid) as exc_info:
        parse_file(
            "external_id,name,platform,colour,owner\nd1,PC,ios,red,x\nd2,PC,ios,blue,y\n", kind="devices"
        )
    assert exc_info.value.code == "import_file_invalid"
    assert exc_info.value.extra["unknown_columns"] == ["colour", "owner"]
    assert "primary_user" in exc_info.value.extra["known_columns"]


def test_not_utf8_is_a_file_problem():
    with pytest.raises(ImportFileInvalid, match="not UTF-8"):
        parse_file(b"external_id,name\n\xff\xfe,x\n")


@pytest.mark.parametrize(
    ("columns", "kind"),
    [
        ({"external_id", "user_principal_name"}, "users"),
        ({"external_id", "enabled"}, "users"),
        ({"external_id", "name", "platform"}, "devices"),
        ({"external_id", "name", "kind", "members"}, "groups"),
    ],
)
def test_kind_is_told_by_the_columns(columns, kind):
    assert detect_kind(columns) == kind


def test_json_list_and_format_detection_by_content():
    content = json.dumps([{"external_id": "d1", "name": "PC-1", "platform": "iOS"}, {"external_id": "d2"}])
    sections = parse_file(content)
    assert [row.number for row in sections["devices"]] == [1, 2]


def test_json_combined_file_keeps_its_sections():
    content = json.dumps(
        {"groups": [{"external_id": "g1", "kind": "user"}], "users": [{"external_id": "u1"}]}
    )
    sections = parse_file(content.encode())
    assert list(sections) == ["users", "groups"]  # applied in dependency order
    assert parse_file(content, kind="groups").keys() == {"groups"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[{", "not valid JSON"),
        ('"users"', "a JSON import file is a list of objects"),
        ('{"users": [], "computers": []}', "unknown: computers"),
        ('{"users": {"external_id": "u1"}}', '"users" must be a list of objects'),
        ('[{"external_id": "u1", "upn": "x"}]', "unknown columns for users: upn"),
    ],
)
def test_json_file_level_problems(content, message):
    with pytest.raises(ImportFileInvalid) as exc_info:
        parse_file(content, file_format="json", kind="users" if "upn" in content else "auto")
    assert message in exc_info.value.message


def test_json_item_that_is_not_an_object_is_a_row_error():
    rows = parse_file('[{"external_id": "u1"}, 42]', kind="users")["users"]
    validation = validate_user_rows(rows)
    assert [row.external_id for row in validation.valid] == ["u1"]
    assert validation.errors[0].row == 2
    assert validation.errors[0].errors == {"non_field_errors": ["Each item of the list must be an object."]}


def test_empty_json_list_imports_nothing():
    assert parse_file("[]") == {}
    assert parse_file("[]", kind="users") == {}
    assert parse_file('{"users": []}') == {}


def test_user_values_are_converted_and_checked():
    validation = validate_user_rows(
        _rows(
            **{
                "2": {"external_id": " u1 ", "user_principal_name": "jane@corp.example.com", "enabled": "No"},
                "3": {"external_id": "u2", "enabled": "maybe", "email": "not-an-address"},
                "4": {
                    "external_id": "u3",
                    "on_premises_security_identifier": "S-1-5",
                    "user_principal_name": "jane",
                },
                "5": {"external_id": "u4", "enabled": ""},
                "6": {"external_id": 17, "enabled": 1, "department": None},
            }
        )
    )
    assert [(row.number, row.data) for row in validation.valid] == [
        (2, {"external_id": "u1", "user_principal_name": "jane@corp.example.com", "enabled": False}),
        (5, {"external_id": "u4"}),  # an empty boolean cell is "not given"
        (6, {"external_id": "17", "enabled": True, "department": ""}),
    ]
    errors = {error.row: error.errors for error in validation.errors}
    assert errors[3] == {
        "enabled": ["'maybe' is not a boolean; use true/false, yes/no or 1/0."],
        "email": ["Enter a valid email address."],
    }
    assert set(errors[4]) == {"on_premises_security_identifier", "user_principal_name"}


@pytest.mark.parametrize(
    ("given", "platform"),
    [
        ("Windows 10 and later", "windows_10"),
        ("windows_10", "windows_10"),
        ("WINDOWS 8.1 AND LATER", "windows_81"),
        ("iOS", "ios"),
        ("ios", "ios"),
        ("macOS", "macos"),
        ("Android Enterprise", "android_enterprise"),
        ("Windows Phone 8.1", "windows_phone_81"),
    ],
)
def test_platform_accepts_value_or_label_in_any_case(given, platform):
    validation = validate_device_rows(_rows(**{"1": {"external_id": "d1", "platform": given}}))
    assert validation.valid[0].data["platform"] == platform


def test_device_values_are_checked():
    validation = validate_device_rows(
        _rows(
            **{
                "1": {"external_id": "d1", "platform": "Windows", "state": "Gone", "wifi_mac": "00:11"},
                "2": {"external_id": "d2", "state": "Retired", "domain_joined": "yes", "primary_user": ""},
            }
        )
    )
    assert validation.valid[0].data == {
        "external_id": "d2",
        "state": "retired",
        "domain_joined": True,
        "primary_user": None,
    }
    errors = validation.errors[0].errors
    assert set(errors) == {"platform", "state", "wifi_mac"}
    assert errors["platform"][0].startswith("'Windows' is not one of: android (Android), ")


def test_group_members_from_a_csv_cell_or_a_json_list():
    validation = validate_group_rows(
        _rows(
            **{
                "2": {"external_id": "g1", "kind": "User group", "members": " u1; u2;;u1 "},
                "3": {"external_id": "g2", "kind": "devices", "members": ["d1", "d2"]},
                "4": {"external_id": "g3", "kind": "device", "members": ""},
                "5": {"external_id": "g4", "kind": "computers"},
            }
        )
    )
    assert [row.data for row in validation.valid] == [
        {"external_id": "g1", "kind": "user", "members": ["u1", "u2"]},
        {"external_id": "g2", "kind": "device", "members": ["d1", "d2"]},
        {"external_id": "g3", "kind": "device", "members": []},
    ]
    assert validation.errors[0].row == 5
    assert set(validation.errors[0].errors) == {"kind"}


def test_every_row_needs_an_external_id_once():
    validation = validate_user_rows(
        _rows(
            **{
                "2": {"external_id": "u1"},
                "3": {"external_id": ""},
                "4": {"external_id": "u1"},
                "5": {"email": ""},
            }
        )
    )
    assert [row.number for row in validation.valid] == [2]
    assert [(e.row, e.external_id, e.errors) for e in validation.errors] == [
        (3, None, {"external_id": ["This field is required."]}),
        (4, "u1", {"external_id": ["Duplicate: row 2 has the same external_id."]}),
        (5, None, {"external_id": ["This field is required."]}),
    ]


def test_source_rows_numbers_plain_mappings_and_checks_columns():
    rows = source_rows("users", [{"External_ID": "u1"}, {"external_id": "u2"}])
    assert [(row.number, dict(row.values)) for row in rows] == [
        (1, {"external_id": "u1"}),
        (2, {"external_id": "u2"}),
    ]
    with pytest.raises(ImportFileInvalid, match="unknown columns for users: name"):
        source_rows("users", [{"external_id": "u1", "name": "x"}])
