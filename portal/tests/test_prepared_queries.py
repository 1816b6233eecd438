"""core.prepared_queries: a query compiled once gives what its QuerySet gives, on every call and database."""

from __future__ import annotations

from typing import Any

import pytest

from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext

from core.prepared_queries import PreparedQuery, PreparedQueryError

pytestmark = pytest.mark.django_db


def _by_codename(codename: str) -> QuerySet[Permission]:
    return Permission.objects.select_related("content_type").filter(codename=codename).order_by("pk")[:1]


def test_same_rows_as_the_queryset_with_select_related_in_one_statement() -> None:
    prepared = PreparedQuery(_by_codename, str)
    for codename in ("add_group", "change_user", "view_permission"):
        expected = _by_codename(codename).get()
        with CaptureQueriesContext(connection) as queries:
            found = prepared.first(codename)
            assert found is not None
            # The related row came with it: reading it costs no statement.
            assert found.content_type.app_label == expected.content_type.app_label
        assert len(queries.captured_queries) == 1
        assert (found.pk, found.name, found.content_type_id) == (
            expected.pk,
            expected.name,
            expected.content_type_id,
        )
        assert found._state.adding is False
        assert found._state.db == "default"


def test_no_row_and_several_rows() -> None:
    assert PreparedQuery(_by_codename, str).first("no-such-permission") is None
    many = PreparedQuery(
        lambda app: Permission.objects.filter(content_type__app_label=app).order_by("pk"), str
    )
    assert [p.pk for p in many.all("auth")] == list(
        Permission.objects.filter(content_type__app_label="auth").order_by("pk").values_list("pk", flat=True)
    )


def test_every_call_reads_the_database_and_gives_new_instances() -> None:
    group = Group.objects.create(name="before")
    prepared = PreparedQuery(lambda pk: Group.objects.filter(pk=pk).order_by("pk")[:1], int)
    first = prepared.first(group.pk)
    Group.objects.filter(pk=group.pk).update(name="after")
    second = prepared.first(group.pk)
    assert first is not None
    assert second is not None
    assert (first.name, second.name) == ("before", "after")
    assert first is not second
    second.name = "changed in memory"
    third = prepared.first(group.pk)
    assert third is not None
    assert third.name == "after"


def test_a_transformed_parameter_cannot_be_prepared() -> None:
    # icontains wraps the value in %...%: the sentinel is not among the parameters as it was given.
    prepared = PreparedQuery(lambda name: Group.objects.filter(name__icontains=name)[:1], str)
    with pytest.raises(PreparedQueryError, match="appears 0 times"):
        prepared.first("x")


def _values_of(pk: int) -> Any:
    return Group.objects.filter(pk=pk).values("name")


def test_only_plain_reads() -> None:
    with pytest.raises(PreparedQueryError, match="plain reads"):
        PreparedQuery(lambda pk: Group.objects.select_for_update().filter(pk=pk), int).first(1)
    with pytest.raises(PreparedQueryError, match="model instances"):
        PreparedQuery[Group](_values_of, int).first(1)


def test_arguments_are_checked() -> None:
    prepared = PreparedQuery(lambda pk: Group.objects.filter(pk=pk)[:1], int)
    with pytest.raises(TypeError):
        prepared.first("1")
    with pytest.raises(TypeError):
        prepared.first(True)
    with pytest.raises(TypeError):
        prepared.first()
    with pytest.raises(PreparedQueryError, match="str or int"):
        PreparedQuery(lambda value: Group.objects.filter(name=value), float).first(1.0)


def test_an_sql_injection_attempt_is_a_parameter() -> None:
    Group.objects.create(name="a")
    prepared = PreparedQuery(lambda name: Group.objects.filter(name=name).order_by("pk"), str)
    assert prepared.all("a' OR '1'='1") == []
    assert [g.name for g in prepared.all("a")] == ["a"]
