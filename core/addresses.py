"""The client's address behind the trusted proxies: one rule for the rate limits, the login lockout, the
SCEP transactions and events, and the audit log.

Behind nginx (docker-compose.yml, deploy/nginx/) every request's TCP peer is nginx; the client is the
address nginx put last in X-Forwarded-For (it sets the header, never extends a client's own). With
``CERTPORTAL_NUM_PROXIES`` = n trusted proxies, the client is the n-th address from the right, as DRF's
``get_ident`` counts for the API's rate limits. Without trusted proxies, or without the header, it is the
peer; a value that is no IP address is never believed (the peer is used instead).
"""

from __future__ import annotations

import ipaddress

from django.http import HttpRequest
from rest_framework.settings import api_settings

__all__ = ["client_address"]


def client_address(request: HttpRequest) -> str | None:
    remote = request.META.get("REMOTE_ADDR") or None
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    proxies = api_settings.NUM_PROXIES or 0
    if not proxies or not forwarded:
        return remote
    addresses = [address.strip() for address in forwarded.split(",")]
    candidate = addresses[-min(proxies, len(addresses))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:  # a proxy that passes on garbage: count the peer rather than store it
        return remote
