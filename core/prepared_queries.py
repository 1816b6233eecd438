"""Hot-path reads compiled once: a model query whose SQL Django builds the first time it runs on a database
and reuses afterwards with new parameter values.

Why: on the SCEP hot path most of the cost of a simple lookup (the SCEP service of every request, the
transaction of a PKIOperation, the CA request the CA worker signs) is Django turning the QuerySet into SQL
(``SQLCompiler.as_sql``: columns, joins, ordering), not the database's answer; a GetCACaps spent more than
half of its time there (docs/benchmarks.md). A ``PreparedQuery`` keeps what Django compiled (the SQL text, the
columns, the converters, the select_related populators) and only executes it, so the rows, the model instances
(fresh ones on every call, nothing shared between requests or threads) and the statement seen by the database
are those of the QuerySet itself.

How: ``build`` is called once per database (vendor) with *sentinel* values in place of the parameters, the
QuerySet is compiled, and the position of each sentinel among the SQL parameters is recorded; each call then
substitutes the real values there. A parameter that Django transforms (``__icontains`` wraps it in ``%``, a
datetime is adapted, a model instance becomes its key) would not be found as such: preparing then fails
loudly, so use plain ``str``/``int`` parameters on ``exact`` lookups (``service_id=...``, ``slug=...``).
Only plain reads: no ``select_for_update``, no ``values()``/``annotate()``, no ``prefetch_related``.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections, models
from django.db.models.query import get_related_populators

__all__ = ["PreparedQuery", "PreparedQueryError"]

M = TypeVar("M", bound=models.Model)

_sentinel_counter = itertools.count(1)


class PreparedQueryError(Exception):
    """The query cannot be prepared (a parameter was transformed, or the QuerySet is not a plain read)."""


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    positions: tuple[int, ...]  # where each argument goes among ``params``
    model: type[models.Model]
    init_list: tuple[str, ...]
    fields_start: int
    fields_end: int
    populators: tuple[Any, ...]
    converters: tuple[tuple[int, tuple[Any, ...], Any], ...]  # (column, converters, expression)


def _sentinel(kind: type) -> Any:
    number = next(_sentinel_counter)
    if kind is str:
        return f"\x1fprepared-{number}-{uuid.uuid4().hex}"
    if kind is int:
        # Negative (never a primary key) but inside a 32-bit integer column's range: Django turns a lookup
        # with an out-of-range value into an empty result without SQL (PostgreSQL), so nothing would compile.
        return -(2**31) + 7 * number
    raise PreparedQueryError(f"prepared query parameters must be str or int, not {kind.__name__}")


class PreparedQuery(Generic[M]):
    """``build(*args)`` returns the QuerySet (of model ``M``) to run; ``kinds`` are the argument types.

    >>> by_slug = PreparedQuery(lambda slug: Service.objects.filter(slug=slug).order_by()[:1], str)
    >>> by_slug.first("demo")
    """

    def __init__(self, build: Callable[..., models.QuerySet[M]], *kinds: type) -> None:
        self._build = build
        self._kinds = kinds
        self._compiled: dict[tuple[str, str], _Compiled] = {}
        self._lock = threading.Lock()

    def _prepare(self, using: str) -> _Compiled:
        vendor = connections[using].vendor
        key = (using, vendor)
        compiled = self._compiled.get(key)
        if compiled is not None:
            return compiled
        sentinels = [_sentinel(kind) for kind in self._kinds]
        queryset = self._build(*sentinels).using(using)
        query = queryset.query
        if (
            query.select_for_update
            or bool(getattr(queryset, "_prefetch_related_lookups", None))
            or query.annotations
        ):
            raise PreparedQueryError("only plain reads can be prepared")
        plain = getattr(queryset, "_fields", None) is None
        if not plain or getattr(queryset, "_iterable_class", None) is not models.query.ModelIterable:
            raise PreparedQueryError("only model instances (no values()/values_list()) can be prepared")
        compiler = query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        positions = []
        for sentinel in sentinels:
            found = [index for index, value in enumerate(params) if value == sentinel]
            if len(found) != 1:
                raise PreparedQueryError(
                    f"parameter {sentinel!r} appears {len(found)} times in the compiled SQL: use it once, "
                    "on an exact lookup"
                )
            positions.append(found[0])
        select, klass_info = compiler.select, compiler.klass_info
        if klass_info is None or compiler.annotation_col_map:
            raise PreparedQueryError("only model instances can be prepared")
        select_fields = klass_info["select_fields"]
        start, end = select_fields[0], select_fields[-1] + 1
        fields = [column[0] for column in select[0 : compiler.col_count]]
        compiled = _Compiled(
            sql=sql,
            params=tuple(params),
            positions=tuple(positions),
            model=klass_info["model"],
            init_list=tuple(column[0].target.attname for column in select[start:end]),
            fields_start=start,
            fields_end=end,
            # Django 5.2's signature; the stubs already describe a later one.
            populators=tuple(get_related_populators(klass_info, select, using)),  # type: ignore[call-arg]
            converters=tuple(
                (position, tuple(functions), expression)
                for position, (functions, expression) in compiler.get_converters(fields).items()
            ),
        )
        with self._lock:
            self._compiled[key] = compiled
        return compiled

    def all(self, *args: Any, using: str = "default") -> list[M]:
        """The model instances the QuerySet ``build(*args)`` would give, new ones on every call."""
        if len(args) != len(self._kinds):
            raise TypeError(f"expected {len(self._kinds)} arguments, got {len(args)}")
        for value, kind in zip(args, self._kinds, strict=True):
            if not isinstance(value, kind) or isinstance(value, bool):
                raise TypeError(f"prepared query argument {value!r} is not {kind.__name__}")
        compiled = self._prepare(using)
        params = list(compiled.params)
        for position, value in zip(compiled.positions, args, strict=True):
            params[position] = value
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows: Sequence[Sequence[Any]] = cursor.fetchall()
        if compiled.converters:
            rows = [self._convert(row, compiled, connection) for row in rows]
        instances: list[M] = []
        for row in rows:
            instance = compiled.model.from_db(
                using, list(compiled.init_list), row[compiled.fields_start : compiled.fields_end]
            )
            for populator in compiled.populators:
                populator.populate(row, instance)
            instances.append(instance)  # type: ignore[arg-type]  # the QuerySet's model is M
        return instances

    @staticmethod
    def _convert(row: Sequence[Any], compiled: _Compiled, connection: Any) -> list[Any]:
        """What ``SQLCompiler.apply_converters`` does, with this thread's connection."""
        values = list(row)
        for position, functions, expression in compiled.converters:
            value = values[position]
            for function in functions:
                value = function(value, expression, connection)
            values[position] = value
        return values

    def first(self, *args: Any, using: str = "default") -> M | None:
        """The first instance (build the QuerySet with ``[:1]`` and an explicit order)."""
        found = self.all(*args, using=using)
        return found[0] if found else None
