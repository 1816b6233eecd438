"""Reading import files (CSV, JSON) and checking their columns, without a database."""

import json

import pytest

from directory.exceptions import ImportFileInvalid
from directory.imports.files import detect_kind, parse_file, source_rows


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


def test_empty_json_list_imports_nothing():
    assert parse_file("[]") == {}
    assert parse_file("[]", kind="users") == {}
    assert parse_file('{"users": []}') == {}


def test_source_rows_numbers_plain_mappings_and_checks_columns():
    rows = source_rows("users", [{"External_ID": "u1"}, {"external_id": "u2"}])
    assert [(row.number, dict(row.values)) for row in rows] == [
        (1, {"external_id": "u1"}),
        (2, {"external_id": "u2"}),
    ]
    with pytest.raises(ImportFileInvalid, match="unknown columns for users: name"):
        source_rows("users", [{"external_id": "u1", "name": "x"}])
