"""Each way in writes an audit entry naming who acted, with the changed fields' before and after values:
the API (a user with an API token), the admin (a staff session), a management command, a Celery task.
"""

from __future__ import annotations

import getpass
from types import SimpleNamespace

import pytest

from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import RequestFactory

from audit.choices import Action, ActorKind
from audit.context import Actor, actor_from_request, actor_scope, token_identifier
from audit.hooks import ACTOR_HEADER, task_actor
from audit.models import AuditEntry
from audit.tests.fixtures import entries_for
from ca.choices import CertificateRequestStatus
from directory.models import DirectoryUser
from directory.tests.factories import DeviceFactory, DirectoryUserFactory
from profiles.api.authentication import DevicePrincipal

pytestmark = pytest.mark.django_db


def test_an_api_write_names_the_user_and_the_token(api_client_for):
    person = DirectoryUserFactory.create(display_name="Alice Old")
    client = api_client_for("directory.change_directoryuser", "directory.view_directoryuser")
    secret = client._credentials["HTTP_AUTHORIZATION"].removeprefix("Token ")

    response = client.patch(f"/api/v1/users/{person.pk}/", {"display_name": "Alice New"}, format="json")

    assert response.status_code == 200, response.content
    entry = entries_for("directory.DirectoryUser", person.pk).last()
    assert (entry.action, entry.changes) == (Action.UPDATE, {"display_name": ["Alice Old", "Alice New"]})
    assert (entry.actor_kind, entry.actor_name, entry.actor_id) == (
        ActorKind.TOKEN,
        client.user.username,
        client.user.pk,
    )
    assert entry.actor_token
    assert secret.startswith(entry.actor_token)  # the identifier (knox's token_key), never the whole token
    assert len(entry.actor_token) < len(secret)
    assert entry.via == f"PATCH /api/v1/users/{person.pk}/"
    assert entry.remote_addr == "127.0.0.1"
    assert entry.cid


def test_an_admin_write_names_the_staff_user(client, django_user_model):
    person = DirectoryUserFactory.create(display_name="Bob Old", department="Finance")
    staff = django_user_model.objects.create_user(username="clerk", password="pw-clerk-1", is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="directory", codename__in=["view_directoryuser", "change_directoryuser"]
        )
    )
    client.force_login(staff)
    url = f"/admin/directory/directoryuser/{person.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() not in (None, False)}

    response = client.post(url, {**data, "display_name": "Bob New"})

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    entry = entries_for("directory.DirectoryUser", person.pk).last()
    assert (entry.action, entry.changes) == (Action.UPDATE, {"display_name": ["Bob Old", "Bob New"]})
    assert (entry.actor_kind, entry.actor_name, entry.actor_id, entry.actor_token) == (
        ActorKind.USER,
        "clerk",
        staff.pk,
        "",
    )
    assert entry.via == f"POST {url}"


def test_a_management_command_names_itself_and_the_os_user(monkeypatch, django_user_model):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-Long-passw0rd")

    call_command("createsuperuser", username="root2", email="root2@example.com", interactive=False)

    user = django_user_model.objects.get(username="root2")
    entry = entries_for("auth.User", user.pk).first()
    assert entry.action == Action.CREATE
    assert (entry.actor_kind, entry.actor_name, entry.os_user, entry.actor_id) == (
        ActorKind.COMMAND,
        "command:createsuperuser",
        getpass.getuser(),
        None,
    )
    assert entry.changes["username"] == [None, "root2"]
    assert entry.changes["is_superuser"] == [None, True]
    assert entry.changes["password"] == ["", "[redacted]"]


def test_a_task_names_itself_and_who_started_it(issue):
    with actor_scope(Actor(kind=ActorKind.USER, name="alice", correlation_id="cid-alice")):
        request = issue(common_name="audited-1")

    assert request.status == CertificateRequestStatus.ISSUED
    entries = entries_for("ca.CertificateRequest", request.pk)
    submitted, issued = entries.first(), entries.last()
    assert (submitted.action, submitted.actor_kind, submitted.actor_name) == (
        Action.CREATE,
        ActorKind.USER,
        "alice",
    )
    assert issued.action == Action.UPDATE
    assert issued.changes["status"] == [CertificateRequestStatus.QUEUED, CertificateRequestStatus.ISSUED]
    assert (issued.actor_kind, issued.actor_name, issued.on_behalf_of, issued.cid) == (
        ActorKind.TASK,
        "task:ca.tasks.certificate_issue_task",
        "alice",
        "cid-alice",
    )
    certificate = AuditEntry.objects.get(object_type="ca.issuedcertificate", action=Action.CREATE)
    assert certificate.actor_name == "task:ca.tasks.certificate_issue_task"
    assert certificate.changes["subject"] == [None, "CN=audited-1"]


def test_outside_any_scope_the_writer_is_the_system():
    person = DirectoryUserFactory.create()
    entry = entries_for("directory.DirectoryUser", person.pk).get()
    assert (entry.actor_kind, entry.actor_name, entry.actor_id, entry.cid) == (
        ActorKind.SYSTEM,
        "system",
        None,
        None,
    )


def test_a_worker_task_acts_for_the_publisher_named_in_the_message():
    task = SimpleNamespace(name="profiles.jobs.device_certificate_sweep_task", request=SimpleNamespace())
    setattr(task.request, ACTOR_HEADER, "command:demo_setup")

    actor = task_actor(task, "7f3c")

    assert (actor.kind, actor.name, actor.on_behalf_of, actor.via, actor.correlation_id) == (
        ActorKind.TASK,
        "task:profiles.jobs.device_certificate_sweep_task",
        "command:demo_setup",
        "task 7f3c",
        "7f3c",
    )


def test_a_device_authenticated_request_is_the_device():
    device = DeviceFactory.create(external_id="intune-42")
    request = RequestFactory().post("/api/v1/devices/checkin/")
    request.user = DevicePrincipal(device=device)  # type: ignore[assignment]  # what DRF sets
    request.auth = device  # type: ignore[attr-defined]

    actor = actor_from_request(request)

    assert (actor.kind, actor.name, actor.device_id, actor.user_id, actor.token) == (
        ActorKind.DEVICE,
        "device:intune-42",
        device.pk,
        None,
        "",
    )


def test_an_anonymous_request_is_anonymous_with_its_address():
    request = RequestFactory().post("/scep/strict", REMOTE_ADDR="192.0.2.7")
    request.user = SimpleNamespace(is_authenticated=False)  # type: ignore[assignment]

    actor = actor_from_request(request)

    assert (actor.kind, actor.name, actor.remote_addr, actor.via) == (
        ActorKind.ANONYMOUS,
        "anonymous",
        "192.0.2.7",
        "POST /scep/strict",
    )


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        (SimpleNamespace(token_key="abcd1234", digest="f" * 128, pk="f" * 128), "abcd1234"),
        (SimpleNamespace(digest="0123456789abcdef" * 8, pk="0123456789abcdef" * 8), "digest:01234567"),
        (
            SimpleNamespace(
                key="9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", pk="9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
            ),
            "sha256:",
        ),
    ],
)
def test_a_token_is_named_without_giving_it_away(auth, expected):
    identifier = token_identifier(auth)
    assert identifier.startswith(expected)
    assert getattr(auth, "key", "x" * 40) not in identifier
    assert len(identifier) <= 64


def test_changing_nothing_audited_writes_no_entry():
    person = DirectoryUserFactory.create()
    before = AuditEntry.objects.count()
    DirectoryUser.objects.get(pk=person.pk).save()  # updated_at only
    assert AuditEntry.objects.count() == before
