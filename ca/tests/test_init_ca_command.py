"""manage.py init_ca: root and subordinate CAs, idempotent by slug, refusing bad input with a CommandError."""

from __future__ import annotations

from io import StringIO

import pytest

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from django.core.management import CommandError, call_command

from ca.models import CertificateAuthority, CertificateRevocationList, CertificateTemplate
from ca.tests.pki import openssl_verify

pytestmark = pytest.mark.django_db

ROOT = [
    "--slug",
    "corp-root",
    "--name",
    "Corp Root CA",
    "--subject",
    "CN=Corp Root CA,O=Corp",
    "--key",
    "RSA-2048",
    "--validity-days",
    "3650",
]
ISSUING = [
    "--slug",
    "corp-issuing",
    "--name",
    "Corp Issuing CA",
    "--subject",
    "CN=Corp Issuing CA,O=Corp",
    "--parent",
    "corp-root",
    "--key",
    "RSA-2048",
    "--validity-days",
    "1825",
    "--path-length",
    "0",
]
ALLOWED = "choose one of RSA-2048, RSA-3072, RSA-4096, EC-P256, EC-P384"


def _init_ca(*args: str) -> str:
    out = StringIO()
    call_command("init_ca", *args, stdout=out)
    return out.getvalue()


def test_creates_a_root_ca_with_a_first_crl():
    output = _init_ca(*ROOT)
    root = CertificateAuthority.objects.get(slug="corp-root")
    assert "created CA corp-root: CN=Corp Root CA,O=Corp" in output
    assert root.is_root
    assert root.name == "Corp Root CA"
    assert root.certificate.subject == x509.Name.from_rfc4514_string("CN=Corp Root CA,O=Corp")
    assert root.certificate.issuer == root.certificate.subject
    assert isinstance(root.certificate.public_key(), rsa.RSAPublicKey)
    assert (root.key_type, root.key_size) == ("RSA", 2048)
    assert root.crl_url == "http://127.0.0.1:8000/crl/corp-root.crl"
    assert list(
        CertificateRevocationList.objects.filter(authority=root).values_list("number", flat=True)
    ) == [1]
    assert (root.not_after - root.not_before).days == 3650


def test_creates_a_subordinate_ca_whose_chain_openssl_verifies(tmp_path):
    _init_ca(*ROOT)
    _init_ca(*ISSUING)
    root = CertificateAuthority.objects.get(slug="corp-root")
    issuing = CertificateAuthority.objects.get(slug="corp-issuing")
    assert issuing.parent == root
    assert issuing.chain() == [issuing, root]
    basic = issuing.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert basic == x509.BasicConstraints(ca=True, path_length=0)
    cdp = issuing.certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert cdp[0].full_name == [x509.UniformResourceIdentifier(root.crl_url)]
    openssl_verify(tmp_path, issuing.certificate, root.certificate, purpose="any")


def test_creates_an_ec_subordinate_under_an_rsa_root(tmp_path):
    _init_ca(*ROOT)
    _init_ca(*[("EC-P384" if arg == "RSA-2048" else arg) for arg in ISSUING])
    issuing = CertificateAuthority.objects.get(slug="corp-issuing")
    assert isinstance(issuing.certificate.public_key(), ec.EllipticCurvePublicKey)
    assert (issuing.key_type, issuing.key_size) == ("EC", 384)
    assert issuing.parent is not None
    openssl_verify(tmp_path, issuing.certificate, issuing.parent.certificate, purpose="any")


def test_subordinate_validity_is_capped_to_its_parent():
    _init_ca(*[("10" if arg == "3650" else arg) for arg in ROOT])
    _init_ca(*ISSUING)
    root = CertificateAuthority.objects.get(slug="corp-root")
    assert CertificateAuthority.objects.get(slug="corp-issuing").not_after == root.not_after


def test_second_run_keeps_the_existing_ca():
    _init_ca(*ROOT)
    before = CertificateAuthority.objects.get(slug="corp-root")
    output = _init_ca(*ROOT)
    assert "CA corp-root already exists (CN=Corp Root CA,O=Corp); left as is" in output
    assert CertificateAuthority.objects.count() == 1
    after = CertificateAuthority.objects.get()
    assert (after.pk, after.fingerprint_sha256, after.key_reference) == (
        before.pk,
        before.fingerprint_sha256,
        before.key_reference,
    )
    assert CertificateRevocationList.objects.count() == 1


