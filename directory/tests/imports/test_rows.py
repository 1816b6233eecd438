"""Validating import rows with the row serializers, without a database."""

import pytest

from directory.imports.files import parse_file
from directory.imports.rows import SourceRow, validate_rows


def _rows(**values):
    return [SourceRow(int(number), row) for number, row in values.items()]


def test_csv_with_a_row_longer_than_the_header_reports_the_row():
    sections = parse_file("external_id,user_principal_name\nu1,jane@corp.example.com,extra\n")
    validation = validate_rows("users", sections["users"])
    assert validation.valid == []
    assert [error.as_dict() for error in validation.errors] == [
        {
            "kind": "users",
            "row": 2,
            "external_id": "u1",
            "errors": {"non_field_errors": ["The row has 3 values but the header has 2 columns."]},
        }
    ]


def test_json_item_that_is_not_an_object_is_a_row_error():
    rows = parse_file('[{"external_id": "u1"}, 42]', kind="users")["users"]
    validation = validate_rows("users", rows)
    assert [row.external_id for row in validation.valid] == ["u1"]
    assert validation.errors[0].row == 2
    assert validation.errors[0].errors == {"non_field_errors": ["Each item of the list must be an object."]}


def test_user_values_are_converted_and_checked():
    validation = validate_rows(
        "users",
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
        ),
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
    validation = validate_rows("devices", _rows(**{"1": {"external_id": "d1", "platform": given}}))
    assert validation.valid[0].data["platform"] == platform


def test_device_values_are_checked():
    validation = validate_rows(
        "devices",
        _rows(
            **{
                "1": {"external_id": "d1", "platform": "Windows", "state": "Gone", "wifi_mac": "00:11"},
                "2": {"external_id": "d2", "state": "Retired", "domain_joined": "yes", "primary_user": ""},
            }
        ),
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
    validation = validate_rows(
        "groups",
        _rows(
            **{
                "2": {"external_id": "g1", "kind": "User group", "members": " u1; u2;;u1 "},
                "3": {"external_id": "g2", "kind": "devices", "members": ["d1", "d2"]},
                "4": {"external_id": "g3", "kind": "device", "members": ""},
                "5": {"external_id": "g4", "kind": "computers"},
            }
        ),
    )
    assert [row.data for row in validation.valid] == [
        {"external_id": "g1", "kind": "user", "members": ["u1", "u2"]},
        {"external_id": "g2", "kind": "device", "members": ["d1", "d2"]},
        {"external_id": "g3", "kind": "device", "members": []},
    ]
    assert validation.errors[0].row == 5
    assert set(validation.errors[0].errors) == {"kind"}


def test_every_row_needs_an_external_id_once():
    validation = validate_rows(
        "users",
        _rows(
            **{
                "2": {"external_id": "u1"},
                "3": {"external_id": ""},
                "4": {"external_id": "u1"},
                "5": {"email": ""},
            }
        ),
    )
    assert [row.number for row in validation.valid] == [2]
    assert [(e.row, e.external_id, e.errors) for e in validation.errors] == [
        (3, None, {"external_id": ["This field is required."]}),
        (4, "u1", {"external_id": ["Duplicate: row 2 has the same external_id."]}),
        (5, None, {"external_id": ["This field is required."]}),
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"nested": "object"}, "Enter text, not a JSON object or list."),
        (["a", "list"], "Enter text, not a JSON object or list."),
        (1.5, "Enter text."),
        ("Fi\x00nance", "Remove U+0000 at position 3"),
        ("jd\uffffoe", "Remove U+FFFF at position 3"),
        ("lone \ud800", "Remove U+D800 at position 6"),
        ("two\nlines", "Remove U+000A at position 4"),
    ],
)
def test_a_cell_that_is_not_single_line_text_is_a_row_error(value, message):
    rows = _rows(
        **{"1": {"external_id": "u1", "user_principal_name": "jane@corp.example.com", "department": value}}
    )
    validation = validate_rows("users", rows)
    assert validation.valid == []
    (error,) = validation.errors
    assert (error.external_id, list(error.errors)) == ("u1", ["department"])
    assert error.errors["department"][0].startswith(message)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("external_id", "u\r\n1"),
        ("external_id", {"id": 1}),
        ("enabled", {"yes": True}),
        ("enabled", "tr\x00ue"),
    ],
)
def test_keys_and_booleans_refuse_what_is_not_text(column, value):
    row = {"external_id": "u1", "user_principal_name": "jane@corp.example.com", column: value}
    (error,) = validate_rows("users", _rows(**{"1": row})).errors
    assert list(error.errors) == [column]


def test_references_and_members_refuse_what_is_not_text():
    rows = _rows(
        **{
            "1": {"external_id": "d1", "name": "PC", "platform": "ios", "primary_user": "jane\x00"},
            "2": {"external_id": "d2", "name": "PC", "platform": "ios", "primary_user": ["jane"]},
        }
    )
    assert [list(e.errors) for e in validate_rows("devices", rows).errors] == [
        ["primary_user"],
        ["primary_user"],
    ]
    rows = _rows(
        **{
            "1": {"external_id": "g1", "name": "G", "kind": "user", "members": ["u1", {"external_id": "u2"}]},
            "2": {"external_id": "g2", "name": "G", "kind": "user", "members": ["u1", ["u2"]]},
            "3": {"external_id": "g3", "name": "G", "kind": "user", "members": "u1;u\ufffe2"},
            "4": {"external_id": "g4", "name": "G", "description": "two\nlines\tare fine", "kind": "user"},
        }
    )
    validation = validate_rows("groups", rows)
    assert [(e.row, list(e.errors)) for e in validation.errors] == [
        (1, ["members"]),
        (2, ["members"]),
        (3, ["members"]),
    ]
    assert [row.data["description"] for row in validation.valid] == ["two\nlines\tare fine"]
