"""Admin plumbing shared by the apps: a refused change is a message on the page, not a 500."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from core.exceptions import ApplicationError

__all__ = ["ServiceErrorsAdminMixin"]


class ServiceErrorsAdminMixin:
    """Catches a service's ApplicationError (a rule or a missing right, e.g. a change that would revoke
    certificates without the revoke right) outside the admin's transaction, which is rolled back by then:
    the refusal is recorded and shown, and the admin returns to the page it came from.
    """

    def _refused(self, request: HttpRequest, exc: ApplicationError) -> HttpResponse:
        exc.record()
        messages.error(request, exc.message)
        return HttpResponseRedirect(request.get_full_path())

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().changeform_view(request, *args, **kwargs)  # type: ignore[misc,no-any-return]
        except ApplicationError as exc:
            return self._refused(request, exc)

    def delete_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().delete_view(request, *args, **kwargs)  # type: ignore[misc,no-any-return]
        except ApplicationError as exc:
            return self._refused(request, exc)

    def changelist_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().changelist_view(request, *args, **kwargs)  # type: ignore[misc,no-any-return]
        except ApplicationError as exc:
            return self._refused(request, exc)
