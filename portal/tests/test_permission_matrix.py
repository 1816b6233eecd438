"""The permission matrix: every built-in role against every API endpoint and method.

``MATRIX`` says, by hand and independently of ``access.roles``, which roles may use each endpoint (R
read-only, P profile manager, C certificate manager, D directory manager, E device enrollment operator, A
administrator). A role that may gets anything but 401/403 (400 for the empty body is fine: the right was
granted); one that may not gets 403. Every endpoint of /api/v1/ must be in the matrix, so a new endpoint
cannot arrive without its rights being decided.
"""

from __future__ import annotations

from typing import Any

import pytest

from drf_spectacular.generators import EndpointEnumerator
from rest_framework.test import APIClient

from access.roles import ROLES
from access.services.roles import roles_sync
from access.services.tokens import api_token_create
from audit.models import AuditEntry
from ca.models import IssuedCertificate
from ca.services.revocation_requests import revocation_request_create
from directory.models import ImportJob
from eventlog.choices import EventId
from eventlog.services import event_record
from profiles.models import DeviceCertificateState, ProfileAssignment, ScepProfile
from profiles.services.resources import pkcs_profile_create, resource_profile_create
from profiles.services.states import device_enrollment_succeeded
from profiles.tests.fixtures import profile_fields

LETTERS = {
    "R": "Read-only",
    "P": "Profile manager",
    "C": "Certificate manager",
    "D": "Directory manager",
    "E": "Device enrollment operator",
    "A": "Administrator",
}
DEVICE_ONLY = "device"  # check-in: device credentials only; every user role is unauthenticated there (401)

