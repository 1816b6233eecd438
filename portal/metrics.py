"""``/metrics``: the Prometheus exposition of the web tier, and the gauges computed when it is scraped.

Counters and histograms are recorded where things happen (``core.metrics``); with several processes
(gunicorn's workers, ``PROMETHEUS_MULTIPROC_DIR``) a scrape adds up every process's files. The state of
the PKI is read from the database and the broker at each scrape, by ``StateCollector``, so it is the truth
and not a sum of increments that drifts (a restart, a revocation by another process, a deleted row):

* ``certportal_certificates_issued``, ``..._revoked``, ``..._valid`` and ``..._expiring_30d`` per CA and
  template (``expiring``: valid, not revoked, notAfter within 30 days);
* ``certportal_certificate_requests`` per status (pending approval, queued for the CA worker, ...);
* ``certportal_crl_age_seconds`` and ``certportal_crl_next_update_seconds`` per CA (the latest CRL);
* ``certportal_ca_queue_length`` (messages waiting in the ``ca`` queue; absent in the embedded default) and
  ``certportal_ca_workers_ready`` (CA workers whose heartbeat is fresh and who can sign).

Access: ``CERTPORTAL_METRICS_TOKEN`` (a bearer token) and/or ``CERTPORTAL_METRICS_ALLOWED_NETWORKS``; with
neither, ``/metrics`` is a 404 (it is not there); a request that does not pass is a 403.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from django.db.models import Count, Max, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ca.conf import ca_settings
from ca.models import CertificateRequest, CertificateRevocationList, IssuedCertificate
from ca.worker_status import ca_queue_length, worker_statuses_read
from core.addresses import client_address
from portal.conf import portal_settings

__all__ = ["StateCollector", "metrics_allowed", "metrics_registry", "metrics_view"]

logger = logging.getLogger(__name__)

EXPIRING_WITHIN = dt.timedelta(days=30)


class StateCollector(Collector):
    """Gauges read from the database and the broker at each scrape; what cannot be read is left out (and
    ``certportal_state_up`` says so), the scrape itself does not fail.
    """

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "certportal_state_up",
            "Whether the part of the state could be read at this scrape",
            labels=["part"],
        )
        for part, read in (("certificates", self._certificates), ("crls", self._crls), ("ca", self._ca)):
            try:
                families = list(read())
            except Exception as exc:
                logger.warning("metrics: the %s could not be read: %s", part, exc)
                up.add_metric([part], 0)
                continue
            up.add_metric([part], 1)
            yield from families
        yield up

    def _certificates(self) -> Iterable[Metric]:
        now = timezone.now()
        labels = ["authority", "template"]
        families = {
            name: GaugeMetricFamily(f"certportal_certificates_{name}", help_text, labels=labels)
            for name, help_text in (
                ("issued", "Certificates issued, by CA and template"),
                ("revoked", "Certificates revoked, by CA and template"),
                ("valid", "Certificates neither revoked nor expired, by CA and template"),
                ("expiring_30d", "Valid certificates whose notAfter is within 30 days, by CA and template"),
            )
        }
        live = Q(revoked_at__isnull=True, not_after__gt=now)
        rows = (
            IssuedCertificate.objects.values("authority__slug", "template__name")
            .annotate(
                issued=Count("pk"),
                revoked=Count("pk", filter=Q(revoked_at__isnull=False)),
                valid=Count("pk", filter=live),
                expiring_30d=Count("pk", filter=live & Q(not_after__lte=now + EXPIRING_WITHIN)),
            )
            .order_by("authority__slug", "template__name")
        )
        for row in rows:
            values: dict[str, Any] = dict(row)
            for name, family in families.items():
                family.add_metric([values["authority__slug"], values["template__name"]], values[name])
        yield from families.values()
        requests = GaugeMetricFamily(
            "certportal_certificate_requests", "Certificate requests, by status", labels=["status"]
        )
        counted = CertificateRequest.objects.values("status").annotate(n=Count("pk")).order_by("status")
        for request_row in counted:
            requests.add_metric([request_row["status"]], request_row["n"])
        yield requests

    def _crls(self) -> Iterable[Metric]:
        now = timezone.now()
        age = GaugeMetricFamily(
            "certportal_crl_age_seconds",
            "Seconds since the latest CRL's thisUpdate, by CA",
            labels=["authority"],
        )
        left = GaugeMetricFamily(
            "certportal_crl_next_update_seconds",
            "Seconds until the latest CRL's nextUpdate (negative: stale), by CA",
            labels=["authority"],
        )
        rows = (
            CertificateRevocationList.objects.values("authority__slug")
            .annotate(this_update=Max("this_update"), next_update=Max("next_update"))
            .order_by("authority__slug")
        )
        for row in rows:
            age.add_metric([row["authority__slug"]], (now - row["this_update"]).total_seconds())
            left.add_metric([row["authority__slug"]], (row["next_update"] - now).total_seconds())
        yield age
        yield left

    def _ca(self) -> Iterable[Metric]:
        stale_after = 3 * ca_settings().CA_HEARTBEAT_INTERVAL
        ready = sum(1 for status in worker_statuses_read() if status.ready and status.age() <= stale_after)
        yield GaugeMetricFamily(
            "certportal_ca_workers_ready", "CA workers with a fresh heartbeat that can sign", value=ready
        )
        length = ca_queue_length()
        if length is not None:
            yield GaugeMetricFamily(
                "certportal_ca_queue_length", "Messages waiting in the ca queue for a CA worker", value=length
            )


class _ProcessCollector(Collector):
    """This process's own metrics (no multi-process directory): what the default registry holds."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def metrics_registry(*, state: bool) -> CollectorRegistry:
    """A registry for one scrape: every process's values (or this process's), and the state if asked."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ProcessCollector())
    if state:
        registry.register(StateCollector())
    return registry


def metrics_allowed(*, address: str | None, authorization: str) -> bool | None:
    """None when the metrics are off (no token, no networks); else whether this client may read them."""
    config = portal_settings()
    if not config.metrics_enabled:
        return None
    token = config.METRICS_TOKEN.get_secret_value()
    if token:
        scheme, _, offered = authorization.partition(" ")
        if scheme.lower() != "bearer" or not constant_time_compare(offered.strip(), token):
            return False
    if config.METRICS_ALLOWED_NETWORKS:
        try:
            client = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        if not any(client in network for network in config.METRICS_ALLOWED_NETWORKS):
            return False
    return True


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    allowed = metrics_allowed(
        address=client_address(request), authorization=request.META.get("HTTP_AUTHORIZATION", "")
    )
    if allowed is None:
        raise Http404("metrics are not enabled")
    if not allowed:
        return HttpResponse("forbidden\n", status=403, content_type="text/plain; charset=utf-8")
    body = generate_latest(metrics_registry(state=True))
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
