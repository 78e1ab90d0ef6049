"""The base of every django-import-export resource in opsite.

These promises hold for every import and export, whatever the path (admin, API, command):

* all or nothing: one bad row and the whole import is rolled back;
* every bad row is reported by its number, field and reason;
* numbers are read strictly (:mod:`opsite.core.parsing`: "1.9" is no whole number, "1,5" no
  decimal, "٣" neither), and a cell holding a NUL character is refused, on every database;
* a file names each row once: a row repeating an earlier row's import id is refused, naming both,
  rather than silently overwriting it;
* exported text cells that a spreadsheet would run as a formula get a leading ``'``.

The widgets below are the ones every app shares: relations written as natural keys (one, or many
in one cell), strict yes/no, whole numbers and decimals, lists in one cell. Each refuses what it
does not understand with a ``ValueError`` naming the value, which the library reports as an error
on that row's column; none of them guesses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ObjectDoesNotExist, ValidationError
from django.utils.encoding import force_str
from import_export import resources, widgets
from import_export.formats import base_formats
from import_export.results import RowResult

from .parsing import NUL_MESSAGE, contains_nul, parse_decimal, parse_integer, shown
from .services import adopt, full_clean_with, has_writes, writes_for

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


def _is_quoted_formula(value: str) -> bool:
    """Whether ``value`` is one or more ``'`` followed by a formula trigger."""
    unquoted = value.lstrip("'")
    return len(unquoted) < len(value) and unquoted.startswith(FORMULA_TRIGGERS)


def neutralize_formula(value: str) -> str:
    """Prefix a text cell that a spreadsheet would evaluate with ``'``.

    A text that already reads ``'=...`` gets one more quote too: the import strips exactly one,
    so every text comes back as it was written (and a spreadsheet shows it as written).
    """
    if value and (value.startswith(FORMULA_TRIGGERS) or _is_quoted_formula(value)):
        return "'" + value
    return value


def restore_formula(value: str) -> str:
    """Undo :func:`neutralize_formula`, so an exported file re-imports to the same text."""
    if _is_quoted_formula(value):
        return value[1:]
    return value


class StrictDecimalWidget(widgets.DecimalWidget):
    """A decimal read strictly (:func:`opsite.core.parsing.parse_decimal`), naming a bad value.

    No thousands separators ("1,5" is refused, never read as 15), no exponent, no NaN; an XLSX
    cell's float is read through its shortest repr. It never rounds: a value with more places
    than the model field allows is refused by the model's own validation (``full_clean``), which
    the base resource always runs.
    """

    def clean(self, value, row=None, **kwargs):
        if self.is_empty(value):
            return None
        return parse_decimal(value, floats=True)

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return format(value, "f") if self.coerce_to_string else value


class StrictIntegerWidget(widgets.IntegerWidget):
    """A whole number read strictly (:func:`opsite.core.parsing.parse_integer`), naming a bad value.

    ASCII digits only: "1.9" is refused where the library's widget stores 1, "٣" where it
    stores 3. An XLSX cell's whole float (``7.0``) is that number.
    """

    def clean(self, value, row=None, **kwargs):
        if self.is_empty(value):
            return None
        return parse_integer(value, floats=True)


class StrictBooleanWidget(widgets.BooleanWidget):
    """Yes/no that refuses what it does not understand, instead of reading it as "no".

    ``null`` says what an empty cell means: with ``null=True`` (a nullable field) it is "not
    known" (``None``), and ``null``/``none`` are read the same way; with ``null=False`` it is
    "no", and those words are refused like any other.
    """

    TRUE_TEXT = frozenset({"1", "true", "yes", "y"})
    FALSE_TEXT = frozenset({"0", "false", "no", "n"})
    NULL_TEXT = frozenset({"", "null", "none"})

    def __init__(self, *, null: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.null = null

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):  # XLSX and JSON numbers
            return bool(value)
        text = force_str(value if value is not None else "").strip().lower()
        if text in self.TRUE_TEXT:
            return True
        if text in self.FALSE_TEXT:
            return False
        if text == "" and not self.null:
            return False
        if text in self.NULL_TEXT and self.null:
            return None
        hint = " (or leave it empty)" if self.null else ""
        raise ValueError(f"{value!r} is not yes or no; use 1 or 0{hint}.")


