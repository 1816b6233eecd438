"""The SCEP and trusted-root profile editors in the admin (Django test client): rows become the model's
JSON, settings that do not apply are reset on save whatever was posted, the reference's validation errors
sit next to their field, assignments are written by the services, and the rights hold.
"""

from __future__ import annotations

from typing import Any

import pytest

from directory.models import Platform
from profiles import admin_assignments as profiles_admin
from profiles.models import ProfileAssignment, ScepProfile, TrustedRootProfile
from profiles.services.profiles import trusted_root_profile_create
from profiles.tests.fixtures import SCEP_URL
from profiles.tests.test_admin import form_errors, inline_assignment, profile_form

CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"
SMART_CARD_LOGON = "1.3.6.1.4.1.311.20.2.2"
ADD = "/admin/profiles/scepprofile/add/"


def rows(name: str, *values: dict[str, str]) -> dict[str, list[str]]:
    """A rows widget's POST: each column as a repeated key, one value a row."""
    columns = {column for value in values for column in value}
    return {f"{name}__{column}": [value.get(column, "") for value in values] for column in sorted(columns)}


_ROWS_FIELDS = ("subject_alternative_names", "extended_key_usages", "scep_server_urls")


def form(pki: Any, root_profile: Any, **changes: Any) -> dict[str, Any]:
    """``profile_form`` with changes; a rows field's change replaces all its rows."""
    data: dict[str, Any] = profile_form(pki, root_profile)
    for name, value in changes.items():
        if name in _ROWS_FIELDS:
            data = {key: item for key, item in data.items() if not key.startswith(f"{name}__")}
            data.update(rows(name, *value))
        else:
            data[name] = value
    return data


def field_error_html(response: Any, field: str, message: str) -> bool:
    """The message is rendered inside the field's own row of the form."""
    html = response.content.decode()
    start = html.find(f"field-{field}")
    end = html.find('<div class="form-row', start + 1)
    return start >= 0 and message in html[start : end if end > 0 else None]


# --- rows -> JSON ---------------------------------------------------------------------------------------


def test_rows_are_saved_as_the_models_json(admin_client, pki, root_profile):
    data = form(
        pki,
        root_profile,
        subject_alternative_names=[
            {"type": "upn", "value": "{{UserPrincipalName}}"},
            {"type": "email", "value": "  "},  # a blank row added and left empty
            {"type": "email", "value": "{{EmailAddress}}"},
        ],
        extended_key_usages=[
            {"eku": CLIENT_AUTH, "name": "", "oid": CLIENT_AUTH},
            {"eku": "custom", "name": "", "oid": SMART_CARD_LOGON},
            {"eku": "custom", "name": "Corp VPN", "oid": "1.3.6.1.4.1.99999.1"},
            {"eku": "custom", "name": "", "oid": ""},
            {"eku": CLIENT_AUTH, "name": "", "oid": CLIENT_AUTH},  # the same twice: once
        ],
        scep_server_urls=[{"url": SCEP_URL}, {"url": ""}, {"url": "https://backup.example/scep"}],
    )
    pki.template.application_policies = [CLIENT_AUTH, SMART_CARD_LOGON, "1.3.6.1.4.1.99999.1"]
    pki.template.save()

    response = admin_client.post(ADD, data)

    assert response.status_code == 302, form_errors(response)
    profile = ScepProfile.objects.get()
    assert profile.subject_alternative_names == [
        {"type": "upn", "value": "{{UserPrincipalName}}"},
        {"type": "email", "value": "{{EmailAddress}}"},
    ]
    assert profile.extended_key_usages == [
        {"name": "Client Authentication", "oid": CLIENT_AUTH},
        {"name": "Smart Card Logon", "oid": SMART_CARD_LOGON},
        {"name": "Corp VPN", "oid": "1.3.6.1.4.1.99999.1"},
    ]
    assert profile.scep_server_urls == [SCEP_URL, "https://backup.example/scep"]


def test_the_saved_rows_are_shown_as_rows_not_json(admin_client, scep_profile):
    response = admin_client.get(f"/admin/profiles/scepprofile/{scep_profile.pk}/change/")

    html = response.content.decode()
    assert 'name="subject_alternative_names__value" value="{{UserPrincipalName}}"' in html
    assert f'<option value="{CLIENT_AUTH}" selected>Client Authentication</option>' in html
    assert f'name="scep_server_urls__url" value="{SCEP_URL}"' in html
    assert '<textarea name="subject_alternative_names"' not in html
    assert "[{" not in html  # no JSON anywhere in the form


def test_a_new_profile_starts_with_client_authentication(admin_client, pki, root_profile):
    html = admin_client.get(ADD).content.decode()

    assert f'<option value="{CLIENT_AUTH}" selected>Client Authentication</option>' in html


