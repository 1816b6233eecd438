"""authority_create: root and subordinate CAs, with the key created by the key backend."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID

from django.utils import timezone

from ca.crypto.keys import KeySpec
from ca.exceptions import AuthorityUnavailable, PolicyViolation
from ca.models import CertificateAuthority
from ca.services.authorities import authority_create, authority_urls
from ca.tests.pki import openssl_verify


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _create(slug: str, **kwargs) -> CertificateAuthority:
    values: dict[str, Any] = {
        "name": slug,
        "slug": slug,
        "subject": _name(slug),
        "key_spec": KeySpec("EC", 256),
        "validity_days": 30,
    }
    values.update(kwargs)
    return authority_create(**values)


def test_authority_urls_follow_the_base_url(settings):
    assert authority_urls("corp") == {
        "crl_url": "http://127.0.0.1:8000/crl/corp.crl",
        "issuer_url": "http://127.0.0.1:8000/ca/corp.crt",
        "ocsp_url": "http://127.0.0.1:8000/ocsp/corp",
    }
    settings.CERTPORTAL_BASE_URL = "https://pki.example/"
    assert authority_urls("corp")["crl_url"] == "https://pki.example/crl/corp.crl"
    assert authority_urls("corp", base_url="http://other")["issuer_url"] == "http://other/ca/corp.crt"


def test_root_has_no_distribution_points_and_its_row_matches_its_certificate(db):
    root = _create("root", base_url="https://pki.example")
    certificate = root.certificate
    assert root.is_root
    assert {e.oid for e in certificate.extensions} == {
        ExtensionOID.BASIC_CONSTRAINTS,
        ExtensionOID.KEY_USAGE,
        ExtensionOID.SUBJECT_KEY_IDENTIFIER,
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
    }
    assert root.crl_url == "https://pki.example/crl/root.crl"
    assert root.issuer_url == "https://pki.example/ca/root.crt"
    assert int(root.serial, 16) == certificate.serial_number
    assert root.subject == "CN=root"
    assert (root.key_type, root.key_size) == ("EC", 256)
    assert root.not_before == certificate.not_valid_before_utc
    assert root.not_after == certificate.not_valid_after_utc


def test_subordinate_points_at_its_parents_crl_and_certificate(db, tmp_path):
    root = _create("root")
    issuing = _create("issuing", parent=root, path_length=0)
    cdp = issuing.certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert cdp[0].full_name == [x509.UniformResourceIdentifier(root.crl_url)]
    aia = issuing.certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [d.access_location.value for d in aia] == [root.ocsp_url, root.issuer_url]  # OCSP first
    assert issuing.crl_url == "http://127.0.0.1:8000/crl/issuing.crl"
    openssl_verify(tmp_path, issuing.certificate, root.certificate, purpose="any")


def test_subordinate_validity_is_capped_to_the_parents(db):
    root = _create("root", validity_days=5)
    issuing = _create("issuing", parent=root, validity_days=50)
    assert issuing.not_after == root.not_after


@pytest.mark.parametrize("days", [0, -3])
def test_validity_must_be_at_least_a_day(db, days):
    with pytest.raises(PolicyViolation) as excinfo:
        _create("root", validity_days=days)
    assert excinfo.value.code == "validity_not_allowed"
    assert CertificateAuthority.objects.count() == 0


def test_disabled_parent_cannot_sign(db):
    root = _create("root")
    root.enabled = False
    root.save()
    with pytest.raises(AuthorityUnavailable, match="is disabled"):
        _create("issuing", parent=root)
    assert CertificateAuthority.objects.count() == 1


def test_expired_parent_cannot_sign(db, time_machine):
    root = _create("root", validity_days=1)
    time_machine.move_to(root.not_after + dt.timedelta(seconds=1), tick=False)
    with pytest.raises(AuthorityUnavailable, match="has expired"):
        _create("issuing", parent=root)
    assert CertificateAuthority.objects.count() == 1
    assert timezone.now() > root.not_after