class NaturalKeyWidget(widgets.ForeignKeyWidget):
    """A relation written as its natural key; an unknown key is an error on the field, naming it.

    The library's widget lets ``DoesNotExist`` escape, which is reported as a row error with no
    field; a ``ValueError`` is reported on this column. ``case_insensitive`` matches the key
    whatever its case (repository names are). ``unknown_message`` is a ``str.format`` template
    with ``name`` (the model's verbose name), ``field`` and ``key``.
    """

    unknown_message = "no {name} with {field} {key!r}."

    def __init__(
        self,
        model,
        field: str,
        *,
        case_insensitive: bool = False,
        unknown_message: str | None = None,
        **kwargs,
    ):
        super().__init__(model, field=field, **kwargs)
        self.case_insensitive = case_insensitive
        if unknown_message is not None:
            self.unknown_message = unknown_message

    def clean(self, value, row=None, **kwargs):
        key = force_str(value).strip() if value is not None else ""
        if not key:
            return None
        lookup = f"{self.field}__iexact" if self.case_insensitive else self.field
        try:
            return self.get_queryset(value, row, **kwargs).get(**{lookup: key})
        except self.model.DoesNotExist:
            name = self.model._meta.verbose_name
            raise ValueError(self.unknown_message.format(name=name, field=self.field, key=key)) from None


def _split_cell(value, separator: str) -> list[str]:
    """The non-empty items of a list cell: text split on ``separator``, or a JSON list as is."""
    items = value if isinstance(value, list) else force_str("" if value is None else value).split(separator)
    return [text for text in (force_str(item).strip() for item in items) if text]


class NaturalKeysWidget(widgets.ManyToManyWidget):
    """Many relations as natural keys in one cell, separated by ``separator`` (a comma).

    Unknown keys are refused by name, where the library's widget would silently drop them. The
    library links many-to-many rows only after saving, so :class:`NaturalKeyResource` checks
    these cells beforehand, to report a bad key on its column like every other bad cell.
    """

    def clean(self, value, row=None, **kwargs):
        keys = list(dict.fromkeys(_split_cell(value, self.separator)))
        if not keys:
            return []
        found = {
            force_str(getattr(o, self.field)): o
            for o in self.model.objects.filter(**{f"{self.field}__in": keys})
        }
        missing = [k for k in keys if k not in found]
        if missing:
            names = ", ".join(repr(k) for k in missing)
            raise ValueError(f"no {self.model._meta.verbose_name} with {self.field} {names}.")
        return [found[k] for k in keys]

    def render(self, value, obj=None, **kwargs):
        # Sorted, so an export is stable whatever order the rows were linked in; .all() keeps a
        # prefetch in use.
        if value is None:
            return ""
        return self.separator.join(sorted(force_str(getattr(o, self.field)) for o in value.all()))


