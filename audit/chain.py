"""The hash chain's arithmetic, pure: the canonical form of a row and the link that seals it.

``link = SHA-256(previous link || canonical JSON of the row)``, hex. The canonical JSON is the row's
columns of the chain's field list (``FIELDS[chain][version]``, named by column: ``content_type_id``, not
``content_type``), keys sorted, no spaces, UTF-8, with datetimes in UTC ISO 8601 to the microsecond,
binary as base64 and decimals and UUIDs as text. Each link records the version of the field list it was
made with: a column added to a chained table gets a new version (the old rows keep theirs), and
``audit.tests`` fails until it is listed. The first link of a chain follows ``GENESIS[chain]``.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["CURRENT_VERSION", "FIELDS", "GENESIS", "canonical", "link"]

FIELDS: dict[str, dict[int, tuple[str, ...]]] = {
    "audit": {
        1: (
            "id",
            "timestamp",
            "content_type_id",
            "object_type",
            "object_pk",
            "object_id",
            "object_repr",
            "serialized_data",
            "action",
            "changes_text",
            "changes",
            "actor_id",
            "actor_email",
            "actor_kind",
            "actor_name",
            "actor_token",
            "actor_device_id",
            "on_behalf_of",
            "os_user",
            "via",
            "cid",
            "remote_addr",
            "remote_port",
            "additional_data",
        ),
    },
    "events": {
        1: (
            "id",
            "created_at",
            "event_id",
            "level",
            "message",
            "diagnostic_code",
            "details",
            "service_slug",
            "scep_transaction_id",
            "transaction_id",
            "message_type",
            "fail_info",
            "client_address",
            "device_id",
            "device_external_id",
            "user_id",
            "user_principal_name",
            "authority_slug",
            "ca_name",
            "template_name",
            "serial",
            "thumbprint",
        ),
    },
}
CURRENT_VERSION: dict[str, int] = {chain: max(versions) for chain, versions in FIELDS.items()}
GENESIS: dict[str, str] = {
    chain: hashlib.sha256(f"certportal hash chain: {chain}".encode()).hexdigest() for chain in FIELDS
}


def canonical(row: Mapping[str, Any], fields: Sequence[str]) -> bytes:
    """The bytes a row is sealed by: the listed columns of ``row`` as canonical JSON."""
    return json.dumps(
        {name: _plain(row[name]) for name in fields},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode("utf-8")


def link(previous: str, content: bytes) -> str:
    """The link after ``previous`` (hex) for a row whose canonical form is ``content``."""
    return hashlib.sha256(bytes.fromhex(previous) + content).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in a chained row")
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
