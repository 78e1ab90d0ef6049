"""The base of every django-import-export resource in opsite.

Three promises hold for every import and export, whatever the path (admin, API, command):

* all or nothing: one bad row and the whole import is rolled back;
* every bad row is reported by its number, field and reason;
* exported text cells that a spreadsheet would run as a formula get a leading ``'``.

The widgets below are the ones every app shares: relations written as natural keys (one, or many
in one cell), strict yes/no and whole numbers, lists in one cell. Each refuses what it does not
understand with a ``ValueError`` naming the value, which the library reports as an error on that
row's column; none of them guesses.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.utils.encoding import force_str
from import_export import resources, widgets
from import_export.formats import base_formats

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


class StrictIntegerWidget(widgets.IntegerWidget):
    """A whole number that names the bad value instead of failing with ``InvalidOperation``."""

    def clean(self, value, row=None, **kwargs):
        if self.is_empty(value):
            return None
        if isinstance(value, float) and value.is_integer():  # XLSX numbers arrive as floats
            return int(value)
        text = force_str(value).strip()
        if not text.lstrip("-").isdigit():
            raise ValueError(f"{value!r} is not a whole number.")
        return int(text)


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
        if errors:
            raise ValidationError(errors)

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
            data[name] = getattr(instance, name)
        return data

    def do_instance_save(self, instance, is_create):
        writes = writes_for(type(instance))
        if is_create:
            adopt(instance, writes.create_from(self.row_data(instance)))
        else:
            writes.update_from(instance, self.row_data(instance))

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

    * A row whose import id names an unknown relation (or holds a bad value) is a new row, so
      the bad value is reported as an error on its column by ``import_instance``, not as a crash
      of the instance lookup.
    * The cells of :class:`NaturalKeysWidget` columns are checked before the row is saved, so an
      unknown key is reported on its column too.
    """

    def get_instance(self, instance_loader, row):
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:
            return None

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
