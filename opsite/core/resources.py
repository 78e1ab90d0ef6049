"""The base of every django-import-export resource in opsite.

These promises hold for every import and export, whatever the path (admin, API, command):

* all or nothing: one bad row and the whole import is rolled back;
* every bad row is reported by its number, field and reason, and a widget's reason names what to
  write instead (the format, or the values allowed);
* numbers are read strictly (:mod:`opsite.core.parsing`: "1.9" is no whole number, "1,5" no
  decimal, "٣" neither), days as ``YYYY-MM-DD``, and a cell holding a NUL character is refused,
  on every database;
* a file names each row once: a row repeating an earlier row's import id is refused, naming both,
  rather than silently overwriting it;
* a stored row the file leaves as it was is skipped: not written, no history entry;
* derived fields (exported for reading) are not offered for import;
* exported text cells that a spreadsheet would run as a formula get a leading ``'``.

Rows are read, checked and written a batch at a time (:mod:`opsite.core.batch_import`), through
the services of the model's app. The widgets are in :mod:`opsite.core.import_widgets`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db import models
from django.utils.encoding import force_str
from import_export import resources, widgets
from import_export.formats import base_formats

from .batch_import import BatchImportMixin, BatchInstanceLoader
from .import_widgets import (
    FORMULA_TRIGGERS,
    CommaListWidget,
    NaturalKeysWidget,
    NaturalKeyWidget,
    StrictBooleanWidget,
    StrictChoiceWidget,
    StrictDateTimeWidget,
    StrictDateWidget,
    StrictDecimalWidget,
    StrictIntegerWidget,
    accepts,
    describe_text,
    neutralize_formula,
    restore_formula,
)
from .parsing import contains_nul, shown
from .services import has_writes, writes_for

__all__ = [
    "FORMULA_TRIGGERS",
    "CommaListWidget",
    "ImportFailed",
    "NaturalKeyResource",
    "NaturalKeyWidget",
    "NaturalKeysWidget",
    "OpsiteResource",
    "RowError",
    "StrictBooleanWidget",
    "StrictChoiceWidget",
    "StrictDateTimeWidget",
    "StrictDateWidget",
    "StrictDecimalWidget",
    "StrictIntegerWidget",
    "import_file",
    "neutralize_formula",
    "restore_formula",
    "row_errors",
]

# Widgets whose output is not free text: numbers and dates are never neutralized, so that a
# negative amount round-trips as a number.
_NON_TEXT_WIDGETS = (
    widgets.NumberWidget,
    widgets.DateWidget,
    widgets.DateTimeWidget,
    widgets.TimeWidget,
    widgets.BooleanWidget,
)

# The model fields whose cells are whole numbers (the primary key included: a payment's ``id``).
INTEGER_FIELDS = (
    "IntegerField",
    "PositiveIntegerField",
    "BigIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
    "SmallIntegerField",
    "SmallAutoField",
    "AutoField",
    "BigAutoField",
)

FORMATS = {"csv": base_formats.CSV, "xlsx": base_formats.XLSX, "json": base_formats.JSON}


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


class OpsiteResource(BatchImportMixin, resources.ModelResource):
    """Base resource: validated, transactional, formula-safe, decimals never rounded.

    Rows are saved and deleted by the services of the model's app (``writes_for``), inside the
    import's one transaction, so an import applies the same rules and side effects as the admin
    and the API; a rule a row breaks is reported on that row like any other bad cell.
    """

    # Every number column reads strictly, whatever its size: the library's own integer widget
    # reads "1.9" as 1 and "٣" as 3. Days are YYYY-MM-DD: the library also reads 12/31/2024,
    # and would read 01/02/2024 as January.
    WIDGETS_MAP = {
        **resources.ModelResource.WIDGETS_MAP,
        **dict.fromkeys(INTEGER_FIELDS, StrictIntegerWidget),
        "DecimalField": StrictDecimalWidget,
        "DateField": StrictDateWidget,
        "DateTimeField": StrictDateTimeWidget,
    }

    # Import id fields matched whatever their letter case (a repository's ``full_name``, as on
    # GitHub); a relation's key is when its ``NaturalKeyWidget`` says so.
    case_insensitive_ids: tuple[str, ...] = ()

    # Column -> the example value of the downloadable template, where the default one (built from
    # the column's widget) would not describe a valid row.
    template_example: dict[str, object] = {}

    class Meta:
        clean_model_instances = True
        use_transactions = True
        skip_unchanged = True
        report_skipped = True

    @classmethod
    def field_from_django_field(cls, field_name, django_field, readonly):
        # A field with choices reads them by value or label, and a bad value is refused naming
        # them (the model's own check says only "not a valid choice").
        resource_field = super().field_from_django_field(field_name, django_field, readonly)
        if django_field.choices and not django_field.is_relation:
            resource_field.widget = StrictChoiceWidget(django_field.flatchoices, null=django_field.null)
        elif isinstance(django_field, models.BooleanField):
            # Yes or no, and nothing else: the library reads "maybe" as no. An empty cell is "not
            # known", which the field's default then answers, if it has one.
            resource_field.widget = StrictBooleanWidget(null=django_field.null or django_field.has_default())
        return resource_field

    def column_accepts(self, resource_field) -> str:
        """What a cell of ``resource_field``'s column holds, in words (the preview's "what to
        write" and the template's notes): its widget's format, or the text its model field takes."""
        described = accepts(resource_field.widget)
        if described != "text":
            return described
        try:
            model_field = self._meta.model._meta.get_field((resource_field.attribute or "").split("__")[0])
        except FieldDoesNotExist:
            return described
        return describe_text(model_field)

    def get_instance(self, instance_loader, row):
        # A batch's loader has the stored rows read already (and knows the id columns are there).
        if isinstance(instance_loader, BatchInstanceLoader):
            return instance_loader.get_instance(row)
        return super().get_instance(instance_loader, row)

    def get_import_fields(self):
        """The columns a file may write: read-only ones (derived, or exported for reading) are
        not offered for import, and are ignored in a file that holds them."""
        cached = self.__dict__.get("_import_fields")
        if cached is None:
            cached = [f for f in super().get_import_fields() if not f.readonly]
            self.__dict__["_import_fields"] = cached
        return cached

    def get_user_visible_fields(self):
        # What the export page lists (the library's default is the import's columns).
        return self.get_export_fields()

    def ignored_columns(self, headers) -> list[tuple[str, str]]:
        """The columns of a file that the import does not read, each with why (for the preview)."""
        imported = {f.column_name for f in self.get_import_fields()}
        readonly = {f.column_name for f in self.fields.values() if f.readonly}
        found = []
        for header in headers or ():
            if header in imported:
                continue
            reason = (
                "derived or read-only: exported for reading, never imported"
                if header in readonly
                else ("not a column of this import")
            )
            found.append((header, reason))
        return found

    def import_data(self, dataset, dry_run=False, raise_errors=False, use_transactions=None, **kwargs):
        # All or nothing: validation errors roll back too, not only exceptions.
        kwargs["rollback_on_validation_errors"] = True
        return super().import_data(
            dataset, dry_run=dry_run, raise_errors=raise_errors, use_transactions=True, **kwargs
        )

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        self._repeated_rows = self.repeated_rows(dataset)

    def repeated_rows(self, dataset) -> dict[int, tuple[str, str]]:
        """The rows whose import id repeats an earlier row's: row number -> (field, message).

        Keys are compared as the widgets read them (``2024-01-31`` in a CSV and a spreadsheet
        date are one day; a relation's key text trimmed), whatever their letter case where the
        key is matched so. A row whose key cannot be read, or is blank (a new row matched on
        ``id``), is left to its own errors.
        """
        id_fields = [self.fields[name] for name in self.get_import_id_fields() if name in self.fields]
        headers = list(dataset.headers or ())
        if not id_fields or any(field.column_name not in headers for field in id_fields):
            return {}  # the library reports a missing id column itself
        positions = [headers.index(field.column_name) for field in id_fields]
        first_seen: dict[tuple, int] = {}
        repeated: dict[int, tuple[str, str]] = {}
        # Kept for the batches, which find the stored rows by these keys.
        self._row_keys: dict[int, tuple | None] = {}
        for number, values in enumerate(dataset, 1):
            cells = [values[position] for position in positions]
            if any(contains_nul(cell) for cell in cells):
                continue
            key = self._row_keys[number] = self._import_key(id_fields, cells)
            if key is None:
                continue
            if key not in first_seen:
                first_seen[key] = number
                continue
            names = [field.column_name for field in id_fields]
            texts = [c.isoformat() if isinstance(c, date) else shown(c) for c in cells]
            described = (
                f"{names[0]} {texts[0]}"
                if len(names) == 1
                else f"{', '.join(names[:-1])} and {names[-1]} ({', '.join(texts)})"
            )
            noun = self._meta.model._meta.verbose_name
            repeated[number] = (
                id_fields[0].attribute or names[0],
                f"repeats the {described} of row {first_seen[key]}: a file may hold each {noun} once.",
            )
        return repeated

    def _import_key(self, id_fields, cells) -> tuple | None:
        key = []
        for field, cell in zip(id_fields, cells, strict=True):
            if isinstance(cell, str):
                cell = restore_formula(cell).strip()
            if cell is None or cell == "" or contains_nul(cell):
                return None
            widget = field.widget
            if isinstance(widget, widgets.ForeignKeyWidget):
                # A relation's key as text: reading it would cost a query per row.
                value = force_str(cell)
                folded = getattr(widget, "case_insensitive", False)
            else:
                try:
                    value = widget.clean(cell)
                except Exception:  # a bad cell: the row reports it on its column
                    return None
                folded = field.attribute in self.case_insensitive_ids
            if value is None or value == "":
                return None
            key.append(value.casefold() if folded and isinstance(value, str) else value)
        return tuple(key)

    def _check_cells(self, instance, errors: dict) -> dict:
        """The checks of each imported cell on its own, for a resource whose service checks rows.

        The service checks a row only once the rows before it passed; these checks cost no
        query, so every bad cell of every row is named, as with ``clean_model_instances``: the
        imported columns' own validators (a number's range, a plausible date), and a required
        relation left empty (reading it would raise, where ``full_clean()`` names it).
        """
        imported, relations = set(), {}
        for field in self.get_import_fields():
            try:
                model_field = instance._meta.get_field(field.attribute or "")
            except FieldDoesNotExist:
                continue
            if model_field.many_to_one:
                relations[field.attribute] = model_field
            elif model_field.concrete and not model_field.many_to_many:
                imported.add(field.attribute)
        for name, model_field in relations.items():
            if name not in errors and not model_field.null and getattr(instance, model_field.attname) is None:
                errors[name] = [ValidationError(model_field.error_messages["null"], code="null")]
        others = {f.name for f in instance._meta.concrete_fields} - (imported - set(errors))
        try:
            instance.clean_fields(exclude=others)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        return errors

    def row_rules(self, instance):
        """The service rules each row is checked against before it is saved.

        The model's ``ModelWrites.validate``; a resource whose rows are checked as a set once the
        file is read (payments moving money between them) answers ``None``.
        """
        model = type(instance)
        return writes_for(model).validate if has_writes(model) else None

    def row_data_names(self) -> list[str]:
        """The model columns this resource imports (not its primary key, not many-to-many)."""
        names = []
        opts = self._meta.model._meta
        for field in self.get_import_fields():
            name = field.attribute
            if not name or "__" in name:
                continue
            try:
                model_field = opts.get_field(name)
            except FieldDoesNotExist:
                continue
            if model_field.many_to_many or not model_field.concrete or model_field.primary_key:
                continue
            names.append(name)
        return names

    def row_data(self, instance) -> dict:
        """The model columns this resource imports, as the row set them on ``instance``."""
        data = {}
        for name in self.row_data_names():
            model_field = instance._meta.get_field(name)
            if model_field.many_to_one and getattr(instance, model_field.attname) is None:
                data[name] = None  # unset: reading the relation would raise, not answer None
            else:
                data[name] = getattr(instance, name)
        return data

    def delete_instance(self, instance, row, **kwargs):
        self.before_delete_instance(instance, row, **kwargs)
        writes_for(type(instance)).delete_one(instance)
        self.after_delete_instance(instance, row, **kwargs)

    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **kwargs)
        if isinstance(value, str) and not isinstance(field.widget, _NON_TEXT_WIDGETS):
            return neutralize_formula(value)
        return value


class NaturalKeyResource(OpsiteResource):
    """A resource whose rows are matched, and whose relations are written, by natural key.

    A row whose import id names an unknown relation (or holds a bad value) is a new row, so the
    bad value is reported as an error on its column; the cells of :class:`NaturalKeysWidget`
    columns are read before the row is saved, so an unknown key is reported on its column too.
    """


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
