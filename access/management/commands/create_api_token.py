"""``manage.py create_api_token --user alice --name "sync job" [--days 30] [--scope '*.view_*']``: for
scripts and first set-up; prints the token once.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from access.services.tokens import api_token_create
from core.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Create an API token (hashed at rest; the token is printed once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="Username whose rights the token carries")
        parser.add_argument("--name", required=True, help="What the token is for")
        parser.add_argument("--days", type=int, help="Lifetime (default CERTPORTAL_API_TOKEN_DEFAULT_DAYS)")
        parser.add_argument("--scope", action="append", default=[], help="Permission pattern (repeatable)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = get_user_model().objects.get(username=options["user"])
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"no user {options['user']!r}") from exc
        try:
            created = api_token_create(
                user=user,
                name=options["name"],
                created_by=None,
                days=options["days"],
                scopes=options["scope"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write(
            f"token {created.token.token_key}… for {user}, expires {created.token.expiry:%Y-%m-%d}"
        )
        self.stdout.write(created.secret)
