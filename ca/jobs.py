"""Tasks on the default queue for the RA side of the CA. They never need a CA key.

(``ca.tasks`` holds the CA worker's tasks; ``jobs`` modules hold each app's default-queue tasks:
sweeps, notifications, bulk work. ``portal.celery`` discovers both.)
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from ca.conf import ca_settings
from ca.services.ocsp import ocsp_responder_refresh
from ca.services.pkcs_requests import pkcs_request_redispatch_stale
from ca.services.revocation_requests import revocation_request_redispatch_stale
from ca.services.server_certificates import server_certificate_renew_due
from ca.services.submission import certificate_request_redispatch_stale

__all__ = ["certificate_request_sweep_task", "ocsp_responder_refresh_task", "server_certificate_renew_task"]


@shared_task(name="ca.jobs.certificate_request_sweep_task", acks_late=True)
def certificate_request_sweep_task() -> int:
    """Beat: dispatch again the certificate, PKCS and revocation requests queued for longer than
    ``CERTPORTAL_REQUEST_REDISPATCH_AFTER`` (a lost task, a broker outage at submission).
    """
    after = dt.timedelta(seconds=ca_settings().REQUEST_REDISPATCH_AFTER)
    return (
        certificate_request_redispatch_stale(older_than=after)
        + pkcs_request_redispatch_stale(older_than=after)
        + revocation_request_redispatch_stale(older_than=after)
    )


@shared_task(name="ca.jobs.ocsp_responder_refresh_task", acks_late=True)
def ocsp_responder_refresh_task() -> list[int]:
    """Beat: an OCSP responder for every enabled CA that has none, and a new one for each responder past
    half its lifetime (the CA worker signs them through the request queue). Needs the OCSP key passphrase.
    """
    return [responder.pk for responder in ocsp_responder_refresh().created]


@shared_task(name="ca.jobs.server_certificate_renew_task", acks_late=True)
def server_certificate_renew_task() -> int | None:
    """Beat: renew the portal's TLS server certificate in ``CERTPORTAL_TLS_DIR`` (``manage.py
    tls_certificate``) when less than ``CERTPORTAL_TLS_RENEWAL_THRESHOLD`` of its lifetime is left, or it
    has expired or was revoked (the CA worker signs; the new files replace the old ones atomically).
    Returns the new certificate's id. Needs no secret; the worker needs the directory.
    """
    issued = server_certificate_renew_due()
    return issued.pk if issued is not None else None