def test_a_custom_eku_that_is_not_an_oid_is_an_error_on_its_field(admin_client, pki, root_profile):
    response = admin_client.post(
        ADD, form(pki, root_profile, extended_key_usages=[{"eku": "custom", "name": "VPN", "oid": "vpn"}])
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "extended_key_usages": ["row 1: vpn is not a dotted OID such as 1.3.6.1.5.5.7.3.2"]
    }
    assert not ScepProfile.objects.exists()


def test_an_unchanged_save_keeps_the_version(admin_client, pki, root_profile, scep_profile):
    data = form(
        pki,
        root_profile,
        name=scep_profile.name,
        subject_name_format_string=scep_profile.subject_name_format_string,
    )

    response = admin_client.post(f"/admin/profiles/scepprofile/{scep_profile.pk}/change/", data)

    assert response.status_code == 302, form_errors(response)
    scep_profile.refresh_from_db()
    assert scep_profile.version == 1


# --- what does not apply --------------------------------------------------------------------------------


def test_settings_that_do_not_apply_to_ios_are_reset_whatever_was_posted(admin_client, pki, root_profile):
    data = form(
        pki,
        root_profile,
        key_storage_provider="useSoftwareKsp",
        hash_algorithms=["sha1"],
        validity_value="30",
        validity_scale="days",
        allow_all_apps_access="on",
    )

    response = admin_client.post(ADD, data)

    assert response.status_code == 302, form_errors(response)
    profile = ScepProfile.objects.get()
    assert (profile.key_storage_provider, profile.hash_algorithms, profile.validity_value) == ("", [], None)
    assert (profile.validity_scale, profile.allow_all_apps_access) == ("", False)


def test_they_are_kept_where_they_apply(admin_client, pki):
    root = trusted_root_profile_create(
        authority=pki.root, name="Root (Windows)", platform=Platform.WINDOWS_10
    )
    data = form(
        pki,
        root,
        platform=Platform.WINDOWS_10,
        key_storage_provider="useSoftwareKsp",
        hash_algorithms=["sha2"],
    )

    response = admin_client.post(ADD, data)

    assert response.status_code == 302, form_errors(response)
    profile = ScepProfile.objects.get()
    assert (profile.key_storage_provider, profile.hash_algorithms) == ("useSoftwareKsp", ["sha2"])


def test_the_page_tells_the_browser_what_to_hide(admin_client, pki, root_profile):
    html = admin_client.get(ADD).content.decode()

    assert '<script id="profile-editor-rules" type="application/json">' in html
    assert '"key_storage_provider": {"platforms": ["windows_10", "windows_81", "windows_phone_81"]' in html


def test_the_trusted_root_destination_store_is_windows_only(admin_client, pki):
    response = admin_client.post(
        "/admin/profiles/trustedrootprofile/add/",
        {
            "name": "Root (iOS)",
            "description": "",
            "platform": Platform.IOS,
            "authority": str(pki.root.pk),
            "certificate_file_name": "",
            "destination_store": "computerCertStoreRoot",
            "assignments-TOTAL_FORMS": "0",
            "assignments-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, form_errors(response)
    assert ProfileAssignment.objects.count() == 0
    assert TrustedRootProfile.objects.get().destination_store == ""


# --- the reference's errors next to the field -----------------------------------------------------------

STRAY = (
    'curly brackets not enclosing a variable in the CN value: "{UserName}" '
    "(variables are written {{Name}}; other curly brackets are not allowed)"
)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"subject_name_format_string": "CN={UserName}"}, "subject_name_format_string", STRAY),
        (
            {"subject_name_format_string": "CN={{UserNmae}}"},
            "subject_name_format_string",
            "unknown variable {{UserNmae}} in the CN value; did you mean {{UserName}}?",
        ),
        (
            {
                "certificate_type": "device",
                "subject_name_format_string": "CN={{DeviceName}}",
                "subject_alternative_names": [{"type": "dns", "value": "{{UserPrincipalName}}"}],
            },
            "subject_alternative_names",
            "{{UserPrincipalName}} in the DNS subject alternative name (entry 1) is a user variable; "
            "a device certificate may only use device variables",
        ),
        (
            {"subject_alternative_names": [{"type": "dns", "value": "a|b.example"}]},
            "subject_alternative_names",
            "'|' is not allowed in the static text of the DNS subject alternative name (entry 1)",
        ),
    ],
    ids=["stray curly bracket", "unknown variable", "user variable in a device certificate", "pipe in a SAN"],
)
def test_the_references_errors_are_shown_next_to_the_field(
    admin_client, pki, root_profile, changes, field, message
):
    response = admin_client.post(ADD, form(pki, root_profile, **changes))

    assert response.status_code == 200
    assert message in response.context["adminform"].form.errors[field]
    assert field_error_html(response, field, message.replace('"', "&quot;").replace("'", "&#x27;"))
    assert not ScepProfile.objects.exists()


# --- assignments through the services -------------------------------------------------------------------


