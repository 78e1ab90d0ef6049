"""The base of every django-import-export resource in opsite.

Three promises hold for every import and export, whatever the path (admin, API, command):

* all or nothing: one bad row and the whole import is rolled back;
* every bad row is reported by its number, field and reason;
* exported text cells that a spreadsheet would run as a formula get a leading ``'``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS
from django.utils.encoding import force_str
from import_export import resources, widgets
from import_export.formats import base_formats

# A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

# Widgets whose output is not free text: numbers and dates are never neutralized, so that a
# negative amount round-trips as a number.
_NON_TEXT_WIDGETS = (
    widgets.NumberWidget,
    widgets.DateWidget,
    widgets.DateTimeWidget,
    widgets.TimeWidget,
    widgets.BooleanWidget,
)

FORMATS = {"csv": base_formats.CSV, "xlsx": base_formats.XLSX, "json": base_formats.JSON}


def neutralize_formula(value: str) -> str:
    """Prefix a text cell that a spreadsheet would evaluate with ``'``."""
    if value and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def restore_formula(value: str) -> str:
    """Undo :func:`neutralize_formula`, so an exported file re-imports to the same text."""
    if len(value) > 1 and value[0] == "'" and value[1:].startswith(FORMULA_TRIGGERS):
        return value[1:]
    return value


class StrictDecimalWidget(widgets.DecimalWidget):
    """A decimal that names the bad value instead of failing with ``InvalidOperation``.

    It never rounds: a value with more places than the model field allows is refused by the
    model's own validation (``full_clean``), which the base resource always runs.
    """

    def clean(self, value, row=None, **kwargs):
        if self.is_empty(value):
            return None
        if isinstance(value, float):
            # XLSX cells arrive as floats: go through their shortest repr, never binary noise.
            value = repr(value)
        try:
            return Decimal(force_str(value).strip().replace(",", ""))
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number.") from None

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return format(value, "f") if self.coerce_to_string else value


@dataclass(frozen=True)
class RowError:
    """One reason one row was refused."""

    row: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row else "file"
        return f"{where}, {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ImportFailed(Exception):
    """An import was refused as a whole; ``errors`` names every bad row."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


def row_errors(result) -> list[RowError]:
    """Flatten an import ``Result`` into row-numbered errors, in row order."""
    found: list[RowError] = []
    for error in result.base_errors:
        found.append(RowError(0, "", force_str(error.error)))
    for number, errors in result.row_errors():
        for error in errors:
            found.append(RowError(number, "", force_str(error.error)))
    for invalid in result.invalid_rows:
        for field, messages in invalid.error_dict.items():
            name = "" if field == NON_FIELD_ERRORS else field
            for message in messages:
                found.append(RowError(invalid.number, name, force_str(message)))
    return sorted(found, key=lambda e: e.row)


class OpsiteResource(resources.ModelResource):
    """Base resource: validated, transactional, formula-safe, decimals never rounded."""

    WIDGETS_MAP = {**resources.ModelResource.WIDGETS_MAP, "DecimalField": StrictDecimalWidget}

    class Meta:
        clean_model_instances = True
        use_transactions = True
        skip_unchanged = False
        report_skipped = True

    @classmethod
    def widget_from_django_field(cls, f, default=widgets.Widget):
        if f.get_internal_type() == "DecimalField":
            return StrictDecimalWidget
        return super().widget_from_django_field(f, default)

    def import_data(self, dataset, dry_run=False, raise_errors=False, use_transactions=None, **kwargs):
        # All or nothing: validation errors roll back too, not only exceptions.
        kwargs["rollback_on_validation_errors"] = True
        return super().import_data(
            dataset, dry_run=dry_run, raise_errors=raise_errors, use_transactions=True, **kwargs
        )

    def before_import_row(self, row, **kwargs):
        for key, value in list(row.items()):
            if isinstance(value, str):
                row[key] = restore_formula(value)
        super().before_import_row(row, **kwargs)

    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **kwargs)
        if isinstance(value, str) and not isinstance(field.widget, _NON_TEXT_WIDGETS):
            return neutralize_formula(value)
        return value


def import_file(resource: OpsiteResource, content: bytes | str, fmt: str, *, dry_run: bool = False):
    """Import a whole file through ``resource``; raise :class:`ImportFailed` on any bad row.

    Used by management commands and the API so that they report exactly like the admin does.
    """
    try:
        format_class = FORMATS[fmt]()
    except KeyError:
        raise ImportFailed(
            [RowError(0, "format", f"unknown format {fmt!r}; use csv, xlsx or json")]
        ) from None
    if format_class.is_binary() and isinstance(content, str):
        content = content.encode()
    if not format_class.is_binary() and isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ImportFailed([RowError(0, "", "the file is not UTF-8 text")]) from None
    try:
        dataset = format_class.create_dataset(content)
    except Exception as exc:  # tablib raises a zoo of parser errors
        raise ImportFailed([RowError(0, "", f"cannot read the {fmt} file: {exc}")]) from None
    result = resource.import_data(dataset, dry_run=dry_run)
    errors = row_errors(result)
    if errors:
        raise ImportFailed(errors)
    return result
