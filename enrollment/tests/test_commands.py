"""Management commands: ``init_ra`` and ``init_scep_service`` (both idempotent)."""

from __future__ import annotations

import io
import re

import pytest

from django.core.management import CommandError, call_command

from ca.tests.pki import openssl_verify
from enrollment import scep
from enrollment.models import RegistrationAuthority, ScepService
from enrollment.tests.fixtures import STATIC_CHALLENGE, Device

#: init_ra waits for its RA certificate, which the (eager) CA task issues on commit.
on_commit = pytest.mark.django_db(transaction=True)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


# --- init_ra ----------------------------------------------------------------------------------------------


@on_commit
def test_init_ra_creates_an_ra_certified_by_the_ca(pki, tmp_path):
    output = run("init_ra", "--ca", "test-issuing")

    ra = RegistrationAuthority.objects.get()
    assert output.strip() == f"created RA {ra} for CA test-issuing"
    assert ra.authority == pki.issuing
    assert ra.name == "Test Issuing CA SCEP RA"
    assert ra.certificate.subject.rfc4514_string() == "CN=Test Issuing CA SCEP RA"
    openssl_verify(tmp_path, ra.certificate, pki.issuing.certificate, pki.root.certificate, purpose="any")
    assert "ENCRYPTED PRIVATE KEY" in ra.encrypted_key_pem


@on_commit
def test_init_ra_is_idempotent(pki):
    run("init_ra", "--ca", "test-issuing")
    first = RegistrationAuthority.objects.get()

    output = run("init_ra", "--ca", "test-issuing")

    assert output.strip() == f"RA {first} exists for test-issuing; left as is"
    assert RegistrationAuthority.objects.get() == first


@on_commit
def test_init_ra_force_creates_another(pki):
    run("init_ra", "--ca", "test-issuing")
    run("init_ra", "--ca", "test-issuing", "--force", "--name", "Second RA", "--subject", "CN=Second RA,O=x")
    assert RegistrationAuthority.objects.count() == 2
    second = RegistrationAuthority.objects.get(name="Second RA")
    assert second.certificate.subject.rfc4514_string() == "CN=Second RA,O=x"


def test_init_ra_for_an_unknown_ca_is_a_command_error(pki):
    with pytest.raises(CommandError, match=r"^no CA with slug 'nope'$"):
        run("init_ra", "--ca", "nope")
    assert RegistrationAuthority.objects.count() == 0


def test_init_ra_with_a_bad_subject_is_a_command_error(pki):
    with pytest.raises(CommandError, match=r"--subject is not an RFC 4514 name"):
        run("init_ra", "--ca", "test-issuing", "--subject", "not a name")
    assert RegistrationAuthority.objects.count() == 0


def test_init_ra_without_the_ra_passphrase_is_a_command_error(pki, settings):
    settings.CERTPORTAL_RA_KEY_PASSPHRASE = ""
    with pytest.raises(CommandError, match="no RA key passphrase"):
        run("init_ra", "--ca", "test-issuing")
    assert RegistrationAuthority.objects.count() == 0


# --- init_scep_service ------------------------------------------------------------------------------------


def test_init_scep_service_creates_a_service(pki, registration_authority):
    output = run(
        "init_scep_service", "--slug", "ndes", "--ca", "test-issuing", "--template", "TestClientAuth"
    )

    assert output.strip() == "created SCEP service ndes"
    service = ScepService.objects.get()
    assert service.slug == "ndes"
    assert service.name == "Test Issuing CA SCEP"
    assert service.authority == pki.issuing
    assert service.registration_authority == registration_authority
    assert service.general_purpose_template == pki.template
    assert service.allow_legacy_algorithms is False
    assert service.is_default is False
    assert service.static_challenge_digest == ""


def test_init_scep_service_is_idempotent(pki, registration_authority):
    run("init_scep_service", "--slug", "ndes", "--ca", "test-issuing", "--template", "TestClientAuth")
    first = ScepService.objects.get()

    output = run(
        "init_scep_service", "--slug", "ndes", "--ca", "test-issuing", "--template", "TestClientAuth"
    )

    assert output.strip() == "SCEP service ndes exists; left as is"
    assert ScepService.objects.get() == first
    assert ScepService.objects.get().updated_at == first.updated_at