MATRIX: dict[tuple[str, str], str] = {
    # --- access ----------------------------------------------------------------------------------------
    ("GET", "/api/v1/api-tokens/"): "RA",
    ("POST", "/api/v1/api-tokens/"): "A",
    ("GET", "/api/v1/api-tokens/{token_key}/"): "RA",
    ("DELETE", "/api/v1/api-tokens/{token_key}/"): "A",
    # --- ca ---------------------------------------------------------------------------------------------
    ("GET", "/api/v1/certificate-authorities/"): "RPCA",
    ("GET", "/api/v1/certificate-authorities/{slug}/"): "RPCA",
    ("PATCH", "/api/v1/certificate-authorities/{slug}/"): "A",
    ("PUT", "/api/v1/certificate-authorities/{slug}/"): "A",
    ("GET", "/api/v1/certificate-authorities/{slug}/chain/"): "RPCA",
    ("GET", "/api/v1/certificate-authorities/{slug}/crl/"): "RPCA",
    ("GET", "/api/v1/certificate-templates/"): "RPCA",
    ("POST", "/api/v1/certificate-templates/"): "A",
    ("GET", "/api/v1/certificate-templates/{name}/"): "RPCA",
    ("PATCH", "/api/v1/certificate-templates/{name}/"): "A",
    ("PUT", "/api/v1/certificate-templates/{name}/"): "A",
    ("DELETE", "/api/v1/certificate-templates/{name}/"): "A",
    ("GET", "/api/v1/certificate-requests/"): "RCA",
    ("POST", "/api/v1/certificate-requests/"): "CA",
    ("GET", "/api/v1/certificate-requests/{pk}/"): "RCA",
    ("POST", "/api/v1/certificate-requests/{pk}/approve/"): "CA",
    ("POST", "/api/v1/certificate-requests/{pk}/deny/"): "CA",
    ("GET", "/api/v1/certificates/"): "RCA",
    ("GET", "/api/v1/certificates/{pk}/"): "RCA",
    ("POST", "/api/v1/certificates/{pk}/revoke/"): "CA",
    ("GET", "/api/v1/revocation-requests/"): "RCA",
    ("GET", "/api/v1/revocation-requests/{pk}/"): "RCA",
    # --- eventlog ---------------------------------------------------------------------------------------
    ("GET", "/api/v1/connector-events/"): "RCA",
    ("GET", "/api/v1/connector-events/{pk}/"): "RCA",
    # --- directory --------------------------------------------------------------------------------------
    ("GET", "/api/v1/users/"): "RPCDEA",
    ("POST", "/api/v1/users/"): "DA",
    ("GET", "/api/v1/users/{pk}/"): "RPCDEA",
    ("PATCH", "/api/v1/users/{pk}/"): "DA",
    ("PUT", "/api/v1/users/{pk}/"): "DA",
    ("DELETE", "/api/v1/users/{pk}/"): "DA",
    ("GET", "/api/v1/devices/"): "RPCDEA",
    ("POST", "/api/v1/devices/"): "DA",
    ("GET", "/api/v1/devices/{pk}/"): "RPCDEA",
    ("PATCH", "/api/v1/devices/{pk}/"): "DA",
    ("PUT", "/api/v1/devices/{pk}/"): "DA",
    ("DELETE", "/api/v1/devices/{pk}/"): "DA",
    ("POST", "/api/v1/devices/{pk}/checkin-token/"): "EA",
    ("POST", "/api/v1/devices/{pk}/payload/"): "EA",
    ("POST", "/api/v1/devices/{pk}/retire/"): "CA",
    ("POST", "/api/v1/devices/{pk}/wipe/"): "CA",
    ("GET", "/api/v1/devices/{pk}/timeline/"): "RCA",
    ("GET", "/api/v1/groups/"): "RPCDA",
    ("POST", "/api/v1/groups/"): "DA",
    ("GET", "/api/v1/groups/{pk}/"): "RPCDA",
    ("PATCH", "/api/v1/groups/{pk}/"): "DA",
    ("PUT", "/api/v1/groups/{pk}/"): "DA",
    ("DELETE", "/api/v1/groups/{pk}/"): "DA",
    ("GET", "/api/v1/groups/{pk}/members/"): "RPCDA",
    ("POST", "/api/v1/groups/{pk}/members/"): "DA",
    ("PUT", "/api/v1/groups/{pk}/members/"): "DA",
    ("DELETE", "/api/v1/groups/{pk}/members/"): "DA",
    ("POST", "/api/v1/directory-import/"): "DA",
    ("GET", "/api/v1/directory-import/"): "RCDA",
    ("GET", "/api/v1/directory-import/{pk}/"): "RCDA",
    # --- audit ------------------------------------------------------------------------------------------
    ("GET", "/api/v1/audit-log/"): "RA",
    ("GET", "/api/v1/audit-log/{pk}/"): "RA",
    # --- profiles ---------------------------------------------------------------------------------------
    ("GET", "/api/v1/trusted-root-profiles/"): "RPCEA",
    ("POST", "/api/v1/trusted-root-profiles/"): "PA",
    ("GET", "/api/v1/trusted-root-profiles/{pk}/"): "RPCEA",
    ("PATCH", "/api/v1/trusted-root-profiles/{pk}/"): "PA",
    ("PUT", "/api/v1/trusted-root-profiles/{pk}/"): "PA",
    ("DELETE", "/api/v1/trusted-root-profiles/{pk}/"): "PA",
    ("GET", "/api/v1/scep-profiles/"): "RPCEA",
    ("POST", "/api/v1/scep-profiles/"): "PA",
    ("GET", "/api/v1/scep-profiles/{pk}/"): "RPCEA",
    ("PATCH", "/api/v1/scep-profiles/{pk}/"): "PA",
    ("PUT", "/api/v1/scep-profiles/{pk}/"): "PA",
    ("DELETE", "/api/v1/scep-profiles/{pk}/"): "PA",
    ("GET", "/api/v1/scep-profiles/{pk}/preview/"): "RPCEA",
    ("GET", "/api/v1/pkcs-profiles/"): "RPCEA",
    ("POST", "/api/v1/pkcs-profiles/"): "PA",
    ("GET", "/api/v1/pkcs-profiles/{pk}/"): "RPCEA",
    ("PATCH", "/api/v1/pkcs-profiles/{pk}/"): "PA",
    ("PUT", "/api/v1/pkcs-profiles/{pk}/"): "PA",
    ("DELETE", "/api/v1/pkcs-profiles/{pk}/"): "PA",
    ("GET", "/api/v1/resource-profiles/"): "RPCEA",
    ("POST", "/api/v1/resource-profiles/"): "PA",
    ("GET", "/api/v1/resource-profiles/{pk}/"): "RPCEA",
    ("PATCH", "/api/v1/resource-profiles/{pk}/"): "PA",
    ("PUT", "/api/v1/resource-profiles/{pk}/"): "PA",
    ("DELETE", "/api/v1/resource-profiles/{pk}/"): "PA",
    ("GET", "/api/v1/profile-assignments/"): "RPCA",
    ("POST", "/api/v1/profile-assignments/"): "PA",
    ("GET", "/api/v1/profile-assignments/{pk}/"): "RPCA",
    ("DELETE", "/api/v1/profile-assignments/{pk}/"): "PA",
    ("GET", "/api/v1/device-certificate-states/"): "RPCEA",
    ("GET", "/api/v1/device-certificate-states/{pk}/"): "RPCEA",
    ("GET", "/api/v1/checkin/"): DEVICE_ONLY,
    ("GET", "/api/v1/checkin/mobileconfig/"): DEVICE_ONLY,
    ("GET", "/api/v1/checkin/windows-csp/"): DEVICE_ONLY,
}


