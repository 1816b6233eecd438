"""Sending one notice: by email (Django's email backend) or as a signed JSON POST to the webhook.

Both raise :class:`~notifications.exceptions.DeliveryFailed` when the message did not get through; the
caller then does not record it as sent.
"""

from __future__ import annotations

import http.client
import json
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.core.mail import EmailMessage, get_connection

from notifications.conf import WEBHOOK_SCHEMES
from notifications.exceptions import DeliveryFailed
from notifications.messages import Notice
from notifications.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signature_header

__all__ = ["USER_AGENT", "email_send", "webhook_body", "webhook_send"]

USER_AGENT = "certportal-notifications/1"


def email_send(*, notice: Notice, recipients: Sequence[str], timeout: float) -> None:
    """One email to all ``recipients`` (plain text)."""
    try:
        connection = get_connection(fail_silently=False, timeout=timeout)
        message = EmailMessage(
            subject=notice.subject,
            body=notice.text,
            to=list(recipients),
            connection=connection,
            headers={DELIVERY_HEADER: str(notice.delivery_id)},
        )
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"email to {len(recipients)} recipient(s) failed: {exc!r}") from exc


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer other than 2xx, not an address to follow (it could point anywhere)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def webhook_body(notice: Notice) -> bytes:
    """The exact bytes that are signed and sent."""
    return json.dumps(notice.payload, separators=(",", ":"), sort_keys=True).encode("utf-8")


def webhook_send(*, notice: Notice, url: str, secret: bytes, timeout: float) -> int:
    """POST the notice; return the HTTP status (2xx). Any other answer, or none, is a failure."""
    if urlsplit(url).scheme.lower() not in WEBHOOK_SCHEMES:
        raise DeliveryFailed("refusing to send the webhook to a URL that is not http(s)")
    body = webhook_body(notice)
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above: http(s) only
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_HEADER: notice.kind.value,
            DELIVERY_HEADER: str(notice.delivery_id),
            SIGNATURE_HEADER: signature_header(secret=secret, body=body, timestamp=int(time.time())),
        },
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(64 * 1024)
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"the webhook answered {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise DeliveryFailed(f"the webhook could not be reached: {exc!r}") from exc
    if not 200 <= status < 300:  # pragma: no cover - urllib raises HTTPError for these
        raise DeliveryFailed(f"the webhook answered {status}")
    return status