@on_commit
def test_init_scep_service_generated_challenge_enrols(pki, registration_authority, scep_tester, device_keys):
    output = run(
        "init_scep_service",
        "--slug", "ndes",
        "--ca", "test-issuing",
        "--template", "TestClientAuth",
        "--generate-static-challenge",
        "--default",
        "--legacy",
    )  # fmt: skip

    match = re.search(r"^static challenge: (\S+)$", output, re.MULTILINE)
    assert match is not None, output
    challenge = match.group(1)
    assert len(challenge) >= 16
    service = ScepService.objects.get(slug="ndes")
    assert service.is_default
    assert service.allow_legacy_algorithms
    device = Device.create(device_keys[0])
    tester = scep_tester(service)
    result = tester.enroll(device, device.csr(challenge=challenge))
    assert result.status is scep.PkiStatus.SUCCESS, result.fail_info_text
    wrong = tester.enroll(
        Device.create(device_keys[1]), Device.create(device_keys[1]).csr(challenge="x" * 24)
    )
    assert wrong.fail_info is scep.FailInfo.BAD_REQUEST


@on_commit
def test_init_scep_service_updates_the_static_challenge(
    pki, registration_authority, scep_tester, device_keys
):
    run("init_scep_service", "--slug", "ndes", "--ca", "test-issuing", "--template", "TestClientAuth")

    output = run(
        "init_scep_service", "--slug", "ndes", "--ca", "test-issuing", "--template", "TestClientAuth",
        "--static-challenge", STATIC_CHALLENGE,
    )  # fmt: skip

    assert output.splitlines() == [
        "SCEP service ndes exists; changed:",
        "  static challenge: none → set",
        "static-challenge requests: subject from the request on, SAN types dns, subject pattern (any)",
    ]
    device = Device.create(device_keys[0])
    result = scep_tester(ScepService.objects.get(slug="ndes")).enroll(device)
    assert result.status is scep.PkiStatus.SUCCESS


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--template", "NoSuchTemplate", r"^no certificate template 'NoSuchTemplate'$"),
        ("--signature-template", "NoSuchTemplate", r"^no certificate template 'NoSuchTemplate'$"),
        ("--ca", "nope", r"^no CA with slug 'nope'$"),
    ],
)
def test_init_scep_service_with_unknown_names_is_a_command_error(
    pki, registration_authority, option, value, message
):
    args = {"--slug": "ndes", "--ca": "test-issuing", "--template": "TestClientAuth", option: value}
    with pytest.raises(CommandError, match=message):
        run("init_scep_service", *[item for pair in args.items() for item in pair])
    assert ScepService.objects.count() == 0


def test_init_scep_service_without_an_ra_is_a_command_error(pki):
    with pytest.raises(CommandError, match=r"has no RA yet: run `manage\.py init_ra --ca test-issuing`"):
        run("init_scep_service", "--slug", "ndes", "--ca", "test-issuing", "--template", "TestClientAuth")
    assert ScepService.objects.count() == 0


def test_init_scep_service_refuses_a_short_static_challenge_on_update(pki, registration_authority):
    run("init_scep_service", "--slug", "ndes", "--ca", "test-issuing", "--template", "TestClientAuth")
    with pytest.raises(CommandError, match="at least 8 characters"):
        run(
            "init_scep_service", "--slug", "ndes", "--ca", "test-issuing", "--template", "TestClientAuth",
            "--static-challenge", "short",
        )  # fmt: skip
    assert ScepService.objects.get().static_challenge_digest == ""


def test_init_scep_service_refuses_a_short_static_challenge_on_create(pki, registration_authority):
    with pytest.raises(CommandError, match="at least 8 characters"):
        run(
            "init_scep_service", "--slug", "ndes", "--ca", "test-issuing", "--template", "TestClientAuth",
            "--static-challenge", "short",
        )  # fmt: skip
    assert ScepService.objects.count() == 0
