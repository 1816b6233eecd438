"""The SCEP endpoint records the device's address, not the proxy's: behind nginx every peer is nginx.

With ``CERTPORTAL_NUM_PROXIES`` = 1 (compose), the client is the address nginx put in X-Forwarded-For, so
the per-address caps on pending requests and the event log see devices, not one client; without a trusted
proxy a client's own X-Forwarded-For is never believed.
"""

from __future__ import annotations

import copy

import pytest

from django.conf import settings
from django.test import override_settings

from enrollment import scep
from enrollment.models import ScepTransaction
from enrollment.tests.fixtures import Device
from eventlog.models import ConnectorEvent

PROXY, DEVICE = "10.0.0.5", "198.51.100.7"


def _send(scep_client, device: Device) -> None:
    sent = scep_client.pkcs_req(device)
    response = scep_client.client.post(
        f"{scep_client.url}?operation=PKIOperation",
        data=sent.der,
        content_type=scep.CONTENT_TYPE_PKI_MESSAGE,
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=DEVICE,
    )
    assert response.status_code == 200, response.content


def _rest_framework(num_proxies: int) -> dict[str, object]:
    values = copy.deepcopy(settings.REST_FRAMEWORK)
    values["NUM_PROXIES"] = num_proxies
    return values


@pytest.mark.django_db(transaction=True)
def test_behind_a_trusted_proxy_the_device_address_is_recorded(scep_client, device_keys) -> None:
    with override_settings(REST_FRAMEWORK=_rest_framework(1)):
        _send(scep_client, Device.create(device_keys[0]))
    transaction = ScepTransaction.objects.get()
    assert transaction.client_address == DEVICE
    assert set(
        ConnectorEvent.objects.exclude(client_address=None).values_list("client_address", flat=True)
    ) == {DEVICE}


@pytest.mark.django_db(transaction=True)
def test_without_a_trusted_proxy_a_forwarded_for_header_is_not_believed(scep_client, device_keys) -> None:
    with override_settings(REST_FRAMEWORK=_rest_framework(0)):
        _send(scep_client, Device.create(device_keys[0]))
    assert ScepTransaction.objects.get().client_address == PROXY
