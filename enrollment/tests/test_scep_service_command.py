"""Changing SCEP services that exist: ``manage.py scep_service show|update``, and ``init_scep_service``
refusing what it would have ignored. The story of issue 10: the NDES URL moves from the legacy demo
service to a strict one.
"""

from __future__ import annotations

import io

import pytest

from django.core.management import CommandError, call_command

from ca.models import CertificateTemplate
from enrollment import scep
from enrollment.models import ScepService
from enrollment.ra import ra_identity
from enrollment.services.registration import scep_service_create
from enrollment.tests.fixtures import STATIC_CHALLENGE, Device, ScepTester
from enrollment.verifiers.static import static_challenge_digest

STRICT_CAPS = ["POSTPKIOperation", "SHA-256", "SHA-384", "SHA-512", "AES", "SCEPStandard", "Renewal"]
NDES = "/certsrv/mscep/mscep.dll"
DEFAULT_LINE = "default service (/scep, /certsrv/mscep/mscep.dll, /cgi-bin/pkiclient.exe)"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def demo_services(pki, registration_authority) -> tuple[ScepService, ScepService]:
    """As demo_setup leaves them: the legacy service is the default; a strict one made beside it."""
    legacy = scep_service_create(
        slug="demo",
        name="certportal demo SCEP",
        authority=pki.issuing,
        registration_authority=registration_authority,
        general_purpose_template=pki.template,
        allow_legacy_algorithms=True,
        static_challenge=STATIC_CHALLENGE,
        is_default=True,
    )
    run("init_scep_service", "--slug", "corp", "--ca", "test-issuing", "--template", "TestClientAuth",
        f"--static-challenge={STATIC_CHALLENGE}")  # fmt: skip
    return legacy, ScepService.objects.get(slug="corp")


def caps(client, path: str) -> list[str]:
    response = client.get(path, {"operation": "GetCACaps"})
    assert response.status_code == 200
    lines: list[str] = response.content.decode("ascii").splitlines()
    return lines


@pytest.mark.django_db(transaction=True)  # the enrollment below waits for the CA task, which runs on commit
def test_the_ndes_url_moves_from_the_legacy_service_to_a_strict_one(client, demo_services, device_keys, pki):
    legacy, strict = demo_services
    assert caps(client, NDES) == [*STRICT_CAPS, "SHA-1", "DES3"]  # the legacy demo service

    # init_scep_service does not move the default: it says so, changes nothing, and names the command.
    with pytest.raises(CommandError) as refused:
        run("init_scep_service", "--slug", "corp", "--ca", "test-issuing", "--template", "TestClientAuth",
            "--default")  # fmt: skip
    assert str(refused.value) == (
        "SCEP service corp exists, and init_scep_service changes only its static challenge and --static-* "
        "policy; these options would be ignored: --default (it is not the default service). Nothing was "
        "changed; change them with: manage.py scep_service update corp --default"
    )
    assert ScepService.objects.get(is_default=True) == legacy

    output = run("scep_service", "update", "corp", "--default")

    assert output.splitlines() == [
        "SCEP service demo: changed",
        f"  {DEFAULT_LINE}: yes → no",
        "SCEP service corp: changed",
        f"  {DEFAULT_LINE}: no → yes",
        "/certsrv/mscep/mscep.dll, /scep and /cgi-bin/pkiclient.exe now serve SCEP service corp",
    ]
    assert ScepService.objects.get(is_default=True) == strict
    for path in (NDES, f"{NDES}/pkiclient.exe", "/scep", "/cgi-bin/pkiclient.exe"):
        assert caps(client, path) == STRICT_CAPS, path  # no SHA-1, no DES3
    assert caps(client, "/scep/demo") == [*STRICT_CAPS, "SHA-1", "DES3"]  # still at its own path

    # A device at the NDES URL now gets the strict service: AES + SHA-256 enrol, triple DES is badAlg.
    ra = ra_identity(strict.registration_authority)
    tester = ScepTester(client, strict, (ra.certificate, *ra.ca_chain))
    enrolled = tester.exchange(tester.pkcs_req(Device.create(device_keys[0])), path=NDES)
    assert enrolled.status is scep.PkiStatus.SUCCESS, enrolled.fail_info_text
    assert enrolled.certificate is not None
    assert enrolled.certificate.issuer == pki.issuing.certificate.subject
    old_client = tester.pkcs_req(
        Device.create(device_keys[1]), cipher=scep.ContentCipher.DES3_CBC, digest=scep.DigestAlgorithm.SHA1
    )
    refused_alg = tester.exchange(old_client, path=NDES, policy=scep.AlgorithmPolicy(allow_legacy=True))
    assert refused_alg.status is scep.PkiStatus.FAILURE
    assert refused_alg.fail_info is scep.FailInfo.BAD_ALG


