"""``manage.py sync_roles``: create the built-in roles and give each exactly its permissions (``migrate``
does it too).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from access.services.roles import roles_sync


class Command(BaseCommand):
    help = "Create or update the built-in roles (Django groups) from access.roles."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, count in roles_sync().items():
            self.stdout.write(f"{name}: {count} permission(s)")
