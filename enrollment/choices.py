"""Choices of the SCEP front end: transaction states and what authorised a request.

(The event log's IDs and diagnostic codes are the event log's own: ``eventlog.choices``.)
"""

from __future__ import annotations

from django.db import models

__all__ = ["Authorization", "StaticSanType", "TransactionStatus"]


class TransactionStatus(models.TextChoices):
    """pkiStatus of the last CertRep for a transaction (RFC 8894 3.2.1.3)."""

    PENDING = "pending", "Pending"
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"


class Authorization(models.TextChoices):
    """What authorised a SCEP request (a challenge verifier's grant, or the renewal rules)."""

    STATIC_CHALLENGE = "static_challenge", "Static challenge"
    ONE_TIME_CHALLENGE = "one_time_challenge", "One-time device challenge"
    RENEWAL = "renewal", "Renewal (signed by the current certificate)"


class StaticSanType(models.TextChoices):
    """SAN types a static-challenge request may carry, when its SCEP service lists them.

    There is no UPN and no otherName of any kind, and the KB5014754 SID URI is refused even where URIs are
    allowed: a static challenge is shared, so whatever it authorises, anyone who knows it can ask for.
    """

    DNS = "dns", "DNS name"
    IP = "ip", "IP address"
    EMAIL = "email", "Email (RFC 822 name)"
    URI = "uri", "URI (never the KB5014754 SID URI)"
