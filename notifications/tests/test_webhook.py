"""The webhook: a signed JSON POST to a real local receiver; anything but a 2xx is retried at the next run;
only http(s) URLs; the signature verifies with the secret.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import uuid
from typing import Any

import pytest

from django.core import mail
from django.core.checks import Error

from notifications.choices import NoticeChannel, NoticeKind
from notifications.conf import notifications_settings
from notifications.delivery import webhook_send
from notifications.exceptions import DeliveryFailed
from notifications.messages import expiry_notice
from notifications.models import SentNotice
from notifications.services import NotifyResult, certificate_expiry_notify
from notifications.signing import signature_header, signature_verify
from notifications.tests.conftest import SECRET
from notifications.tests.webhook import closed_port


def _verified(received, secret: str = SECRET) -> dict[str, Any]:
    """The receiver's side: check X-Certportal-Signature with the secret (plain hmac), return the JSON."""
    fields = dict(part.split("=", 1) for part in received.headers["X-Certportal-Signature"].split(","))
    timestamp = int(fields["t"])
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + received.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(fields["v1"], expected)
    assert abs(time.time() - timestamp) < 60
    body: dict[str, Any] = json.loads(received.body)
    return body


def test_the_receiver_gets_one_signed_request_listing_the_certificates(webhook, certificate, bind, device):
    soon = certificate("soon", days=20)
    bind(soon)
    certificate("later", days=365)

    assert certificate_expiry_notify() == NotifyResult(delivered={"webhook": 1})

    (received,) = webhook.received
    assert received.path == "/hooks/certportal"
    assert received.headers["Content-Type"] == "application/json"
    assert received.headers["X-Certportal-Event"] == "certificate_expiring"
    body = _verified(received)
    assert body["id"] == received.headers["X-Certportal-Delivery"]
    assert (body["event"], body["window_days"]) == ("certificate_expiring", 30)
    (item,) = body["certificates"]
    assert item == {
        "certificate_id": soon.pk,
        "serial": soon.serial,
        "subject": "CN=soon",
        "authority": "test-issuing",
        "template": soon.template.name,
        "not_after": soon.not_after.isoformat(),
        "device": device.external_id,
        "device_name": device.name,
        "profile": "iOS user certificate",
    }
    notice = SentNotice.objects.get()
    assert (notice.channel, notice.kind, notice.certificate_id) == (
        NoticeChannel.WEBHOOK,
        NoticeKind.CERTIFICATE_EXPIRING,
        soon.pk,
    )
    assert str(notice.delivery_id) == body["id"]

    assert certificate_expiry_notify() == NotifyResult(delivered={"webhook": 0})
    assert len(webhook.received) == 1


def test_a_500_is_retried_at_the_next_run(webhook, soon, caplog):
    webhook.answers.append(500)

    with caplog.at_level(logging.WARNING, logger="notifications.services"):
        first = certificate_expiry_notify()

    assert first == NotifyResult(
        delivered={"webhook": 0}, failed={"webhook": "the webhook answered 500 Internal Server Error"}
    )
    assert "certificate_expiring notice by webhook not sent" in caplog.text
    assert not SentNotice.objects.exists()

    assert certificate_expiry_notify() == NotifyResult(delivered={"webhook": 1})
    assert len(webhook.received) == 2
    retried = _verified(webhook.received[1])
    assert [item["serial"] for item in retried["certificates"]] == [soon.serial]
    assert retried["id"] != _verified(webhook.received[0])["id"]  # a new delivery, signed afresh

    assert certificate_expiry_notify() == NotifyResult(delivered={"webhook": 0})
    assert len(webhook.received) == 2


