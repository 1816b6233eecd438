"""The embedded default's data directory (SQLite with its -wal and -shm files, the generated secrets) is the
owner's only: every file 0600, every directory 0700, including what an earlier start left readable.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from portal.env import BASE_DIR, data_dir_make_private

#: Opens the database as the server does (WAL), writes, and lists every mode while it is open.
MODES_WHILE_OPEN = """
import json, os, stat, django
django.setup()
from django.conf import settings
from django.db import connection
from django.contrib.sessions.backends.db import SessionStore
store = SessionStore(); store["x"] = 1; store.save()
connection.ensure_connection()
modes = {}
for root, dirs, files in os.walk(settings.DATA_DIR):
    for name in [*dirs, *files, "."]:
        path = os.path.join(root, name)
        name = os.path.relpath(os.path.normpath(path), settings.DATA_DIR)
        modes[name] = stat.S_IMODE(os.lstat(path).st_mode)
print(json.dumps(modes))
"""


def _embedded_env(data_dir: Path) -> dict[str, str]:
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CERTPORTAL_", "DJANGO_", "CELERY_", "DATABASE_URL", "REDIS_URL"))
    }
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "portal.settings.local",
        "CERTPORTAL_DATA_DIR": str(data_dir),
    }


def _run(args: list[str], data_dir: Path) -> str:
    result = subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=_embedded_env(data_dir),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_serve_setup_leaves_nothing_readable_to_others(tmp_path):
    data = tmp_path / "var"
    # What an earlier version left: a readable directory, database and secret.
    (data / "secrets").mkdir(parents=True)
    data.chmod(0o755)
    (data / "secrets").chmod(0o755)
    (data / "secrets" / "secret_key").write_text("an-old-secret-key-" * 4, encoding="ascii")
    (data / "secrets" / "secret_key").chmod(0o644)
    (data / "db.sqlite3").touch()
    (data / "db.sqlite3").chmod(0o644)

    _run(["manage.py", "migrate", "--noinput", "-v", "0"], data)
    _run(["manage.py", "demo_setup", "--quiet"], data)
    modes = json.loads(_run(["-c", MODES_WHILE_OPEN], data).strip().splitlines()[-1])

    assert {"db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm", "secrets/secret_key"} <= set(modes)
    assert "secrets/demo_admin_password" in modes
    wrong = {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (0o700 if (data / name).is_dir() else 0o600)
    }
    assert wrong == {}


def test_existing_files_are_fixed_and_links_left_alone(tmp_path):
    data = tmp_path / "var"
    (data / "sub").mkdir(parents=True)
    (data / "sub").chmod(0o755)
    (data / "db.sqlite3").touch()
    (data / "db.sqlite3").chmod(0o644)
    outside = tmp_path / "outside.txt"
    outside.touch()
    outside.chmod(0o644)
    (data / "link").symlink_to(outside)
    previous = os.umask(0o022)
    try:
        data_dir_make_private(data)
        (data / "created-later").touch()
        created_mode = stat.S_IMODE((data / "created-later").stat().st_mode)
    finally:
        os.umask(previous)

    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "sub").stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "db.sqlite3").stat().st_mode) == 0o600
    assert created_mode == 0o600
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644  # a link's target is not ours to change