def test_second_run_publishes_the_templates_given():
    _init_ca(*ROOT)
    CertificateTemplate.objects.create(name="Wifi", display_name="Wi-Fi")
    _init_ca(*ROOT, "--template", "Wifi")
    assert list(CertificateAuthority.objects.get().published_templates.values_list("name", flat=True)) == [
        "Wifi"
    ]


def test_publishes_templates_on_creation():
    CertificateTemplate.objects.create(name="Wifi", display_name="Wi-Fi")
    CertificateTemplate.objects.create(name="Vpn", display_name="VPN")
    _init_ca(*ROOT, "--template", "Wifi", "--template", "Vpn")
    assert sorted(CertificateAuthority.objects.get().published_templates.values_list("name", flat=True)) == [
        "Vpn",
        "Wifi",
    ]


def test_unknown_template_is_a_command_error():
    _init_ca(*ROOT)
    with pytest.raises(CommandError, match="no certificate template 'Nope'"):
        _init_ca(*ROOT, "--template", "Nope")


def test_refuses_a_different_subject_for_an_existing_slug():
    _init_ca(*ROOT)
    other = [("CN=Other Root,O=Corp" if arg == "CN=Corp Root CA,O=Corp" else arg) for arg in ROOT]
    with pytest.raises(
        CommandError, match="exists with subject 'CN=Corp Root CA,O=Corp', not 'CN=Other Root,O=Corp'"
    ):
        _init_ca(*other)
    assert CertificateAuthority.objects.count() == 1


@pytest.mark.parametrize("key", ["RSA-1024", "RSA-5000", "EC-P521", "DSA-2048"])
def test_unsupported_key_is_a_command_error_listing_the_allowed_keys(key):
    args = [(key if arg == "RSA-2048" else arg) for arg in ROOT]
    with pytest.raises(CommandError) as excinfo:
        _init_ca(*args)
    assert f"unsupported CA key {key!r}" in str(excinfo.value)
    assert ALLOWED in str(excinfo.value)
    assert CertificateAuthority.objects.count() == 0


def test_bad_subject_is_a_command_error():
    args = [("no equals sign" if arg == "CN=Corp Root CA,O=Corp" else arg) for arg in ROOT]
    with pytest.raises(CommandError, match="--subject is not an RFC 4514 name"):
        _init_ca(*args)
    assert CertificateAuthority.objects.count() == 0


def test_zero_validity_is_a_command_error():
    args = [("0" if arg == "3650" else arg) for arg in ROOT]
    with pytest.raises(CommandError, match="--validity-days must be at least 1"):
        _init_ca(*args)
    assert CertificateAuthority.objects.count() == 0


def test_unknown_parent_is_a_command_error():
    with pytest.raises(CommandError, match="no CA with slug 'corp-root'"):
        _init_ca(*ISSUING)
    assert CertificateAuthority.objects.count() == 0


def test_wrong_passphrase_for_the_parent_key_is_a_command_error(settings):
    _init_ca(*ROOT)
    settings.CERTPORTAL_CA_KEY_PASSPHRASE = "not-the-passphrase"
    with pytest.raises(CommandError, match="CERTPORTAL_CA_KEY_PASSPHRASE"):
        _init_ca(*ISSUING)
    assert list(CertificateAuthority.objects.values_list("slug", flat=True)) == ["corp-root"]


def test_missing_passphrase_is_a_command_error(settings):
    settings.CERTPORTAL_CA_KEY_PASSPHRASE = ""
    with pytest.raises(CommandError, match="no CA key passphrase"):
        _init_ca(*ROOT)
    assert CertificateAuthority.objects.count() == 0


def test_disabled_parent_is_a_command_error():
    _init_ca(*ROOT)
    CertificateAuthority.objects.filter(slug="corp-root").update(enabled=False)
    with pytest.raises(CommandError, match="parent CA Corp Root CA is disabled"):
        _init_ca(*ISSUING)
    assert CertificateAuthority.objects.count() == 1


def test_duplicate_name_is_a_command_error():
    _init_ca(*ROOT)
    args = [("other-root" if arg == "corp-root" else arg) for arg in ROOT]
    with pytest.raises(CommandError, match="Certificate authority with this Name already exists"):
        _init_ca(*args)
    assert CertificateAuthority.objects.count() == 1
