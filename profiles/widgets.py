"""Widgets of the profile editor: settings that are lists (SANs, EKUs, SCEP server URLs) edited as rows of
inputs and pickers, never as JSON text; a text input with a variable picker; an error list the live
preview fills.

A rows widget posts each column as a repeated key (``<name>__<column>``), one value per row, in row order;
:meth:`RowsWidget.value_from_datadict` gives the rows back as dicts of strings, and the form field
(``profiles.forms``) turns them into the model's JSON. Hiding and showing is the browser's
(``static/profiles/profile_editor.js``); what is kept is the form's ``clean``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.template.loader import render_to_string
from django.utils.datastructures import MultiValueDict
from django.utils.safestring import SafeString, mark_safe

from profiles.naming.variables import VARIABLES, CertificateType, Variable

__all__ = [
    "Column",
    "LiveErrorsMixin",
    "RowsWidget",
    "VariableTextInput",
    "live_errors_id",
    "variable_choices",
]


def live_errors_id(name: str) -> str:
    """The id of the error list next to field ``name`` that the live preview fills (out of band)."""
    return f"live-errors-{name}"


def variable_choices() -> list[dict[str, str]]:
    """The variable picker's options: every variable once, with the certificate types that may use it."""
    seen: set[str] = set()
    options: list[dict[str, str]] = []
    for variable in VARIABLES.values():
        if variable.name in seen:
            continue
        seen.add(variable.name)
        options.append(_variable_option(variable))
    return options


def _variable_option(variable: Variable) -> dict[str, str]:
    types = [ctype.value for ctype in CertificateType if variable.allowed_for(ctype)]
    where = "subject" if variable.subject_allowed else "uri"
    return {
        "placeholder": variable.placeholder,
        "label": f"{variable.placeholder} ({variable.scope}: {variable.description})",
        "types": " ".join(types),
        "where": where,
        "scope": str(variable.scope),
    }


class _ProjectTemplates:
    """Render with the project's template engine (``templates/``): the default form renderer reads only
    Django's and the apps' form templates.
    """

    def _render(self, template_name: str, context: dict[str, Any], renderer: Any = None) -> SafeString:
        return mark_safe(render_to_string(template_name, context))  # noqa: S308 - our own template


class LiveErrorsMixin:
    """Renders an empty error list after the widget for the live preview to fill."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        html: str = super().render(name, value, attrs, renderer)  # type: ignore[misc]
        return SafeString(
            html + f'<ul class="errorlist live-errors" id="{live_errors_id(name)}" aria-live="polite"></ul>'
        )


class LiveSelect(LiveErrorsMixin, forms.Select):
    pass


class LiveCheckboxInput(LiveErrorsMixin, forms.CheckboxInput):
    pass


class VariableTextInput(_ProjectTemplates, forms.TextInput):
    """A text input with a picker that inserts ``{{Variable}}`` at the cursor (the variables the chosen
    certificate type may use), and the live preview's error list.
    """

    template_name = "admin/profiles/widgets/variable_text.html"

    def __init__(self, attrs: dict[str, Any] | None = None, *, where: str = "subject") -> None:
        super().__init__({"class": "vTextField profile-template", "autocomplete": "off", **(attrs or {})})
        self.where = where

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["variables"] = variable_choices()
        context["where"] = self.where
        context["live_errors_id"] = live_errors_id(name)
        return context


@dataclass(frozen=True)
class Column:
    """One column of a rows widget.

    ``kind``: ``text`` (an input), ``select`` (``choices``) or ``variables`` (a picker that posts nothing
    and inserts a variable into the row's ``target`` column).
    """

    name: str
    label: str
    kind: str = "text"
    choices: Sequence[tuple[str, str]] = ()
    target: str = ""
    placeholder: str = ""
    datalist: Sequence[str] = ()
    width: str = ""
    attrs: Mapping[str, str] = field(default_factory=dict)


class RowsWidget(_ProjectTemplates, forms.Widget):
    """A table of rows with an "Add" button and a remove button per row (see the module's docstring)."""

    template_name = "admin/profiles/widgets/rows.html"

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        add_label: str = "Add",
        empty_text: str = "None",
        attrs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(attrs)
        self.columns = tuple(columns)
        self.add_label = add_label
        self.empty_text = empty_text

    def format_value(self, value: Any) -> Any:
        return value

    def value_from_datadict(self, data: Mapping[str, Any], files: Any, name: str) -> list[dict[str, str]]:
        posted = [column for column in self.columns if column.kind != "variables"]

        def getlist(key: str) -> list[Any]:
            if isinstance(data, MultiValueDict):
                return list(data.getlist(key))
            item = data.get(key)
            return list(item) if isinstance(item, list | tuple) else [] if item is None else [item]

        values = {column.name: getlist(f"{name}__{column.name}") for column in posted}
        count = max((len(items) for items in values.values()), default=0)
        return [
            {
                column.name: str(values[column.name][index]) if index < len(values[column.name]) else ""
                for column in posted
            }
            for index in range(count)
        ]

    def value_omitted_from_data(self, data: Mapping[str, Any], files: Any, name: str) -> bool:
        return False  # no rows posted means "no rows"

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        rows = value if isinstance(value, list) else []
        context["widget"].update(
            columns=self.columns,
            rows=[self._cells(name, row) for row in rows if isinstance(row, Mapping)],
            blank=self._cells(name, {}),
            add_label=self.add_label,
            empty_text=self.empty_text,
            live_errors_id=live_errors_id(name),
            variables=variable_choices(),
        )
        return context

    def _cells(self, name: str, row: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "column": column,
                "name": f"{name}__{column.name}",
                "value": "" if row.get(column.name) is None else str(row.get(column.name)),
            }
            for column in self.columns
        ]
