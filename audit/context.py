"""Who is acting: a context variable set around each request, management command and Celery task.

A context variable (not a thread-local) so that gunicorn's threads, Celery's eager tasks inside a request
and nested commands each see their own actor. A request is resolved when a row is written, not when the
request starts: DRF authenticates in the view (token, session or device), after the middleware ran, and
sets ``user`` and ``auth`` on the Django request too.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import os
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

from django.http import HttpRequest

from audit.choices import ActorKind
from core.addresses import client_address
from core.request_ids import request_id_get

__all__ = [
    "SYSTEM",
    "Actor",
    "actor_from_request",
    "actor_scope",
    "correlation_id",
    "current_actor",
    "os_user",
    "request_scope",
    "token_identifier",
]

#: Column widths of the actor (``AuditEntry``): values are cut to them.
NAME_LENGTH = 255
TOKEN_LENGTH = 64


@dataclass(frozen=True)
class Actor:
    """Who wrote: a user (with the API token that authenticated the request, if any), a device, a command,
    a task, or the system. ``on_behalf_of`` is who started a command or task (the request's actor for a
    task run in process, the publishing process's actor for a task run by a worker).
    """

    kind: ActorKind
    name: str
    user_id: int | None = None
    token: str = ""
    device_id: int | None = None
    on_behalf_of: str = ""
    os_user: str = ""
    remote_addr: str | None = None
    via: str = ""
    correlation_id: str = ""


SYSTEM = Actor(kind=ActorKind.SYSTEM, name="system")


@dataclass(frozen=True)
class _RequestScope:
    request: HttpRequest
    correlation_id: str


_scope: ContextVar[Actor | _RequestScope | None] = ContextVar("certportal_audit_actor", default=None)


def current_actor() -> Actor:
    """The actor of the running request, command or task; ``SYSTEM`` outside of them."""
    scope = _scope.get()
    if scope is None:
        return SYSTEM
    if isinstance(scope, _RequestScope):
        return actor_from_request(scope.request, correlation_id=scope.correlation_id)
    return scope


def correlation_id() -> str | None:
    """One id per request, command or task: django-auditlog's ``AUDITLOG_CID_GETTER``."""
    return current_actor().correlation_id or None


@contextlib.contextmanager
def actor_scope(actor: Actor) -> Iterator[Actor]:
    """Run the block as ``actor`` (a command, a task, or a test)."""
    token = _scope.set(actor)
    try:
        yield actor
    finally:
        _scope.reset(token)


@contextlib.contextmanager
def request_scope(request: HttpRequest) -> Iterator[None]:
    """Run the block (a request) as whoever the request turns out to be authenticated as."""
    # The request's id for the logs (core.request_ids, set first of all middleware) when there is one: the
    # audit log's correlation id and the log lines of the request are then the same.
    token = _scope.set(_RequestScope(request=request, correlation_id=request_id_get() or uuid.uuid4().hex))
    try:
        yield
    finally:
        _scope.reset(token)


def scoped_actor() -> Actor | None:
    """The actor set by an enclosing request, command or task, or None (then the writer is the system)."""
    return None if _scope.get() is None else current_actor()


def set_actor(actor: Actor) -> object:
    """Set ``actor`` until ``reset_actor(token)`` (Celery's prerun/postrun pair cannot use a ``with``)."""
    return _scope.set(actor)


def reset_actor(token: Any) -> None:
    _scope.reset(token)


def actor_from_request(request: HttpRequest, *, correlation_id: str = "") -> Actor:
    """The request's actor: its device (check-in API), its user with the identifier of its API token, its
    session's user, or anonymous (a SCEP client, a login page), with the client address and the path.
    """
    user = getattr(request, "user", None)
    auth = getattr(request, "auth", None)
    common: dict[str, Any] = {
        "remote_addr": client_address(request),
        "via": f"{request.method} {request.path}"[:NAME_LENGTH],
        "correlation_id": correlation_id,
    }
    device = getattr(user, "device", None)
    if device is not None and not hasattr(user, "_meta"):  # profiles.api.authentication.DevicePrincipal
        external_id = getattr(device, "external_id", device.pk)
        return Actor(
            kind=ActorKind.DEVICE, name=f"device:{external_id}"[:NAME_LENGTH], device_id=device.pk, **common
        )
    if user is None or not getattr(user, "is_authenticated", False):
        return Actor(kind=ActorKind.ANONYMOUS, name="anonymous", **common)
    name = str(user.get_username())[:NAME_LENGTH]
    if auth is not None:
        return Actor(kind=ActorKind.TOKEN, name=name, user_id=user.pk, token=token_identifier(auth), **common)
    return Actor(kind=ActorKind.USER, name=name, user_id=user.pk, **common)


def token_identifier(auth: object) -> str:
    """What names an API token without giving it away: its ``token_key`` (django-rest-knox: the first
    characters, stored to find it), else the start of its ``digest``, else a hash of its primary key (DRF's
    own tokens use the token itself as the key) or of the object.
    """
    token_key = getattr(auth, "token_key", None)
    if token_key:
        return str(token_key)[:TOKEN_LENGTH]
    digest = getattr(auth, "digest", None)
    if digest:
        return f"digest:{str(digest)[:8]}"
    value = getattr(auth, "pk", None)
    if value is None:
        value = auth
    return "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()[:16]


def os_user() -> str:
    """The operating-system user of this process (a command's operator, a worker's service account)."""
    try:
        return getpass.getuser()[:64]
    except (OSError, KeyError, ImportError):  # no login name and no passwd entry (some containers)
        return str(os.getuid())


def nested(actor: Actor) -> Actor:
    """``actor`` started from within the current scope: the enclosing actor is who it acts for, and it keeps
    the enclosing correlation id (one operation).
    """
    outer = scoped_actor()
    if outer is None:
        return actor
    return replace(actor, on_behalf_of=outer.name[:NAME_LENGTH], correlation_id=outer.correlation_id)
