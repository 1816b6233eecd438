"""Creating and revoking API tokens. The token is returned once, by ``api_token_create``; only its digest
(SHA-512, django-rest-knox) and first characters are kept.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils import timezone

from access.conf import access_settings
from access.models import ApiToken
from core.exceptions import ApplicationError

__all__ = [
    "CreatedToken",
    "api_token_create",
    "api_token_revoke",
    "api_token_scopes_validate",
    "api_token_used",
]

logger = logging.getLogger(__name__)

#: ``last_used_at`` is written at most this often per token (not one write per request).
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class CreatedToken:
    token: ApiToken
    #: The secret: shown to its creator now, never again.
    secret: str


def api_token_scopes_validate(scopes: Iterable[str]) -> list[str]:
    """The scopes, cleaned and sorted; ApplicationError for one that matches no permission (a typo would
    otherwise leave a token that can do nothing, or worse, be read as "no scopes").
    """
    cleaned = sorted({str(scope).strip() for scope in scopes if str(scope).strip()})
    names = {
        f"{app_label}.{codename}"
        for app_label, codename in Permission.objects.values_list("content_type__app_label", "codename")
    }
    for scope in cleaned:
        if len(scope) > 100 or not any(fnmatch.fnmatchcase(name, scope) for name in names):
            raise ApplicationError(
                f"scope {scope[:100]!r} matches no permission: write app_label.codename patterns such as "
                "'*.view_*' or 'directory.*'",
                code="invalid_scope",
            )
    return cleaned


@transaction.atomic
def api_token_create(
    *,
    user: AbstractBaseUser,
    name: str,
    created_by: AbstractBaseUser | None,
    days: int | None = None,
    scopes: Iterable[str] = (),
) -> CreatedToken:
    """A new token for ``user``, expiring after ``days`` (the default lifetime if None; never longer than
    ``CERTPORTAL_API_TOKEN_MAX_DAYS``), limited to ``scopes`` if any.
    """
    settings = access_settings()
    lifetime = days if days is not None else min(settings.API_TOKEN_DEFAULT_DAYS, settings.API_TOKEN_MAX_DAYS)
    if not 1 <= lifetime <= settings.API_TOKEN_MAX_DAYS:
        raise ApplicationError(
            f"a token lives 1 to {settings.API_TOKEN_MAX_DAYS} days (CERTPORTAL_API_TOKEN_MAX_DAYS)",
            code="invalid_lifetime",
        )
    if not name.strip():
        raise ApplicationError("name the token: what or who it is for", code="invalid_name")
    if not user.is_active:
        raise ApplicationError(f"user {user.get_username()} is inactive", code="inactive_user")
    token, secret = ApiToken.objects.create(
        user=user,
        expiry=dt.timedelta(days=lifetime),
        name=name.strip()[:100],
        scopes=api_token_scopes_validate(scopes),
        created_by=created_by,
    )
    logger.info(
        "API token %s… (%s) created for %s by %s, expires %s",
        token.token_key,
        token.name,
        user.get_username(),
        created_by.get_username() if created_by is not None else "the system",
        token.expiry,
    )
    return CreatedToken(token=token, secret=secret)


@transaction.atomic
def api_token_revoke(*, token: ApiToken, revoked_by: AbstractBaseUser | None) -> None:
    """Revoke: the token is deleted (its digest with it), so it authenticates nothing from now on."""
    logger.info(
        "API token %s… (%s) of %s revoked by %s",
        token.token_key,
        token.name,
        token.user,
        revoked_by.get_username() if revoked_by is not None else "the system",
    )
    token.delete()


def api_token_used(*, token: ApiToken, now: dt.datetime | None = None) -> None:
    """Note that the token authenticated a request (at most once a minute per token)."""
    moment = now or timezone.now()
    if token.last_used_at is None or moment - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=moment)
        token.last_used_at = moment