def test_init_scep_service_refuses_each_option_it_would_ignore(demo_services):
    legacy, _ = demo_services
    other = CertificateTemplate(name="Other", display_name="Other")
    other.full_clean()
    other.save()
    before = ScepService.objects.get(pk=legacy.pk)

    with pytest.raises(CommandError) as refused:
        run("init_scep_service", "--slug", "demo", "--ca", "test-issuing", "--template", "Other",
            "--no-legacy", "--name", "Demo NDES", "--static-challenge", "another-challenge")  # fmt: skip

    assert str(refused.value) == (
        "SCEP service demo exists, and init_scep_service changes only its static challenge and --static-* "
        "policy; these options would be ignored: --name (is 'certportal demo SCEP'), --no-legacy (legacy "
        "algorithms are on), --template Other (is TestClientAuth). Nothing was changed; change them with: "
        "manage.py scep_service update demo --name 'Demo NDES' --no-legacy --template Other"
    )
    after = ScepService.objects.get(pk=legacy.pk)
    assert after.updated_at == before.updated_at
    assert after.static_challenge_digest == static_challenge_digest(STATIC_CHALLENGE)  # not changed either


def test_init_scep_service_with_its_own_settings_again_changes_nothing(demo_services):
    legacy, _ = demo_services
    output = run("init_scep_service", "--slug", "demo", "--ca", "test-issuing", "--template",
                 "TestClientAuth", "--default", "--legacy",
                 f"--static-challenge={STATIC_CHALLENGE}")  # fmt: skip
    assert output.splitlines()[0] == "SCEP service demo exists; left as is"
    assert ScepService.objects.get(pk=legacy.pk).updated_at == legacy.updated_at


def test_update_prints_each_change_and_never_the_challenge(demo_services):
    _, strict = demo_services

    output = run("scep_service", "update", "corp", "--legacy", "--static-san-types", "dns,ip",
                 "--static-challenge", "a-new-challenge", "--renewal-window-days", "30",
                 "--name", "Corp NDES")  # fmt: skip

    assert output.splitlines() == [
        "SCEP service corp: changed",
        "  name: Test Issuing CA SCEP → Corp NDES",
        "  legacy algorithms (DES, 3DES, SHA-1): no → yes",
        "  static challenge: set → changed",
        "  static challenge: SAN types: dns → dns, ip",
        "  renewal window: any time before expiry → the last 30 days before expiry",
    ]
    strict.refresh_from_db()
    assert strict.static_challenge_digest == static_challenge_digest("a-new-challenge")
    assert "a-new-challenge" not in output
    removed = run("scep_service", "update", "corp", "--no-static-challenge")
    assert removed.splitlines() == ["SCEP service corp: changed", "  static challenge: set → none"]


def test_update_with_the_values_it_has_changes_nothing(demo_services):
    _, strict = demo_services
    output = run("scep_service", "update", "corp", "--no-legacy", "--no-default", "--static-san-types", "dns")
    assert output.splitlines() == ["SCEP service corp: nothing to change, the settings given are its own"]
    assert ScepService.objects.get(pk=strict.pk).updated_at == strict.updated_at


