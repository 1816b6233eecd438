import pytest

from django.core.exceptions import ValidationError
from django.db.models import ProtectedError

from directory.exceptions import ObjectInUse
from directory.models import DirectoryUser
from directory.services.users import user_create, user_delete, user_update
from directory.tests.factories import DeviceFactory, DirectoryUserFactory

pytestmark = pytest.mark.django_db


def test_user_create_validates_the_model_and_the_sid():
    with pytest.raises(ValidationError) as exc_info:
        user_create(
            external_id="u1", user_principal_name="", email="nope", on_premises_security_identifier="S-1-x"
        )
    assert set(exc_info.value.message_dict) == {
        "user_principal_name",
        "email",
        "on_premises_security_identifier",
    }
    assert not DirectoryUser.objects.exists()


def test_user_create_refuses_a_taken_upn():
    DirectoryUserFactory.create(user_principal_name="jane@corp.example.com")
    with pytest.raises(ValidationError) as exc_info:
        user_create(external_id="other", user_principal_name="jane@corp.example.com")
    assert set(exc_info.value.message_dict) == {"user_principal_name"}
    assert DirectoryUser.objects.count() == 1


def test_user_update_saves_only_changed_fields():
    user = DirectoryUserFactory.create(department="Finance")
    updated_at = user.updated_at
    user_update(user=user, data={"department": "Finance"})
    user.refresh_from_db()
    assert user.updated_at == updated_at

    DirectoryUser.objects.filter(pk=user.pk).update(display_name="Changed elsewhere")
    user_update(user=user, data={"department": "Sales"})  # the in-memory display_name is stale
    user.refresh_from_db()
    assert (user.department, user.display_name) == ("Sales", "Changed elsewhere")
    assert user.updated_at > updated_at


def test_user_update_refuses_unknown_fields():
    with pytest.raises(TypeError, match="id"):
        user_update(user=DirectoryUserFactory.create(), data={"id": 5})


def test_user_delete_keeps_their_devices():
    user = DirectoryUserFactory.create()
    device = DeviceFactory.create(primary_user=user)
    user_delete(user=user)
    device.refresh_from_db()
    assert device.primary_user is None


def test_delete_refused_by_a_protecting_record_is_object_in_use(monkeypatch):
    user = DirectoryUserFactory.create()

    def protected(self, *args, **kwargs):
        raise ProtectedError("protected", {DeviceFactory.create(name="Keeper")})

    monkeypatch.setattr(DirectoryUser, "delete", protected)
    with pytest.raises(ObjectInUse) as exc_info:
        user_delete(user=user)
    assert exc_info.value.http_status == 409
    assert exc_info.value.extra == {"referenced_by": ["device: Keeper (Windows 10 and later)"]}
