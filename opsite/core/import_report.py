"""What an import found, as a person reads it: counts, the first rows, and every problem in line.

:func:`build_report` turns django-import-export's ``Result`` into plain data (JSON-safe, so a
background job can keep it): how many rows are new, changed, unchanged (skipped) or refused; the
first rows with their changes; and one line per problem naming the row, the column, the value the
file gave, what is wrong and what the column accepts (``YYYY-MM-DD``, the values allowed). The
preview page and a background job's page render the same report.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.utils.encoding import force_str
from import_export.results import RowResult

from .parsing import shown

# Problem lines kept in a report: a file with more is refused anyway, and the first thousand tell
# what to fix.
MAX_PROBLEMS = 1000
# Characters of a value shown in a problem line or a preview cell.
MAX_SHOWN = 80

KINDS = (
    RowResult.IMPORT_TYPE_NEW,
    RowResult.IMPORT_TYPE_UPDATE,
    RowResult.IMPORT_TYPE_SKIP,
    RowResult.IMPORT_TYPE_DELETE,
    RowResult.IMPORT_TYPE_INVALID,
    RowResult.IMPORT_TYPE_ERROR,
)


def _text(value: Any) -> str:
    if value is None:
        return ""
    text = force_str(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def _columns_by_name(resource) -> dict[str, Any]:
    """Resource fields by the names an error may carry: the attribute, and the column name."""
    found = {}
    for resource_field in resource.get_import_fields():
        found.setdefault(resource_field.column_name, resource_field)
        if resource_field.attribute:
            found.setdefault(resource_field.attribute, resource_field)
            found.setdefault(resource_field.attribute.split("__")[0], resource_field)
    return found


def _problems(result, resource) -> tuple[list[dict], int]:
    columns = _columns_by_name(resource)
    headers = list(result.diff_headers)
    lines: list[dict] = []
    count = 0

    def add(row: int, column: str, value: str, message: str, expected: str) -> None:
        nonlocal count
        count += 1
        if len(lines) < MAX_PROBLEMS:
            lines.append(
                {"row": row, "column": column, "value": value, "message": message, "expected": expected}
            )

    for error in result.base_errors:
        add(0, "", "", force_str(error.error), "")
    for number, errors in result.row_errors():
        for error in errors:
            add(number, "", "", f"could not be imported: {force_str(error.error)}", "")
    for invalid in sorted(result.invalid_rows, key=lambda invalid: invalid.number):
        for name, messages in invalid.error_dict.items():
            resource_field = None if name == NON_FIELD_ERRORS else columns.get(name)
            column = resource_field.column_name if resource_field is not None else ""
            value = ""
            if column in headers and len(invalid.values) > headers.index(column):
                given = invalid.values[headers.index(column)]
                value = "" if given == "---" else shown(given) if not isinstance(given, str) else _text(given)
            expected = resource.column_accepts(resource_field) if resource_field is not None else ""
            for message in messages:
                add(
                    invalid.number,
                    column or ("" if name == NON_FIELD_ERRORS else name),
                    value,
                    message,
                    expected,
                )
    return lines, count


def _rows(result) -> list[dict]:
    rows = []
    for number, row_result in enumerate(result.rows, 1):
        cells = getattr(row_result, "cells", None)
        if cells is None:
            continue
        rows.append({"number": number, "kind": row_result.import_type, "cells": cells})
    return rows


def build_report(result, resource, headers=None) -> dict:
    """The report of ``result``, an import of ``resource`` of a file with ``headers``."""
    totals = {kind: int(result.totals.get(kind, 0)) for kind in KINDS}
    problems, problem_count = _problems(result, resource)
    return {
        "total_rows": int(result.total_rows or sum(totals.values())),
        "totals": totals,
        "headers": list(result.diff_headers),
        "rows": _rows(result),
        "problems": problems,
        "problem_count": problem_count,
        "ignored": [list(pair) for pair in resource.ignored_columns(headers)],
        "refused": bool(result.has_errors() or result.has_validation_errors()),
    }


def cells_of(before: list, after: list, *, new: bool) -> list[dict]:
    """The cells of a previewed row: each value, and what it was when the row changes it."""
    cells = []
    for position, value in enumerate(after):
        now = _text(value)
        was = "" if new or position >= len(before) else _text(before[position])
        changed = not new and was != now
        cells.append({"value": now, "was": was if changed else None, "changed": changed})
    return cells
