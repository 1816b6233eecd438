"""Every web request says who is asking (``core.requesters``), so the services check the right an effect
needs wherever it happens: the admin's and the API's user, with an API token's scopes; and every web request
has an id (``core.request_ids``) that its log lines, and those of the tasks it sends, carry.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import AbstractUser, PermissionsMixin
from django.http import HttpRequest, HttpResponse
from rest_framework.settings import api_settings

from core.request_ids import request_id_new, request_id_reset, request_id_set, request_id_valid
from core.requesters import acting_as

__all__ = ["RequestIdMiddleware", "RequesterMiddleware", "WebRequester"]

#: The response header naming the request's id (as nginx's ``$request_id`` is named).
REQUEST_ID_RESPONSE_HEADER = "X-Request-ID"


class RequestIdMiddleware:
    """First in ``MIDDLEWARE``: the request's id for the logs (``core.request_ids``), sent back in
    ``X-Request-ID``. Behind trusted proxies (``CERTPORTAL_NUM_PROXIES``) the proxy's ``X-Request-ID`` is
    used when it is a safe token (nginx: ``proxy_set_header X-Request-ID $request_id``), so that the proxy's
    access log and ours name the same id; otherwise, and for a client reaching the portal directly, a new
    one.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        offered = request.META.get("HTTP_X_REQUEST_ID")
        trusted = bool(api_settings.NUM_PROXIES) and request_id_valid(offered)
        request_id = str(offered) if trusted else request_id_new()
        token = request_id_set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_reset(token)
        response[REQUEST_ID_RESPONSE_HEADER] = request_id
        return response


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
