"""Every web request says who is asking (``core.requesters``), so the services check the right an effect
needs wherever it happens: the admin's and the API's user, with an API token's scopes.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import AbstractUser, PermissionsMixin
from django.http import HttpRequest, HttpResponse

from core.requesters import acting_as

__all__ = ["RequesterMiddleware", "WebRequester"]


class WebRequester:
    """The request's user, read when asked: DRF authenticates tokens inside the view, after middleware,
    and sets the user and the token (``auth``) on the request then.
    """

    def __init__(self, request: HttpRequest) -> None:
        self._request = request

    def _user(self) -> PermissionsMixin | None:
        user = getattr(self._request, "user", None)
        return (
            user if isinstance(user, PermissionsMixin) and getattr(user, "is_authenticated", False) else None
        )

    @property
    def name(self) -> str:
        user = self._user()
        channel = "api" if self._request.path.startswith("/api/") else "admin"
        return f"{channel}:{user.get_username()}" if isinstance(user, AbstractUser) else "anonymous"

    def may(self, permission: str) -> bool:
        user = self._user()
        if user is None:
            # No user: a device's SCEP or check-in request, which the system serves by its policy.
            return True
        allows = getattr(getattr(self._request, "auth", None), "allows", None)
        return user.has_perm(permission) and (allows is None or bool(allows(permission)))


class RequesterMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with acting_as(WebRequester(request)):
            return self.get_response(request)