def test_an_unreachable_webhook_is_retried(certificate, settings):
    certificate("soon", days=20)
    settings.CERTPORTAL_NOTIFY_WEBHOOK_URL = f"http://127.0.0.1:{closed_port()}/hook"
    settings.CERTPORTAL_NOTIFY_WEBHOOK_SECRET = SECRET

    result = certificate_expiry_notify()

    assert result.delivered == {"webhook": 0}
    assert result.failed["webhook"].startswith("the webhook could not be reached")
    assert not SentNotice.objects.exists()


def test_a_redirect_is_not_followed(webhook, certificate):
    certificate("soon", days=20)
    webhook.answers.append(302)
    webhook.location = webhook.url + "/elsewhere"

    result = certificate_expiry_notify()

    assert result.failed == {"webhook": "the webhook answered 302 Found"}
    assert [received.path for received in webhook.received] == ["/hooks/certportal"]
    assert not SentNotice.objects.exists()


def test_each_channel_is_retried_alone(emails, webhook, certificate):
    certificate("soon", days=20)
    webhook.answers.append(503)

    assert certificate_expiry_notify() == NotifyResult(
        delivered={"email": 1, "webhook": 0},
        failed={"webhook": "the webhook answered 503 Service Unavailable"},
    )
    assert certificate_expiry_notify() == NotifyResult(delivered={"email": 0, "webhook": 1})
    assert len(mail.outbox) == 1  # the email is not sent again with the webhook's retry
    assert len(webhook.received) == 2


def test_the_sender_refuses_a_url_that_is_not_http():
    notice = expiry_notice([], window_days=30, now=dt.datetime.now(tz=dt.UTC), delivery_id=uuid.uuid4())
    for url in ("file:///etc/passwd", "ftp://example.com/hook", "gopher://example.com/"):
        with pytest.raises(DeliveryFailed, match="not http"):
            webhook_send(notice=notice, url=url, secret=b"x" * 16, timeout=1)


@pytest.mark.parametrize(
    ("url", "secret", "message"),
    [
        ("file:///etc/passwd", SECRET, "must be an http:// or https:// URL"),
        ("ftp://example.com/hook", SECRET, "must be an http:// or https:// URL"),
        ("https:///no-host", SECRET, "must be an http:// or https:// URL"),
        ("https://hooks.example.com/certportal", "", "needs a secret of at least 16 characters"),
        ("https://hooks.example.com/certportal", "short", "needs a secret of at least 16 characters"),
    ],
)
def test_the_settings_refuse_a_bad_webhook(settings, url, secret, message):
    settings.CERTPORTAL_NOTIFY_WEBHOOK_URL = url
    settings.CERTPORTAL_NOTIFY_WEBHOOK_SECRET = secret
    (error,) = notifications_settings.check(check_id="notifications.E001")
    assert isinstance(error, Error)
    assert error.id == "notifications.E001"
    assert message in error.msg
    assert error.msg.startswith("CERTPORTAL_NOTIFY_WEBHOOK_")


# --- the signature, as a receiver checks it ------------------------------------------------------------


def test_signature_verify():
    body = b'{"event":"certificate_expiring"}'
    now = 1_800_000_000
    header = signature_header(secret=b"secret-key", body=body, timestamp=now)
    assert header.startswith(f"t={now},v1=")
    assert signature_verify(secret=b"secret-key", body=body, header=header, now=now + 299)
    assert not signature_verify(secret=b"secret-key", body=body + b" ", header=header, now=now)
    assert not signature_verify(secret=b"other-key", body=body, header=header, now=now)
    assert not signature_verify(secret=b"secret-key", body=body, header=header, now=now + 301)
    assert not signature_verify(secret=b"secret-key", body=body, header=header, now=now - 301)
    for broken in ("", "v1=abc", f"t=x,{header.split(',')[1]}", f"t={now}", f"t={now},t={now},v1=00"):
        assert not signature_verify(secret=b"secret-key", body=body, header=broken, now=now)
    rotated = f"{header},v1={'0' * 64}"  # two signatures (a secret being rotated): one must match
    assert signature_verify(secret=b"secret-key", body=body, header=rotated, now=now)
