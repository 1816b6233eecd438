import io

import pytest

from django.core.management import call_command
from django.core.management.base import CommandError

from directory.models import DirectoryUser

pytestmark = pytest.mark.django_db

GOOD = "external_id,user_principal_name\nu1,jane@corp.example.com\nu2,joe@corp.example.com\n"


def _run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("directory_import", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_imports_a_file_and_prints_the_counts(tmp_path):
    path = tmp_path / "users.csv"
    path.write_text(GOOD)
    out, err = _run(str(path))
    assert out == "users: 2 created, 0 updated, 0 unchanged, 0 failed\n"
    assert err == ""
    assert DirectoryUser.objects.count() == 2


def test_failed_rows_are_printed_and_exit_with_1(tmp_path):
    path = tmp_path / "users.csv"
    path.write_text(GOOD + "u3,not a upn\n")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match=r"1 row\(s\) failed") as exc_info:
        call_command("directory_import", str(path), stdout=out, stderr=err)
    assert exc_info.value.returncode == 1
    assert out.getvalue() == "users: 2 created, 0 updated, 0 unchanged, 1 failed\n"
    assert err.getvalue() == (
        "users row 4 (u3): user_principal_name: Enter a user principal name such as jane@corp.example.com.\n"
    )
    assert DirectoryUser.objects.count() == 2


def test_dry_run_writes_nothing(tmp_path):
    path = tmp_path / "export.json"
    path.write_text('{"users": [{"external_id": "u1", "user_principal_name": "jane@corp.example.com"}]}')
    out, _ = _run(str(path), "--dry-run")
    assert out == "dry run, nothing written: users: 1 created, 0 updated, 0 unchanged, 0 failed\n"
    assert not DirectoryUser.objects.exists()


def test_kind_and_format_options_and_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"external_id\nu1\n")))
    with pytest.raises(CommandError) as exc_info:
        call_command(
            "directory_import",
            "-",
            "--kind",
            "users",
            "--format",
            "csv",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert exc_info.value.returncode == 1  # u1 has no UPN: a row error, so the kind was taken from --kind


def test_file_problems_exit_with_2(tmp_path):
    path = tmp_path / "users.csv"
    path.write_text("external_id,colour\nu1,red\n")
    with pytest.raises(
        CommandError, match=r"unknown columns for users: colour \(known: .*\); nothing imported"
    ) as exc_info:
        _run(str(path), "--kind", "users")
    assert exc_info.value.returncode == 2
    with pytest.raises(CommandError, match="cannot read") as exc_info:
        _run(str(tmp_path / "missing.csv"))
    assert exc_info.value.returncode == 2
