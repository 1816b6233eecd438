"""Who is asking for something, and whether they hold the right it needs.

The edges (a web request, the admin) say who is asking with ``acting_as``; the services check the
right an effect needs with ``requester_may`` wherever that effect happens, whatever path led there: a
revocation asked for by an administrator, by retiring a device, or by unassigning a profile is checked in
``revocation_request_create`` alike. No requester (a task, a beat sweep, a command, a device's SCEP
request) is the system acting by policy: allowed. A ``contextvars`` variable, so it follows threads and
is reset when the edge is done.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

__all__ = ["REVOKE_PERMISSION", "Requester", "acting_as", "current_requester", "requester_may"]

#: The reference's "Issue and Manage Certificates" right, for revocation by any path (checked by the CA).
REVOKE_PERMISSION = "ca.revoke_issuedcertificate"


class Requester(Protocol):
    """Someone asking; read when a right matters (a web request's user is known only after its
    authentication).
    """

    @property
    def name(self) -> str:
        """As written in requests and events: ``api:alice``, ``admin:bob``."""

    def may(self, permission: str) -> bool:
        """Whether the requester holds ``permission`` (``app_label.codename``)."""


_current: ContextVar[Requester | None] = ContextVar("certportal_ca_requester", default=None)


def current_requester() -> Requester | None:
    return _current.get()


def requester_may(permission: str) -> bool:
    """Whether whoever is asking may do what needs ``permission`` (the system may)."""
    requester = _current.get()
    return requester is None or requester.may(permission)


@contextmanager
def acting_as(requester: Requester | None) -> Iterator[None]:
    """Within the block, ``requester`` is asking (None: the system, by policy)."""
    token = _current.set(requester)
    try:
        yield
    finally:
        _current.reset(token)