def test_update_dry_run_changes_nothing(demo_services):
    legacy, strict = demo_services
    output = run("scep_service", "update", "corp", "--default", "--legacy", "--dry-run")
    assert output.splitlines() == [
        "SCEP service demo: would change",
        f"  {DEFAULT_LINE}: yes → no",
        "SCEP service corp: would change",
        f"  {DEFAULT_LINE}: no → yes",
        "  legacy algorithms (DES, 3DES, SHA-1): no → yes",
    ]
    assert ScepService.objects.get(is_default=True) == legacy
    assert not ScepService.objects.get(pk=strict.pk).allow_legacy_algorithms


def test_an_invalid_value_changes_nothing_not_even_the_default(demo_services):
    legacy, _ = demo_services
    with pytest.raises(CommandError, match="must not itself repeat or alternate"):
        run("scep_service", "update", "corp", "--default", "--static-subject-pattern", "CN=(a|b)+")
    assert ScepService.objects.get(is_default=True) == legacy


def test_no_default_leaves_the_ndes_url_without_a_service(client, demo_services):
    output = run("scep_service", "update", "demo", "--no-default")
    assert output.splitlines()[-1] == (
        "no SCEP service is the default: /certsrv/mscep/mscep.dll, /scep and /cgi-bin/pkiclient.exe "
        "answer 404"
    )
    assert client.get(NDES, {"operation": "GetCACaps"}).status_code == 404
    assert client.get("/scep/demo", {"operation": "GetCACaps"}).status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("update", "nope", "--default"),
            r"^no SCEP service 'nope' \(manage\.py init_scep_service creates one\)$",
        ),
        (("update", "corp"), r"^nothing to change: give the settings to change"),
        (("update", "corp", "--template", "Nope"), r"^no certificate template 'Nope'$"),
        (("update", "corp", "--template", ""), r"^--template cannot be empty"),
        (
            ("update", "corp", "--static-challenge", "short"),
            r"^a static challenge needs at least 8 characters$",
        ),
        (("show", "corp", "nope"), r"^no SCEP service 'nope'$"),
    ],
)
def test_errors_are_command_errors(demo_services, args, message):
    with pytest.raises(CommandError, match=message):
        run("scep_service", *args)


def test_show_prints_every_setting(demo_services, registration_authority):
    output = run("scep_service", "show", "demo")
    ra = registration_authority
    assert output.splitlines() == [
        "SCEP service demo (certportal demo SCEP)",
        "  path: /scep/demo (the default: also /certsrv/mscep/mscep.dll, /scep and /cgi-bin/pkiclient.exe)",
        "  CA: test-issuing (CN=Test Issuing CA,O=certportal tests)",
        f"  RA: {ra.name}, SHA-1 {ra.fingerprint_sha1}, until {ra.not_after:%Y-%m-%d %H:%M}Z",
        "  next RA (GetNextCACert): none (no CA rollover under way)",
        "  name: certportal demo SCEP",
        "  enabled: yes",
        f"  {DEFAULT_LINE}: yes",
        "  legacy algorithms (DES, 3DES, SHA-1): yes",
        "  template (NDES GeneralPurposeTemplate): TestClientAuth",
        "  signature template (NDES SignatureTemplate): none",
        "  encryption template (NDES EncryptionTemplate): none",
        "  static challenge: set",
        "  static challenge: subject from the request: yes",
        "  static challenge: SAN types: dns",
        "  static challenge: subject pattern: (any subject)",
        "  one-time challenges (SCEP profiles): yes",
        "  renewal (RenewalReq): yes",
        "  renewal window: any time before expiry",
    ]
    assert [line for line in run("scep_service", "show").splitlines() if line.startswith("SCEP service")] == [
        "SCEP service corp (Test Issuing CA SCEP)",
        "SCEP service demo (certportal demo SCEP)",
    ]
