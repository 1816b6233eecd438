"""What the dashboard shows: counts that link to the filtered lists, charts over time, the latest failures
with what to do about them, and the CA worker's health. Reads only (the apps' models and selectors).

Counts are for every staff user; certificate subjects and serials only for those holding
``ca.view_issuedcertificate``, events only for ``eventlog.view_connectorevent`` (as in the admin).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.models import AnonymousUser, PermissionsMixin
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from ca.choices import CertificateRequestStatus
from ca.crypto.describe import subject_text_readable
from ca.health import CaWorkerHealth, ca_worker_health_get
from ca.models import CertificateAuthority, CertificateRequest, IssuedCertificate
from enrollment.choices import TransactionStatus
from enrollment.models import ScepTransaction
from eventlog.choices import EventId, EventLevel
from eventlog.models import ConnectorEvent
from portal.charts import Bar, bar_chart_svg
from profiles.choices import CertificateState
from profiles.models import DeviceCertificateState

__all__ = ["WITHOUT_CERTIFICATE", "DashboardCount", "dashboard_context"]

#: A device for which one of its profiles has no valid certificate (yet, any more, or after a failure).
WITHOUT_CERTIFICATE = (
    CertificateState.PENDING,
    CertificateState.CHALLENGE_ISSUED,
    CertificateState.ISSUE_PENDING,
    CertificateState.FAILED,
    CertificateState.REVOKED,
    CertificateState.EXPIRED,
)
EXPIRY_DAYS = 30
FAILURE_DAYS = 30


@dataclass(frozen=True)
class DashboardCount:
    key: str
    label: str
    value: int
    url: str
    tone: str = ""  # "" (green), "quiet" (grey: neither good nor bad), "warn", "bad"


def _url(name: str, **query: str) -> str:
    base = reverse(name)
    return f"{base}?{urlencode(query)}" if query else base


def _counts(now: dt.datetime) -> list[DashboardCount]:
    certificates = "admin:ca_issuedcertificate_changelist"
    failures_since = (now - dt.timedelta(days=FAILURE_DAYS)).replace(microsecond=0)
    failed = ScepTransaction.objects.filter(status=TransactionStatus.FAILURE, created_at__gte=failures_since)
    expiring = IssuedCertificate.objects.valid(now).filter(not_after__lt=now + dt.timedelta(days=EXPIRY_DAYS))
    pending = CertificateRequest.objects.filter(status=CertificateRequestStatus.PENDING_APPROVAL).count()
    without = (
        DeviceCertificateState.objects.filter(state__in=WITHOUT_CERTIFICATE)
        .values("device_id")
        .distinct()
        .count()
    )
    return [
        DashboardCount(
            "valid",
            "valid certificates",
            IssuedCertificate.objects.valid(now).count(),
            _url(certificates, status="issued"),
        ),
        DashboardCount(
            "expiring",
            f"expiring in {EXPIRY_DAYS} days",
            expiring.count(),
            _url(certificates, expires_before=f"{EXPIRY_DAYS}d"),
            "warn",
        ),
        DashboardCount(
            "revoked",
            "revoked",
            IssuedCertificate.objects.revoked().count(),
            _url(certificates, status="revoked"),
            "quiet",
        ),
        DashboardCount(
            "failed",
            f"failed enrollments ({FAILURE_DAYS} days)",
            failed.count(),
            _url(
                "admin:enrollment_sceptransaction_changelist",
                status__exact=TransactionStatus.FAILURE,
                created_at__gte=failures_since.isoformat(),
            ),
            "bad",
        ),
        DashboardCount(
            "pending",
            "pending approvals",
            pending,
            _url(
                "admin:ca_certificaterequest_changelist",
                status__exact=CertificateRequestStatus.PENDING_APPROVAL,
            ),
            "warn",
        ),
        DashboardCount(
            "without",
            "devices without their certificate",
            without,
            _url("admin:profiles_devicecertificatestate_changelist", state__in=",".join(WITHOUT_CERTIFICATE)),
            "bad",
        ),
    ]


def _per_day(queryset: QuerySet[Any], field: str, days: Iterable[dt.date]) -> list[tuple[dt.date, int]]:
    # COUNT(*): the day is all it reads, so an index on the field answers alone (index-only scan).
    rows = queryset.annotate(day=TruncDate(field, tzinfo=dt.UTC)).values("day").annotate(n=Count("*"))
    counted = {row["day"]: row["n"] for row in rows}
    return [(day, counted.get(day, 0)) for day in days]


def _charts(now: dt.datetime) -> list[tuple[str, SafeString]]:
    today = now.astimezone(dt.UTC).date()
    past = [today - dt.timedelta(days=offset) for offset in range(29, -1, -1)]
    start = dt.datetime.combine(past[0], dt.time.min, tzinfo=dt.UTC)
    issued = _per_day(IssuedCertificate.objects.filter(created_at__gte=start), "created_at", past)
    failed = _per_day(
        ScepTransaction.objects.filter(status=TransactionStatus.FAILURE, created_at__gte=start),
        "created_at",
        past,
    )
    weeks = 12
    # Counted in the database, week by week in one pass over the index range (not a row each in Python:
    # about 110,000 of them at a million certificates).
    expiring = IssuedCertificate.objects.valid(now).filter(not_after__lt=now + dt.timedelta(weeks=weeks))
    bounds = [now + dt.timedelta(weeks=index) for index in range(weeks + 1)]
    totals = expiring.aggregate(
        **{
            f"w{index}": Count(
                "not_after", filter=Q(not_after__gte=bounds[index], not_after__lt=bounds[index + 1])
            )
            for index in range(weeks)
        }
    )
    per_week = [totals[f"w{index}"] for index in range(weeks)]
    week_bars = [
        Bar(
            f"{today + dt.timedelta(weeks=index):%d %b}",
            value,
            f"week of {today + dt.timedelta(weeks=index):%Y-%m-%d}: {value} expiring",
        )
        for index, value in enumerate(per_week)
    ]

    def day_bars(rows: list[tuple[dt.date, int]], what: str) -> list[Bar]:
        return [Bar(f"{day:%d %b}", value, f"{day:%Y-%m-%d}: {value} {what}") for day, value in rows]

    return [
        (
            "Issued per day · 30 days",
            bar_chart_svg(
                day_bars(issued, "issued"), title="Certificates issued per day", css_class="issued"
            ),
        ),
        (
            "Failed enrollments · 30 days",
            bar_chart_svg(day_bars(failed, "failed"), title="Failed enrollments per day", css_class="failed"),
        ),
        (
            "Expiring per week · 12 weeks",
            bar_chart_svg(
                week_bars, title="Certificates expiring per week", css_class="expiring", label_every=4
            ),
        ),
    ]


def _latest_failures(limit: int = 8) -> list[ConnectorEvent]:
    return list(
        ConnectorEvent.objects.filter(level__in=[EventLevel.ERROR, EventLevel.WARNING]).order_by(
            "-created_at", "-id"
        )[:limit]
    )


def _last_start() -> ConnectorEvent | None:
    return (
        ConnectorEvent.objects.filter(event_id=EventId.STARTED_CONNECTOR_SERVICE)
        .order_by("-created_at")
        .first()
    )


def dashboard_context(
    user: PermissionsMixin | AnonymousUser, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    now = now or timezone.now()
    may_view_certificates = user.has_perm("ca.view_issuedcertificate")
    may_view_events = user.has_perm("eventlog.view_connectorevent")
    health: CaWorkerHealth = ca_worker_health_get(now=now)
    context: dict[str, Any] = {
        "counts": _counts(now),
        "charts": _charts(now),
        "health": health,
        "last_start": _last_start() if may_view_events else None,
        "may_view_certificates": may_view_certificates,
        "may_view_events": may_view_events,
        "authorities": CertificateAuthority.objects.select_related("parent").order_by("parent_id", "name"),
        "failures": _latest_failures() if may_view_events else [],
        "events_url": _url("admin:eventlog_connectorevent_changelist"),
    }
    if may_view_certificates:
        context["recent_certificates"] = [
            (certificate, subject_text_readable(certificate.subject))
            for certificate in IssuedCertificate.objects.select_related("authority", "template")[:8]
        ]
    return context
