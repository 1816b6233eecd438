"""DRF's plain-text tokens (rest_framework.authtoken, no longer installed) become hashed API tokens: the
same token keeps working, now stored as its SHA-512 digest with an expiry; the plain-text table is emptied
and dropped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.db import migrations
from django.utils import timezone

_TABLE = "authtoken_token"
_LIFETIME = dt.timedelta(days=90)


def _hash_drf_tokens(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    if _TABLE not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("access", "ApiToken")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id FROM {_TABLE}")  # noqa: S608 - a constant table name
        rows = cursor.fetchall()
    now = timezone.now()
    for key, user_id in rows:
        token = ApiToken(
            digest=hashlib.sha512(key.encode("ascii")).hexdigest(),  # knox.crypto.hash_token of a hex token
            token_key=key[:15],
            user_id=user_id,
            expiry=now + _LIFETIME,
            name="migrated from the plain-text API token",
        )
        token.save()
    schema_editor.execute(f"DELETE FROM {_TABLE}")  # noqa: S608
    schema_editor.execute(f"DROP TABLE {_TABLE}")  # noqa: S608


class Migration(migrations.Migration):
    dependencies = [("access", "0001_initial")]

    operations = [migrations.RunPython(_hash_drf_tokens, migrations.RunPython.noop)]
