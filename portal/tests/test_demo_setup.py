"""``manage.py demo_setup`` (run by ``./dev serve`` at every start) creates the admin once and never resets a
password the admin changed; it prints the generated password only while it still opens the admin.
(``transactional_db``: the command waits for the CA to issue the RA certificate, which runs on commit.)
"""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest

from django.contrib.auth import get_user_model
from django.core.management import call_command


@pytest.fixture
def data_dir(settings, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path
    return tmp_path


def run() -> str:
    out = io.StringIO()
    call_command("demo_setup", stdout=out)
    return out.getvalue()


def login_line(output: str) -> str:
    (line,) = [line for line in output.splitlines() if line.strip().startswith("Login:")]
    return line.split("Login:", 1)[1].strip()


def test_the_admin_keeps_its_generated_password_across_starts(transactional_db, data_dir):
    first = login_line(run())
    second = login_line(run())

    username, password = first.split(" / ")
    assert first == second
    assert get_user_model().objects.get(username=username).check_password(password)
    stored = data_dir / "secrets" / "demo_admin_password"
    assert stored.read_text(encoding="ascii").strip() == password
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600


def test_a_changed_password_is_not_reset_and_not_printed(transactional_db, data_dir):
    _, generated = login_line(run()).split(" / ")
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("chosen-by-the-admin-1")
    admin.save()

    line = login_line(run())

    admin.refresh_from_db()
    assert admin.check_password("chosen-by-the-admin-1")
    assert generated not in line
    assert "was changed" in line
    assert not (data_dir / "secrets" / "demo_admin_password").exists()  # no stale password on disk
    assert "was changed" in login_line(run())  # and it stays so
    admin.refresh_from_db()
    assert admin.check_password("chosen-by-the-admin-1")
