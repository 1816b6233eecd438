"""Failed-login lockout (django-axes): per username and per client address, for every password login.

Axes sits in ``django.contrib.auth.authenticate`` (its backend first in ``AUTHENTICATION_BACKENDS``), so it
covers the admin's login and any other view that authenticates a password with the request (DRF's session
login, a Basic-auth login view). After ``CERTPORTAL_LOGIN_RATE``'s count of failures within its window, for
one username (from any address) or from one address (for any username), every login of that username or
from that address is refused, even with the right password, until the window has passed since the last
failure. Failed attempts are kept in the database (``axes.AccessAttempt``, in the admin), so that every
process sees them, the embedded default's too. ``manage.py axes_reset_username <name>`` (or
``axes_reset_ip <address>``) lifts a lock early.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt

from django.contrib import admin
from django.db.models import Max, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from core.addresses import client_address

__all__ = ["LoginLockoutBackend", "client_ip", "lockout_response"]


class LoginLockoutBackend(AxesStandaloneBackend):  # type: ignore[misc]  # axes is untyped
    """Axes' check, for logins that come with a request (every login over HTTP does).

    ``authenticate()`` without a request (the test client's ``login()``, code run on the server) is no
    login attempt from a client: it is neither counted nor refused, where Axes itself would raise.
    """

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)  # type: ignore[no-any-return]


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as the API's rate limits see it (``core.addresses``): the TCP peer, or the
    address in X-Forwarded-For that the trusted proxies (``CERTPORTAL_NUM_PROXIES``) vouch for.
    """
    return client_address(request)


def _retry_after(request: HttpRequest, credentials: dict[str, Any] | None) -> int:
    """Seconds until the lock ends: the window after the latest failure of this username or address."""
    window: timedelta | None = get_cool_off(request)
    if window is None:
        return 0
    username = get_client_username(request, credentials)
    address = getattr(request, "axes_ip_address", None)
    latest: datetime | None = AccessAttempt.objects.filter(
        Q(username=username) | Q(ip_address=address)
    ).aggregate(latest=Max("attempt_time"))["latest"]
    if latest is None:
        return math.ceil(window.total_seconds())
    return max(1, math.ceil((latest + window - timezone.now()).total_seconds()))


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any] | None
) -> HttpResponse:
    """429 with Retry-After and a message that says what happened and what to do (AXES_LOCKOUT_CALLABLE)."""
    seconds = _retry_after(request, credentials)
    minutes = max(1, math.ceil(seconds / 60))
    message = (
        "Too many failed logins for this account or from this address. Logins are refused, even with the "
        f"right password, for {minutes} more minute{'s' if minutes != 1 else ''}. An administrator can lift "
        "the lock early with ./manage.py axes_reset_username <name>."
    )
    response: HttpResponse
    if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        response = JsonResponse({"detail": message, "code": "login_locked_out"}, status=429)
    else:
        context = {**admin.site.each_context(request), "title": "Login locked", "message": message}
        response = TemplateResponse(request, "portal/login_locked.html", context, status=429)
        response.render()
    response["Retry-After"] = str(seconds)
    response["Cache-Control"] = "no-store"
    return response
