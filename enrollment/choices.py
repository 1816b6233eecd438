"""Choices of the SCEP front end: transaction states and what authorised a request.

(The event log's IDs and diagnostic codes are the event log's own: ``eventlog.choices``.)
"""

from __future__ import annotations

from django.db import models

__all__ = ["Authorization", "TransactionStatus"]


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
