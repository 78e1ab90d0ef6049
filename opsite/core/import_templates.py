"""The downloadable template of each import: a CSV a spreadsheet user can fill in.

The file opens with notes (lines whose first cell starts with ``#``, which the import skips):
what a row is, how a row is matched to a stored one, and a table of the columns saying for each
whether it is required, what to write (the format, the values allowed, the relation's key) and an
example. Then come the header and one example row, built from the columns' widgets (an existing
relation's key, the first allowed value, a plausible day), which the import reads as a valid row:
the person replaces it with their own rows.

A resource whose rules need a particular example (a date after another) says so in
``template_example``: column -> value, or a callable taking the resource.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import DecimalField, F, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from import_export import widgets

from .import_widgets import (
    CommaListWidget,
    NaturalKeysWidget,
    NaturalKeyWidget,
    StrictBooleanWidget,
    StrictChoiceWidget,
    StrictDateTimeWidget,
    StrictDateWidget,
    StrictDecimalWidget,
    StrictIntegerWidget,
)
from .imports import NOTE_MARK

EXAMPLE_DAY = "2024-01-31"


def _model_field(resource, resource_field):
    try:
        return resource._meta.model._meta.get_field((resource_field.attribute or "").split("__")[0])
    except FieldDoesNotExist:
        return None


def _is_id(resource, resource_field) -> bool:
    model_field = _model_field(resource, resource_field)
    return model_field is not None and model_field.primary_key


def required(resource, resource_field) -> str:
    """``required``, ``optional`` or what an empty cell means, in a few words."""
    if _is_id(resource, resource_field):
        return "empty for a new row"
    model_field = _model_field(resource, resource_field)
    if model_field is None or model_field.many_to_many:
        return "optional"
    if getattr(model_field, "null", False) or getattr(model_field, "blank", False):
        return "optional"
    if model_field.has_default():
        default = model_field.get_default()
        return f"optional (empty: {default})" if default not in (None, "") else "optional"
    return "required"


def key_with_room(rows: QuerySet, key: str, *, total: str, children: str, room: Decimal) -> str:
    """The ``key`` of the first of ``rows`` whose ``total`` leaves ``room`` above the sum of its
    ``children``' amounts (a contract or grant a template's example payment fits under); ``""``."""
    used = Coalesce(Sum(f"{children}__amount"), Value(Decimal(0)), output_field=DecimalField())
    found = (
        rows.annotate(_used=used)
        .filter(**{f"{total}__gte": F("_used") + Value(room, output_field=DecimalField())})
        .order_by(key)
        .values_list(key, flat=True)
        .first()
    )
    return "" if found is None else str(found)


def _example(resource, resource_field) -> str:
    """A value of the column that makes a valid row (``template_example`` wins)."""
    override = resource.template_example.get(resource_field.column_name)
    if override is not None:
        return str(override(resource) if callable(override) else override)
    widget, model_field = resource_field.widget, _model_field(resource, resource_field)
    if _is_id(resource, resource_field) or isinstance(widget, NaturalKeysWidget | CommaListWidget):
        return ""
    optional = (
        model_field is None or getattr(model_field, "null", False) or getattr(model_field, "blank", False)
    )
    if isinstance(widget, NaturalKeyWidget):
        key = (
            widget.get_queryset(None, None)
            .order_by(widget.field)
            .values_list(widget.field, flat=True)
            .first()
        )
        return "" if key is None else str(key)
    if model_field is not None and model_field.has_default():
        default = model_field.get_default()
        return "" if default is None else _rendered(widget, default)
    if optional and not isinstance(widget, StrictBooleanWidget):
        return ""
    if isinstance(widget, StrictChoiceWidget):
        return widget.choices[0][0] if widget.choices else ""
    if isinstance(widget, StrictDateWidget):
        return EXAMPLE_DAY
    if isinstance(widget, StrictDateTimeWidget | widgets.DateTimeWidget):
        return f"{EXAMPLE_DAY}T09:00:00Z"
    if isinstance(widget, StrictBooleanWidget):
        return "" if widget.null else "0"
    if isinstance(widget, StrictIntegerWidget):
        return "1"
    if isinstance(widget, StrictDecimalWidget):
        return "1000.00"
    if isinstance(model_field, models.SlugField):
        return f"example-{resource._meta.model._meta.model_name}"
    if isinstance(model_field, models.URLField):
        return "https://example.org/"
    if isinstance(model_field, models.EmailField):
        return "someone@example.org"
    return "Example"


def _rendered(widget, value: Any) -> str:
    if isinstance(widget, StrictBooleanWidget):
        return "1" if value else "0"
    return str(value)


def template_rows(resource) -> tuple[list[list[str]], list[str], list[str]]:
    """(notes, header, example row) of ``resource``'s template."""
    model = resource._meta.model
    plural = str(model._meta.verbose_name_plural)
    id_columns = [resource.fields[name].column_name for name in resource.get_import_id_fields()]
    columns = resource.get_import_fields()
    notes = [
        [
            f"{NOTE_MARK} Import template: {plural}. Lines starting with {NOTE_MARK} are notes and are not imported."
        ],
        [
            f"{NOTE_MARK} Write one row per {model._meta.verbose_name} under the header, in place of the example "
            f"row. A row with the same {', '.join(id_columns)} as a stored one changes it; a row left as stored "
            "is skipped."
        ],
        [
            f"{NOTE_MARK} Save as CSV (UTF-8). Dates are YYYY-MM-DD; numbers use a point and no thousands separators."
        ],
        [f"{NOTE_MARK} column", "required?", "what to write"],
    ]
    for resource_field in columns:
        what = resource.column_accepts(resource_field)
        if resource_field.column_name in id_columns and not _is_id(resource, resource_field):
            what += " (identifies the row)"
        notes.append([f"{NOTE_MARK} {resource_field.column_name}", required(resource, resource_field), what])
    header = [resource_field.column_name for resource_field in columns]
    example = [_example(resource, resource_field) for resource_field in columns]
    return notes, header, example


def template_csv(resource) -> str:
    """The template of ``resource`` as CSV text."""
    notes, header, example = template_rows(resource)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(notes)
    writer.writerow(header)
    writer.writerow(example)
    return out.getvalue()
