"""The certificate lists' answers to a million rows (docs/benchmarks-admin.md), on a handful: counts exact up
to a limit and estimated above it (said so in the admin and the API), the order under a notAfter filter,
and the admin's date drill-down taken from the range of notBefore.
"""

import datetime as dt

import pytest

from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ca.api.pagination import EstimatedCountPagination
from ca.models import IssuedCertificate
from ca.tests.pki import require_postgresql
from core.admin_lists import EstimatedCountPaginator, RangeDates
from core.counts import count_or_estimate

CHANGELIST = "admin:ca_issuedcertificate_changelist"


@pytest.fixture
def three(issue, pki):
    pki.template.allow_requester_validity = True
    pki.template.save()
    for number, days in enumerate((30, 200, 90)):
        issue(common_name=f"list-{number}", validity_days=days)
    return IssuedCertificate.objects.filter(subject__startswith="CN=list-")


def test_counts_are_exact_up_to_the_limit(three):
    assert count_or_estimate(three, exact_limit=3) == (3, False)
    count, estimated = count_or_estimate(three, exact_limit=2)
    assert estimated is (connection.vendor == "postgresql")  # elsewhere: counted exactly
    assert count >= 3  # never below the rows seen


def test_the_admin_counts_exactly_below_the_limit(admin_client: Client, three):
    response = admin_client.get(reverse(CHANGELIST))
    changelist = response.context["cl"]
    assert changelist.result_count == IssuedCertificate.objects.count()
    assert changelist.paginator.estimated is False
    assert b"about</span>" not in response.content


def test_above_the_limit_the_admin_and_the_api_say_the_count_is_estimated(
    admin_client: Client, three, monkeypatch
):
    require_postgresql()
    monkeypatch.setattr(EstimatedCountPaginator, "exact_limit", 1)
    monkeypatch.setattr(EstimatedCountPagination, "exact_limit", 1)
    response = admin_client.get(reverse(CHANGELIST))
    changelist = response.context["cl"]
    assert changelist.paginator.estimated is True
    assert changelist.result_count >= 2  # the planner's estimate, never below the rows seen
    assert b"about</span>" in response.content
    assert len(changelist.result_list) == IssuedCertificate.objects.count()  # the rows are never estimated

    body = admin_client.get("/api/v1/certificates/").json()
    assert body["count_estimated"] is True
    assert len(body["results"]) == IssuedCertificate.objects.count()


def test_the_api_says_when_the_count_is_exact(admin_client: Client, three):
    body = admin_client.get("/api/v1/certificates/").json()
    assert body["count"] == IssuedCertificate.objects.count()
    assert body["count_estimated"] is False


def test_a_not_after_filter_orders_by_not_after_unless_asked_otherwise(admin_client: Client, three):
    def subjects(query):
        rows = admin_client.get("/api/v1/certificates/", query).json()["results"]
        return [row["subject"] for row in rows if row["subject"].startswith("CN=list-")]

    assert subjects({"expiring_within_days": 365}) == ["CN=list-0", "CN=list-2", "CN=list-1"]
    assert subjects({"expiring_within_days": 365, "ordering": "-not_after"}) == [
        "CN=list-1",
        "CN=list-2",
        "CN=list-0",
    ]
    assert subjects({}) == ["CN=list-2", "CN=list-1", "CN=list-0"]  # newest first

    response = admin_client.get(reverse(CHANGELIST), {"expires_before": "365d"})
    shown = [c.subject for c in response.context["cl"].result_list if c.subject.startswith("CN=list-")]
    assert shown == ["CN=list-0", "CN=list-2", "CN=list-1"]


def test_the_date_drill_down_comes_from_the_range(admin_client: Client, three):
    first = IssuedCertificate.objects.order_by("not_before")[0].not_before
    dates = RangeDates(IssuedCertificate.objects.all(), "not_before", {})
    today = timezone.localdate()
    assert dates.dates("not_before", "year")[-1] == dt.date(today.year, 1, 1)
    chosen = RangeDates(IssuedCertificate.objects.all(), "not_before", {"not_before__year": str(today.year)})
    assert dt.date(today.year, today.month, 1) in chosen.dates("not_before", "month")
    month = RangeDates(
        IssuedCertificate.objects.all(),
        "not_before",
        {"not_before__year": [str(today.year)], "not_before__month": [str(today.month)]},
    )
    assert today in month.dates("not_before", "day")
    assert all(day >= timezone.localtime(first).date() for day in month.dates("not_before", "day"))

    page = admin_client.get(
        reverse(CHANGELIST), {"not_before__year": today.year, "not_before__month": today.month}
    )
    assert page.status_code == 200
    assert (
        page.context["cl"].result_count
        == IssuedCertificate.objects.filter(
            not_before__year=today.year, not_before__month=today.month
        ).count()
    )


def test_a_pasted_serial_or_thumbprint_is_looked_up_exactly(admin_client: Client, three):
    target = three.get(subject="CN=list-1")
    for term in (target.serial, target.serial.lower(), target.fingerprint_sha1, target.fingerprint_sha256):
        response = admin_client.get(reverse(CHANGELIST), {"q": term})
        assert [c.pk for c in response.context["cl"].result_list] == [target.pk]
    spaced = ":".join(target.fingerprint_sha1[i : i + 2] for i in range(0, 40, 2))
    response = admin_client.get(reverse(CHANGELIST), {"q": spaced})
    assert [c.pk for c in response.context["cl"].result_list] == [target.pk]
    # A fragment is still searched as text.
    response = admin_client.get(reverse(CHANGELIST), {"q": target.serial[2:12]})
    assert target.pk in [c.pk for c in response.context["cl"].result_list]
