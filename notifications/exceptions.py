"""Errors of the notifications app."""

from __future__ import annotations

__all__ = ["DeliveryFailed"]


class DeliveryFailed(Exception):
    """A notice could not be delivered (mail server error, webhook unreachable or not 2xx): it is not
    recorded as sent and goes out again at the next run.
    """