@pytest.fixture
def service_calls(monkeypatch) -> list[str]:
    """Records every call of the assignment services the admin makes (and lets them run)."""
    calls: list[str] = []
    for name in ("assignment_create", "assignment_update", "assignment_delete"):
        service = getattr(profiles_admin, name)

        def spy(*args: Any, _service: Any = service, _name: str = name, **kwargs: Any) -> Any:
            calls.append(_name)
            return _service(*args, **kwargs)

        monkeypatch.setattr(profiles_admin, name, spy)
    return calls


def test_inline_assignments_are_written_by_the_services(
    admin_client, pki, root_profile, user_group, service_calls
):
    created = admin_client.post(ADD, form(pki, root_profile, **inline_assignment(user_group)))
    assert created.status_code == 302, form_errors(created)
    profile = ScepProfile.objects.get()
    assignment = ProfileAssignment.objects.get(scep_profile=profile)
    change = f"/admin/profiles/scepprofile/{profile.pk}/change/"

    def existing(**row: str) -> dict[str, str]:
        return {
            "assignments-TOTAL_FORMS": "1",
            "assignments-INITIAL_FORMS": "1",
            "assignments-0-id": str(assignment.pk),
            "assignments-0-scep_profile": str(profile.pk),
            "assignments-0-intent": "include",
            "assignments-0-target": "group",
            "assignments-0-group": str(user_group.pk),
            **{f"assignments-0-{key}": value for key, value in row.items()},
        }

    updated = admin_client.post(change, form(pki, root_profile, **existing(intent="exclude")))
    assert updated.status_code == 302, form_errors(updated)
    assignment.refresh_from_db()
    assert assignment.intent == "exclude"

    deleted = admin_client.post(change, form(pki, root_profile, **existing(DELETE="on")))
    assert deleted.status_code == 302, form_errors(deleted)
    assert not ProfileAssignment.objects.exists()
    assert service_calls == ["assignment_create", "assignment_update", "assignment_delete"]


# --- rights ---------------------------------------------------------------------------------------------

PROFILE_MANAGER = (
    "profiles.view_scepprofile",
    "profiles.add_scepprofile",
    "profiles.change_scepprofile",
    "profiles.view_trustedrootprofile",
    "profiles.view_profileassignment",
    "profiles.add_profileassignment",
    "profiles.change_profileassignment",
    "profiles.delete_profileassignment",
    "ca.view_certificateauthority",
    "ca.view_certificatetemplate",
)


@pytest.fixture
def staff_client(client, user_with_perms):
    def _login(*perms: str) -> Any:
        user = user_with_perms(*perms, username="staff-" + str(len(perms)))
        user.is_staff = True
        user.save()
        client.force_login(user)
        return client

    return _login


def test_a_profile_manager_gets_a_fixed_identity_refused_next_to_the_field(staff_client, pki, root_profile):
    client = staff_client(*PROFILE_MANAGER)
    sans = [{"type": "upn", "value": "administrator@corp.example.com"}]

    response = client.post(ADD, form(pki, root_profile, subject_alternative_names=sans))

    assert response.status_code == 200
    (message,) = response.context["adminform"].form.errors["subject_alternative_names"]
    assert message.startswith("UPN=administrator@corp.example.com is a fixed identity")
    assert "profiles.name_static_identity" in message
    assert not ScepProfile.objects.exists()


def test_the_certificate_managers_right_allows_it(staff_client, pki, root_profile):
    client = staff_client(*PROFILE_MANAGER, "profiles.name_static_identity")
    sans = [{"type": "upn", "value": "kiosk@corp.example.com"}]

    response = client.post(ADD, form(pki, root_profile, subject_alternative_names=sans))

    assert response.status_code == 302, form_errors(response)
    assert ScepProfile.objects.get().subject_alternative_names == sans


def test_a_read_only_user_sees_the_profile_read_only_without_save_buttons(staff_client, scep_profile):
    client = staff_client("profiles.view_scepprofile", "profiles.view_profileassignment")

    response = client.get(f"/admin/profiles/scepprofile/{scep_profile.pk}/change/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="_save"' not in html
    assert 'name="_continue"' not in html
    form_html = html.split('id="scepprofile_form"')[1].split("</form>")[0]
    assert not any(tag in form_html for tag in ('type="text"', "<select", "<textarea", 'type="checkbox"'))
    assert "UPN: {{UserPrincipalName}}" in html  # the SAN table as text
    assert f"Client Authentication ({CLIENT_AUTH})" in html
    assert "profile-preview" not in html  # no live preview to edit with
    assert client.post(f"/admin/profiles/scepprofile/{scep_profile.pk}/preview/", {}).status_code == 403


def test_without_the_profile_rights_there_is_no_editor(staff_client):
    client = staff_client("directory.view_device")

    assert client.get(ADD).status_code == 403
    assert client.post("/admin/profiles/scepprofile/preview/", {}).status_code == 403
