"""Setting a SCEP service's static-challenge policy: validation at save, the command, the admin."""

from __future__ import annotations

import io

import pytest

from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from enrollment.admin import STATIC_CHALLENGE_RISK
from enrollment.models import ScepService
from enrollment.services.registration import scep_service_set_static_policy
from enrollment.validators import subject_pattern_problem


@pytest.mark.parametrize(
    "pattern",
    [
        r"CN=[a-z0-9-]+\.corp\.example,O=Corp",
        r"CN=[^,\\]+,OU=(Kiosks|Printers),O=Corp",
        r"CN=device-\d{1,6}(,O=Corp)?",
        r"(?i)CN=[a-z]{1,63}",
        r"CN=a[]x]*b(?#a comment with ( inside)",
        r"CN=.*x.*y.*",
        "",
    ],
)
def test_patterns_that_are_cheap_to_match(pattern):
    assert subject_pattern_problem(pattern) is None


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("C" * 201, "at most 200 characters"),
        ("CN=(", "not a regular expression"),
        (r"CN=(a+)+$", "must not itself repeat or alternate"),
        (r"CN=(a|aa)*", "must not itself repeat or alternate"),
        (r"CN=((ab)*c){2,}", "must not itself repeat or alternate"),
        (r"CN=(?:x?){8,}", "must not itself repeat or alternate"),
        (r"CN=(a)\1", "backreferences"),
        (r"CN=(?P<x>a)(?P=x)", "backreferences"),
        (r"CN=(a)?(?(1)b|c)", "backreferences"),
        (r"CN=.*.*.*.*x", "at most 3 repetitions"),
        (r"(?x) CN = a+", "verbose"),
    ],
)
def test_patterns_that_could_backtrack_for_ever_are_refused(pattern, problem):
    result = subject_pattern_problem(pattern)
    assert result is not None
    assert problem in result


def test_an_unsafe_pattern_is_refused_when_saved_and_nothing_changes(db, scep_service):
    with pytest.raises(ValidationError) as error:
        scep_service_set_static_policy(service=scep_service, subject_pattern=r"CN=(a+)+")
    assert "static_subject_pattern" in error.value.message_dict
    scep_service.refresh_from_db()
    assert scep_service.static_subject_pattern == ""


@pytest.mark.parametrize(
    ("san_types", "message"),
    [
        (["dns", "upn"], "never authorises a UPN"),
        (["dns", "othername"], "unknown SAN type(s) othername"),
        (["dns", "dns"], "each SAN type once"),
    ],
)
def test_san_types_a_static_challenge_can_never_have(db, scep_service, san_types, message):
    with pytest.raises(ValidationError) as error:
        scep_service_set_static_policy(service=scep_service, san_types=san_types)
    assert message in " ".join(error.value.message_dict["static_san_types"])
    scep_service.refresh_from_db()
    assert scep_service.static_san_types == ["dns"]


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("init_scep_service", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


BASE = ("--slug", "ndes", "--ca", "test-issuing", "--template", "TestClientAuth")


def test_init_scep_service_sets_the_static_policy(pki, registration_authority):
    output = _run(
        *BASE,
        "--static-challenge=s3cret-challenge",
        "--static-san-types=dns,email",
        "--static-subject-pattern=CN=[a-z0-9-]+,O=Corp",
    )

    assert output.splitlines() == [
        "created SCEP service ndes",
        "static-challenge requests: subject from the request on, SAN types dns, email, subject pattern "
        "CN=[a-z0-9-]+,O=Corp",
    ]
    service = ScepService.objects.get(slug="ndes")
    assert (
        service.static_subject_from_request,
        service.static_san_types,
        service.static_subject_pattern,
    ) == (
        True,
        ["dns", "email"],
        "CN=[a-z0-9-]+,O=Corp",
    )

    output = _run(*BASE, "--no-static-subject-from-request", "--static-san-types=")

    assert output.splitlines()[:3] == [
        "SCEP service ndes exists; changed:",
        "  static challenge: subject from the request: yes → no",
        "  static challenge: SAN types: dns, email → none",
    ]
    service.refresh_from_db()
    assert (
        service.static_subject_from_request,
        service.static_san_types,
        service.static_subject_pattern,
    ) == (
        False,
        [],
        "CN=[a-z0-9-]+,O=Corp",  # not given: left as it was
    )


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--static-san-types=dns,upn", "never authorises a UPN"),
        ("--static-subject-pattern=CN=(a|b)+", "must not itself repeat or alternate"),
    ],
)
def test_init_scep_service_refuses_an_unsafe_static_policy(pki, registration_authority, option, message):
    with pytest.raises(CommandError, match=message):
        _run(*BASE, "--static-challenge=s3cret-challenge", option)
    assert not ScepService.objects.exists()


def test_the_admin_shows_the_risk_and_saves_the_san_types(admin_client, scep_service):
    url = reverse("admin:enrollment_scepservice_change", args=(scep_service.pk,))
    page = admin_client.get(url)
    assert page.status_code == 200
    assert STATIC_CHALLENGE_RISK[:60] in page.content.decode()

    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(
        {
            "static_san_types": ["dns", "ip"],
            "static_subject_pattern": r"CN=(x+)*",
            "static_subject_from_request": "on",
        }
    )
    answer = admin_client.post(url, data)
    assert answer.status_code == 200  # the form again, with the pattern's error
    assert "must not itself repeat or alternate" in answer.content.decode()

    data["static_subject_pattern"] = r"CN=[a-z]+"
    answer = admin_client.post(url, data)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    scep_service.refresh_from_db()
    assert (scep_service.static_san_types, scep_service.static_subject_pattern) == (
        ["dns", "ip"],
        "CN=[a-z]+",
    )
