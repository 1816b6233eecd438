"""What the profile editors share: saving a profile's assignments through the services, the assignment
rows, and taking over the row a service saved. Used by the SCEP and trusted-root editors
(``profiles.admin``) and the PKCS and resource profile pages (``profiles.admin_resources``).
"""

from __future__ import annotations

from typing import Any, Final

from django.contrib import admin
from django.db import models
from django.forms import BaseInlineFormSet
from django.http import HttpRequest

from profiles.models import ProfileAssignment
from profiles.services.profiles import assignment_create, assignment_delete, assignment_update

__all__ = ["_AssignmentInline", "_adopt", "_assignments_save", "_form_values"]

_ASSIGNMENT_FIELDS: Final = ("intent", "target", "group")


def _form_values(form: Any, *, changed_only: bool) -> dict[str, Any]:
    """The form's values of model fields, as the services take them: all of them, or only the changed ones."""
    names = form.changed_data if changed_only else list(form.cleaned_data)
    model_fields = {field.name for field in form.instance._meta.concrete_fields}
    return {name: form.cleaned_data[name] for name in names if name in model_fields}


def _adopt(obj: models.Model, saved: models.Model) -> None:
    """Make the admin's object the row the service saved: the admin saves the inlines against ``obj``."""
    obj.pk = saved.pk
    obj._state.adding = False
    obj.refresh_from_db()


def _assignments_save(formset: BaseInlineFormSet[Any, Any, Any], *, parent_field: str, parent: Any) -> None:
    """The inline's rows through the assignment services (each reconciles the devices it concerns)."""
    formset.save(commit=False)  # sorts the rows into deleted, changed and new; writes nothing
    for obj in formset.deleted_objects:
        assignment_delete(assignment=ProfileAssignment.objects.get(pk=obj.pk))
    for obj, changed in formset.changed_objects:
        values = {name: getattr(obj, name) for name in changed if name in _ASSIGNMENT_FIELDS}
        assignment_update(assignment=ProfileAssignment.objects.get(pk=obj.pk), **values)
    for obj in formset.new_objects:
        assignment_create(
            **{parent_field: parent}, **{name: getattr(obj, name) for name in _ASSIGNMENT_FIELDS}
        )


class _AssignmentInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ProfileAssignment
    fields = ("intent", "target", "group")
    extra = 1
    verbose_name = "assignment"
    verbose_name_plural = "Assignments"

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        """The group without its edit/add/view links: the row stays on one line."""
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "group" and formfield is not None:
            widget = formfield.widget
            for flag in ("can_add_related", "can_change_related", "can_delete_related", "can_view_related"):
                if hasattr(widget, flag):
                    setattr(widget, flag, False)
        return formfield
