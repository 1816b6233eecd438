"""Reading import files: CSV and JSON into numbered rows per kind, and the checks of their columns. Pure.

:func:`parse_file` rejects problems of the file as a whole with
:class:`~directory.exceptions.ImportFileInvalid` (unreadable text, malformed CSV or JSON, unknown
columns, no ``external_id`` column); the values of the rows are checked by
:func:`directory.imports.rows.validate_rows`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Collection, Mapping, Sequence
from pathlib import PurePath
from typing import Any, Literal, TypeAlias, cast

from directory.exceptions import ImportFileInvalid
from directory.imports.rows import COLUMNS, KINDS, ImportKind, SourceRow

__all__ = ["ImportFormat", "check_columns", "detect_kind", "parse_file", "source_rows"]

ImportFormat: TypeAlias = Literal["csv", "json"]


def parse_file(
    content: bytes | str,
    *,
    file_format: ImportFormat | Literal["auto"] = "auto",
    kind: ImportKind | Literal["auto"] = "auto",
    filename: str | None = None,
) -> dict[ImportKind, list[SourceRow]]:
    """Read an import file into rows per kind; raise ``ImportFileInvalid`` for a file-level problem.

    ``file_format="auto"`` goes by the file name's suffix (``.csv``, ``.json``), else by the first character
    (``[`` or ``{`` is JSON). ``kind="auto"`` recognises a combined JSON file by its keys and otherwise
    the one kind whose columns include all of the file's columns. With an explicit ``kind``, a
    combined JSON file contributes only that section.
    """
    text = _decode(content)
    fmt = file_format if file_format != "auto" else _detect_format(text, filename)
    sections = _read_json(text) if fmt == "json" else {None: _read_csv(text)}
    result: dict[ImportKind, list[SourceRow]] = {}
    for section, (columns, rows) in sections.items():
        if not columns and not rows:
            continue  # an empty JSON list: nothing to import (and nothing to tell the kind by)
        if section is None:
            section_kind = detect_kind(columns) if kind == "auto" else kind
        elif kind not in ("auto", section):
            continue
        else:
            section_kind = section
        check_columns(section_kind, columns)
        result[section_kind] = rows
    return result


def source_rows(kind: ImportKind, rows: Sequence[Mapping[str, Any] | SourceRow]) -> list[SourceRow]:
    """Number plain mappings (1-based, as in a JSON list) and check the columns of all rows together."""
    numbered: list[SourceRow] = []
    for index, row in enumerate(rows, start=1):
        if isinstance(row, SourceRow):
            numbered.append(row)
        else:
            numbered.append(SourceRow(index, {str(k).strip().lower(): v for k, v in row.items()}))
    columns = {column for row in numbered for column in row.values}
    if numbered and any(row.values for row in numbered):
        check_columns(kind, columns)
    return numbered


def check_columns(kind: ImportKind, columns: Collection[str]) -> None:
    known = COLUMNS[kind]
    unknown = sorted(set(columns) - set(known))
    if unknown:
        raise ImportFileInvalid(
            f"unknown columns for {kind}: {', '.join(unknown)} (known: {', '.join(known)})",
            extra={"kind": kind, "unknown_columns": unknown, "known_columns": list(known)},
        )
    if "external_id" not in columns:
        raise ImportFileInvalid(
            f"the {kind} rows have no external_id column, the key that identifies each row",
            extra={"kind": kind, "missing_columns": ["external_id"]},
        )


def detect_kind(columns: Collection[str]) -> ImportKind:
    """The only kind whose columns include every one of ``columns``."""
    fitting = [kind for kind in KINDS if set(columns) <= set(COLUMNS[kind])]
    if len(fitting) == 1:
        return fitting[0]
    if not fitting:
        closest = max(KINDS, key=lambda kind: len(set(columns) & set(COLUMNS[kind])))
        check_columns(closest, columns)  # raises: lists the columns unknown for the closest kind
    raise ImportFileInvalid(
        f"cannot tell from the columns ({', '.join(sorted(columns))}) whether the file holds "
        f"{' or '.join(fitting)}; state the kind",
        extra={"columns": sorted(columns)},
    )


def _decode(content: bytes | str) -> str:
    if isinstance(content, str):
        return content.removeprefix("\ufeff")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileInvalid(f"the file is not UTF-8 text (byte {exc.start})") from exc


def _detect_format(text: str, filename: str | None) -> ImportFormat:
    suffix = PurePath(filename).suffix.lower() if filename else ""
    if suffix in (".csv", ".json"):
        return cast(ImportFormat, suffix[1:])
    return "json" if text.lstrip()[:1] in ("[", "{") else "csv"


def _read_csv(text: str) -> tuple[list[str], list[SourceRow]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next((cells for cells in reader if any(cell.strip() for cell in cells)), None)
        if header is None:
            raise ImportFileInvalid("the CSV file is empty; it needs a header row")
        columns = [cell.strip().lower() for cell in header]
        if "" in columns:
            raise ImportFileInvalid(f"column {columns.index('') + 1} of the header row has no name")
        duplicates = sorted({c for c in columns if columns.count(c) > 1})
        if duplicates:
            raise ImportFileInvalid(f"duplicate columns in the header row: {', '.join(duplicates)}")
        rows: list[SourceRow] = []
        start = reader.line_num + 1
        for cells in reader:
            number, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue  # blank line
            problems: tuple[str, ...] = ()
            if len(cells) > len(columns):
                problems = (f"The row has {len(cells)} values but the header has {len(columns)} columns.",)
            rows.append(SourceRow(number, dict(zip(columns, cells, strict=False)), problems))
    except csv.Error as exc:
        raise ImportFileInvalid(f"line {reader.line_num}: not valid CSV: {exc}") from exc
    return columns, rows


def _read_json(text: str) -> dict[ImportKind | None, tuple[list[str], list[SourceRow]]]:
    try:
        data = json.loads(text)
    except RecursionError as exc:  # nested deeper than the parser goes
        raise ImportFileInvalid("not valid JSON: nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, or an integer too long to convert
        raise ImportFileInvalid(f"not valid JSON: {exc}") from exc
    if isinstance(data, list):
        return {None: _json_rows(data, where="the list")}
    if isinstance(data, dict):
        unknown = sorted(set(data) - set(KINDS))
        if unknown:
            raise ImportFileInvalid(
                f"a combined JSON file has the keys {', '.join(KINDS)}; unknown: {', '.join(unknown)}",
                extra={"unknown_keys": unknown},
            )
        sections: dict[ImportKind | None, tuple[list[str], list[SourceRow]]] = {}
        for kind in KINDS:
            if kind in data:
                if not isinstance(data[kind], list):
                    raise ImportFileInvalid(f'"{kind}" must be a list of objects')
                sections[kind] = _json_rows(data[kind], where=f'"{kind}"')
        return sections
    raise ImportFileInvalid(
        "a JSON import file is a list of objects, or an object with users/devices/groups lists"
    )


def _json_rows(items: list[Any], *, where: str) -> tuple[list[str], list[SourceRow]]:
    rows: list[SourceRow] = []
    columns: dict[str, None] = {}  # ordered set
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            rows.append(SourceRow(number, {}, problems=(f"Each item of {where} must be an object.",)))
            continue
        values = {str(key).strip().lower(): value for key, value in item.items()}
        columns.update(dict.fromkeys(values))
        rows.append(SourceRow(number, values))
    return list(columns), rows