def _api_endpoints() -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, _, method, _ in EndpointEnumerator().get_api_endpoints()
        if path.startswith("/api/v1/")
    }


def test_every_endpoint_is_in_the_matrix():
    endpoints = _api_endpoints()

    assert endpoints - set(MATRIX) == set(), "decide who may use these (add them to MATRIX)"
    assert set(MATRIX) - endpoints == set(), "these are gone: remove them from MATRIX"


def test_the_matrix_names_every_role():
    assert sorted(LETTERS.values()) == sorted(role.name for role in ROLES)


@pytest.fixture
def world(pki, issue, assigned, device, django_user_model) -> dict[str, Any]:
    """One of everything the endpoints name, and a pending request (the template asks for approval)."""
    issued = IssuedCertificate.objects.get(request=issue(common_name="matrix"))
    device_enrollment_succeeded(device=device, profile=assigned, certificate=issued)
    # The rights of the endpoints, not of their effects: unassigning this profile revokes nothing
    # (profiles/tests/test_rights.py has the revoke right that revoking needs).
    ScepProfile.objects.filter(pk=assigned.pk).update(revoke_on_removal=False, revoke_on_change=False)
    other = IssuedCertificate.objects.get(request=issue(common_name="to-revoke"))
    revocation = revocation_request_create(
        certificates=[other], reason="unspecified", cause="admin", requested_by="test"
    )
    assert revocation is not None
    pki.template.requires_approval = True
    pki.template.save()
    pending = issue(common_name="pending")
    event = event_record(event_id=EventId.DEVICE_CHECK_IN, message="matrix", device_id=device.pk)
    assert event is not None
    owner = django_user_model.objects.create_user("token-owner")
    token = api_token_create(user=owner, name="matrix", created_by=None).token
    import_job = ImportJob.objects.create(file_name="users.csv")
    pkcs_fields = profile_fields(pki, assigned.root_profile, name="matrix PKCS", revoke_on_removal=False)
    pkcs_fields.pop("scep_server_urls")
    pkcs = pkcs_profile_create(**pkcs_fields)
    resource = resource_profile_create(
        name="matrix Wi-Fi",
        kind="wifi",
        platform=assigned.platform,
        identity_profile=pkcs,
        server_root_profile=assigned.root_profile,
        ssid="MATRIX",
        wifi_security="wpa2_enterprise",
        server_certificate_names=["radius.example"],
    )
    return {
        "slug": pki.issuing.slug,
        "name": pki.template.name,
        "certificate": issued.pk,
        "request": pending.pk,
        "revocation": revocation.pk,
        "event": event.pk,
        "device": device.pk,
        "user": device.primary_user_id,
        "group": ProfileAssignment.objects.filter(scep_profile=assigned).get().group_id,
        "assignment": ProfileAssignment.objects.filter(scep_profile=assigned).get().pk,
        "profile": assigned.pk,
        "root": assigned.root_profile_id,
        "state": DeviceCertificateState.objects.get().pk,
        "token_key": token.token_key,
        "device_external_id": device.external_id,
        "import_job": import_job.pk,
        "pkcs_profile": pkcs.pk,
        "resource_profile": resource.pk,
        "audit_entry": AuditEntry.objects.order_by("pk").values_list("pk", flat=True).first(),
    }