class CommaListWidget(widgets.Widget):
    """A list of short texts (a ``JSONField`` list) in one cell, separated by commas.

    A JSON list is read as well, so a JSON export re-imports whichever way it was written.
    """

    def clean(self, value, row=None, **kwargs):
        return _split_cell(value, ",")

    def render(self, value, obj=None, **kwargs):
        return ", ".join(force_str(item) for item in value or [])


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
    """Base resource: validated, transactional, formula-safe, decimals never rounded.

    Rows are saved and deleted by the services of the model's app (``writes_for``), inside the
    import's one transaction, so an import applies the same rules and side effects as the admin
    and the API; a rule a row breaks is reported on that row like any other bad cell.
    """

    # Every number column reads strictly, whatever its size: the library's own integer widget
    # reads "1.9" as 1 and "٣" as 3.
    WIDGETS_MAP = {
        **resources.ModelResource.WIDGETS_MAP,
        **dict.fromkeys(INTEGER_FIELDS, StrictIntegerWidget),
        "DecimalField": StrictDecimalWidget,
    }

    # Import id fields matched whatever their letter case (a repository's ``full_name``, as on
    # GitHub); a relation's key is when its ``NaturalKeyWidget`` says so.
    case_insensitive_ids: tuple[str, ...] = ()

    class Meta:
        clean_model_instances = True
        use_transactions = True
        skip_unchanged = False
        report_skipped = True

    def import_data(self, dataset, dry_run=False, raise_errors=False, use_transactions=None, **kwargs):
        # All or nothing: validation errors roll back too, not only exceptions.
        kwargs["rollback_on_validation_errors"] = True
        return super().import_data(
            dataset, dry_run=dry_run, raise_errors=raise_errors, use_transactions=True, **kwargs
        )

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        self._repeated_rows = self.repeated_rows(dataset)

    def import_row(self, row, instance_loader, **kwargs):
        """Refuse, without a look at the database, a row holding NUL or repeating another's key.

        PostgreSQL answers a NUL character in a query with a database error, so such a row is
        never looked up; a row whose import id repeats an earlier row's would silently overwrite
        it (the last one winning), so it is refused, naming both.
        """
        errors = self.nul_errors(row)
        repeated = getattr(self, "_repeated_rows", {}).get(kwargs.get("row_number"))
        if repeated is not None:
            field, message = repeated
            errors.setdefault(field, []).append(ValidationError(message, code="repeated_key"))
        if not errors:
            return super().import_row(row, instance_loader, **kwargs)
        row_result = self.get_row_result_class()()
        row_result.import_type = RowResult.IMPORT_TYPE_INVALID
        row_result.validation_error = ValidationError(errors)
        return row_result

    def nul_errors(self, row) -> dict[str, list[ValidationError]]:
        """The imported cells of ``row`` that hold a NUL character, by field."""
        errors: dict[str, list[ValidationError]] = {}
        for field in self.get_import_fields():
            if field.readonly or field.column_name not in row:
                continue
            if contains_nul(row[field.column_name]):
                name = field.attribute or field.column_name
                errors[name] = [ValidationError(f"{name} {NUL_MESSAGE}", code="nul")]
        return errors

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
        for number, values in enumerate(dataset, 1):
            cells = [values[position] for position in positions]
            key = self._import_key(id_fields, cells)
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

    def get_instance(self, instance_loader, row):
        # A row whose import id holds a bad value ("1.9" as an ``id``, a date that is none) is
        # taken as new, so the bad value is reported on its column by ``import_instance``
        # rather than as a crash of the lookup.
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:
            return None

    def before_import_row(self, row, **kwargs):
        for key, value in list(row.items()):
            if isinstance(value, str):
                row[key] = restore_formula(value)
        super().before_import_row(row, **kwargs)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        """The row's field checks, then its service rules, then the database's constraints.

        The order of :func:`~opsite.core.services.full_clean_with` (the services' own), so a row
        reads the same message as the admin and the API. With ``clean_model_instances`` off (a
        resource whose service validates the whole file at once), only the cells' errors count.
        """
        errors = dict(import_validation_errors or {})
        if self._meta.clean_model_instances:
            try:
                full_clean_with(
                    instance,
                    self.row_rules(instance),
                    exclude=errors.keys(),
                    validate_unique=validate_unique,
                )
            except ValidationError as error:
                errors = error.update_error_dict(errors)
        else:
            errors = self._check_cells(instance, errors)
        if errors:
            raise ValidationError(errors)

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

    def row_data(self, instance) -> dict:
        """The model columns this resource imports, as the row set them on ``instance``."""
        opts = instance._meta
        data = {}
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
            if model_field.many_to_one and getattr(instance, model_field.attname) is None:
                data[name] = None  # unset: reading the relation would raise, not answer None
            else:
                data[name] = getattr(instance, name)
        return data

    def do_instance_save(self, instance, is_create):
        writes = writes_for(type(instance))
        if is_create:
            adopt(instance, writes.create_from(self.row_data(instance)))
        else:
            try:
                writes.update_from(instance, self.row_data(instance))
            except ObjectDoesNotExist as gone:
                if not getattr(gone, "deleted_meanwhile", False):
                    raise
                # Deleted since the row was matched: refused on the row, like any bad row.
                raise ValidationError(str(gone), code="deleted") from None

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

    * A row whose import id names an unknown relation (or holds a bad value) is a new row (the
      base's ``get_instance``), so the bad value is reported as an error on its column.
    * The cells of :class:`NaturalKeysWidget` columns are checked before the row is saved, so an
      unknown key is reported on its column too.
    """

    def import_instance(self, instance, row, **kwargs):
        errors: dict = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        for field in self.get_import_fields():
            if not isinstance(field.widget, NaturalKeysWidget) or field.readonly:
                continue
            if not field.attribute or field.column_name not in row:
                continue
            try:
                field.clean(row)
            except ValueError as exc:
                errors[field.attribute] = [ValidationError(force_str(exc), code="invalid")]
        if errors:
            raise ValidationError(errors)


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