def _url(path: str, world: dict[str, Any]) -> str:
    collection = path.split("/")[3]
    pk = {
        "certificate-requests": world["request"],
        "certificates": world["certificate"],
        "revocation-requests": world["revocation"],
        "connector-events": world["event"],
        "users": world["user"],
        "devices": world["device"],
        "groups": world["group"],
        "trusted-root-profiles": world["root"],
        "scep-profiles": world["profile"],
        "pkcs-profiles": world["pkcs_profile"],
        "resource-profiles": world["resource_profile"],
        "profile-assignments": world["assignment"],
        "device-certificate-states": world["state"],
        "directory-import": world["import_job"],
        "audit-log": world["audit_entry"],
    }.get(collection)
    url = path.format(pk=pk, slug=world["slug"], name=world["name"], token_key=world["token_key"])
    return f"{url}?device={world['device_external_id']}" if url.endswith("/preview/") else url


def _client_of(role: str, django_user_model: Any) -> APIClient:
    from django.contrib.auth.models import Group  # noqa: PLC0415

    user = django_user_model.objects.create_user(f"member-of-{role.lower().replace(' ', '-')}", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {api_token_create(user=user, name=role, created_by=None).secret}"
    )
    return client


# Deletions last, so that the rest find their objects; within a role, one request after another.
_ORDER = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 2, "DELETE": 3}


@pytest.mark.parametrize("letter", sorted(LETTERS), ids=[LETTERS[letter] for letter in sorted(LETTERS)])
def test_each_role_gets_exactly_its_endpoints(world, django_user_model, letter):
    roles_sync()
    role = LETTERS[letter]
    client = _client_of(role, django_user_model)
    wrong: list[str] = []
    for (method, path), allowed in sorted(MATRIX.items(), key=lambda item: (_ORDER[item[0][0]], item[0][1])):
        response = getattr(client, method.lower())(_url(path, world), {}, format="json")
        status = response.status_code
        if allowed == DEVICE_ONLY:
            ok = status == 401
        elif letter in allowed:
            ok = status not in (401, 403, 405) and status < 500
        else:
            ok = status == 403
        if not ok:
            wrong.append(f"{method} {path}: {status} {response.content[:160]!r}")
    assert wrong == [], f"{role}:\n" + "\n".join(wrong)


def test_only_the_administrator_manages_people_tokens_and_cas(db):
    from django.contrib.auth.models import Group  # noqa: PLC0415

    roles_sync()
    powers = {"auth.change_user", "auth.change_group", "access.add_apitoken", "ca.add_certificateauthority"}
    for role in ROLES:
        held = {
            f"{app_label}.{codename}"
            for app_label, codename in Group.objects.get(name=role.name).permissions.values_list(
                "content_type__app_label", "codename"
            )
        }
        assert (held & powers == powers) if role.name == "Administrator" else not (held & powers), role.name
