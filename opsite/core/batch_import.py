"""How a file's rows are imported: a few hundred at a time, with a few queries per batch.

django-import-export reads and writes one row at a time: a query to find the row, one per
relation, one per unique field and constraint, a savepoint and a save. At 10,000 rows that is
minutes. :class:`BatchImportMixin` keeps the library's promises (a :class:`Result` with one
``RowResult`` per row, invalid rows with their errors by field, the hooks ``before_import`` and
``after_import``) and reads a batch of rows at once:

1. the rows the batch names are read in one query (by their import id: a natural key, possibly
   with a relation in it), and so are the rows its relations name, once per file;
2. each row's cells are read by the column widgets (a bad cell is an error on its column);
3. a stored row the file leaves as it was is **skipped**: not written, no history, reported as
   skipped;
4. the others are checked as the services check them (:meth:`ModelWrites.check_many`), and
   written through the services: a resource with ``batch_writes`` hands the batch to
   ``create_many``/``update_many``, the others hand each row to ``create``/``update``.

Everything runs inside the import's one transaction (all or nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.encoding import force_str
from import_export import widgets
from import_export.fields import NOT_PROVIDED
from import_export.results import Error, RowResult

from .import_report import cells_of
from .import_widgets import restore_formula
from .parsing import NUL_MESSAGE, contains_nul
from .services import RowsRefused, adopt, writes_for

# Rows read, checked and written together.
BATCH_ROWS = 500
# Rows of a preview shown with their changes (the others are counted).
PREVIEW_ROWS = 100

Progress = Callable[[int, int], None]


@dataclass(eq=False)
class Pending:
    """A row read and waiting to be checked and written with its batch."""

    number: int
    row: dict
    instance: object
    new: bool
    result: RowResult
    m2m: dict = field(default_factory=dict)
    # The row's cells as stored, kept for the preview's first changed rows.
    before: list | None = None
    # The attributes the file changes in a stored row.
    changed: set = field(default_factory=set)


def _holds_nul(row: dict) -> bool:
    """Whether any cell of ``row`` holds a NUL character (checked for the whole row first: most
    rows hold none, and naming the columns that do costs more)."""
    return any(contains_nul(value) for value in row.values())


def _same(stored, given) -> bool:
    if stored in (None, "") and given in (None, ""):
        return True
    return stored == given


def _save(resource_field, instance, row) -> None:
    """``resource_field.save(instance, row)`` for a plain attribute, without its per-call overhead
    (10,000 rows of a few columns each): the cell cleaned by the widget, the default for an empty
    one, set unless it is ``None`` and the field keeps ``None`` out."""
    if resource_field.readonly:
        return
    value = resource_field.widget.clean(row[resource_field.column_name], row=row)
    if value in resource_field.empty_values and resource_field.default is not NOT_PROVIDED:
        value = resource_field.default() if callable(resource_field.default) else resource_field.default
    if value is not None or resource_field.saves_null_values:
        setattr(instance, resource_field.attribute, value)


class BatchInstanceLoader:
    """The library's instance loader for one batch: the stored rows read for it, by row."""

    def __init__(self, resource, batch: list[tuple[int, dict]], found: dict[int, object]):
        self.resource = resource
        self._by_row = {id(row): found.get(number) for number, row in batch}

    def get_instance(self, row):
        return self._by_row.get(id(row))


class BatchImportMixin:
    """The import loop of :class:`opsite.core.resources.OpsiteResource` (see the module)."""

    #: Whether the model's batch services write this resource's rows (a model whose ``create`` and
    #: ``update`` are its checks and a save, with no derived field or side effect).
    batch_writes = False

    def import_data_inner(
        self, dataset, dry_run, raise_errors, using_transactions, collect_failed_rows, **kwargs
    ):
        from django.db import transaction

        result = self.get_result_class()()
        result.diff_headers = self.get_diff_headers()
        result.total_rows = len(dataset)
        progress: Progress | None = kwargs.pop("progress", None)
        try:
            with transaction.atomic():
                self.before_import(dataset, **kwargs)
            self._check_import_id_fields(dataset.headers)
        except Exception as error:
            self.handle_import_error(result, error, raise_errors)
            return result
        self._import_user = kwargs.get("user")
        self._dry_run = dry_run
        self._shown_changes = 0
        headers = list(dataset.headers or ())
        rows = list(dataset)
        result.total_rows = len(rows)
        for start in range(0, len(rows), BATCH_ROWS):
            batch = [
                (number, dict(zip(headers, values, strict=False)))
                for number, values in enumerate(rows[start : start + BATCH_ROWS], start + 1)
            ]
            try:
                for row_result, number, row in self.import_batch(batch, **kwargs):
                    self._record(result, row_result, number, row)
            except Exception as error:  # a write failed for the whole batch: the import is refused
                self.handle_import_error(result, error, raise_errors)
                return result
            if progress is not None:
                progress(min(start + BATCH_ROWS, len(rows)), len(rows))
        try:
            with transaction.atomic():
                self.after_import(dataset, result, **kwargs)
        except Exception as error:
            self.handle_import_error(result, error, raise_errors)
        return result

    def _record(self, result, row_result: RowResult, number: int, row: dict) -> None:
        result.increment_row_result_total(row_result)
        if row_result.errors:
            result.append_error_row(number, row, row_result.errors)
        elif row_result.validation_error is not None:
            result.append_invalid_row(number, row, row_result.validation_error)
        result.append_row_result(row_result)

    # --- one batch ---------------------------------------------------------------------------------

    def import_batch(self, batch: list[tuple[int, dict]], **kwargs):
        """Import ``batch`` (row number, row); yield ``(RowResult, number, row)`` in file order."""
        for _, row in batch:
            self.before_import_row(row, **kwargs)
        self.prime_relations([row for _, row in batch])
        loader = BatchInstanceLoader(self, batch, self.existing_rows(batch))
        outcomes: list[RowResult] = []
        pending: list[Pending] = []
        refused: list[tuple[Pending, dict]] = []
        for number, row in batch:
            row_result = self.get_row_result_class()()
            outcomes.append(row_result)
            try:
                early = self.early_errors(number, row)
                if early:
                    row_result.import_type = RowResult.IMPORT_TYPE_INVALID
                    row_result.validation_error = ValidationError(early)
                    continue
                instance = self.get_instance(loader, row)
                new = instance is None
                if new:
                    instance = self.init_instance(row)
                item = Pending(number, row, instance, new, row_result)
                row_result.import_type = RowResult.IMPORT_TYPE_NEW if new else RowResult.IMPORT_TYPE_UPDATE
                before = None if new else self.snapshot(instance)
                if self._shown_changes < PREVIEW_ROWS:
                    item.before = [] if new else self.exported(instance)
                errors = self.read_cells(item)
                if errors:
                    refused.append((item, errors))
                elif not new and self.unchanged(item, before):
                    row_result.import_type = RowResult.IMPORT_TYPE_SKIP
                    item.before = None  # an unchanged row is counted, not shown
                    self._finish(item)
                else:
                    pending.append(item)
            except Exception as error:  # an unexpected failure of one row: reported on the row
                row_result.import_type = RowResult.IMPORT_TYPE_ERROR
                row_result.errors.append(Error(error, row=row, number=number))
        self._refuse_bad_cells(refused)
        for item, error in self.save_batch(pending).items():
            self._invalid(item, error)
        for item in pending:
            if item.result.import_type in (RowResult.IMPORT_TYPE_NEW, RowResult.IMPORT_TYPE_UPDATE):
                self._finish(item)
        yield from ((result, number, row) for result, (number, row) in zip(outcomes, batch, strict=True))

    def _refuse_bad_cells(self, refused: list[tuple[Pending, dict]]) -> None:
        """Rows with a cell that could not be read: their other fields are checked too, unwritten."""
        if not refused:
            return
        found = self.check_batch([item.instance for item, _ in refused], [set(e) for _, e in refused])
        for position, (item, errors) in enumerate(refused):
            if position in found:
                errors = found[position].update_error_dict(errors)
            self._invalid(item, ValidationError(errors))

    def _invalid(self, item: Pending, error: ValidationError) -> None:
        item.result.import_type = RowResult.IMPORT_TYPE_INVALID
        item.result.validation_error = error

    def _finish(self, item: Pending) -> None:
        # The admin's log entries name the instance themselves (str() of 10,000 rows costs):
        # the row keeps the instance and its id.
        item.result.object_id = item.instance.pk
        item.result.instance = item.instance
        if item.before is not None and self._shown_changes < PREVIEW_ROWS:
            # A preview shows the first rows the file adds or changes, and what changes in them.
            self._shown_changes += 1
            item.result.cells = cells_of(item.before, self.exported(item.instance, item.m2m), new=item.new)

    def exported(self, instance, m2m: dict | None = None) -> list:
        """The import columns of ``instance`` as a file writes them (its relations' new keys from
        ``m2m``, which are linked only once the row is saved)."""
        values = []
        for resource_field in self.get_import_fields():
            if m2m and resource_field in m2m:
                widget = resource_field.widget
                values.append(
                    widget.separator.join(
                        sorted(force_str(getattr(o, widget.field)) for o in m2m[resource_field])
                    )
                )
            else:
                values.append(resource_field.export(instance))
        return values

    # --- reading -----------------------------------------------------------------------------------

    def prime_relations(self, rows: Sequence[dict]) -> None:
        """Read the rows the batch's relation cells name, one query per relation."""
        for resource_field in self.get_import_fields():
            prime = getattr(resource_field.widget, "prime", None)
            if prime is not None:
                column = resource_field.column_name
                prime([row[column] for row in rows if column in row and not contains_nul(row[column])])

    def existing_rows(self, batch: list[tuple[int, dict]]) -> dict[int, object]:
        """The stored rows the batch's rows name by import id, by row number (one query)."""
        id_fields = [self.fields[name] for name in self.get_import_id_fields() if name in self.fields]
        if not id_fields or not batch or any(f.column_name not in batch[0][1] for f in id_fields):
            return {}
        known = getattr(self, "_row_keys", {})
        keys = {}
        for number, row in batch:
            if number in known:
                key = known[number]
            elif any(contains_nul(row[f.column_name]) for f in id_fields):
                continue
            else:
                key = self._import_key(id_fields, [row[f.column_name] for f in id_fields])
            if key is not None:
                keys[number] = key
        if not keys:
            return {}
        queryset = self.get_queryset().order_by()
        relations = [f.attribute for f in id_fields if isinstance(f.widget, widgets.ForeignKeyWidget)]
        if relations:
            queryset = queryset.select_related(*relations)
        for position, id_field in enumerate(id_fields):
            lookup, values = self._key_lookup(id_field, {key[position] for key in keys.values()})
            if self._folded(id_field):
                queryset = queryset.annotate(**{f"_key_{position}": Lower(lookup)})
                lookup = f"_key_{position}"
            queryset = queryset.filter(Q(**{f"{lookup}__in": values}))
        stored = {self._stored_key(id_fields, instance): instance for instance in queryset}
        return {number: stored[key] for number, key in keys.items() if key in stored}

    def _folded(self, id_field) -> bool:
        if isinstance(id_field.widget, widgets.ForeignKeyWidget):
            return bool(getattr(id_field.widget, "case_insensitive", False))
        return id_field.attribute in self.case_insensitive_ids

    def _key_lookup(self, id_field, values: set) -> tuple[str, list]:
        if isinstance(id_field.widget, widgets.ForeignKeyWidget):
            return f"{id_field.attribute}__{id_field.widget.field}", sorted(values)
        return id_field.attribute, list(values)

    def _stored_key(self, id_fields, instance) -> tuple:
        key = []
        for id_field in id_fields:
            value = id_field.get_value(instance)
            if isinstance(id_field.widget, widgets.ForeignKeyWidget):
                value = "" if value is None else force_str(getattr(value, id_field.widget.field))
            folded = self._folded(id_field)
            key.append(value.casefold() if folded and isinstance(value, str) else value)
        return tuple(key)

    def early_errors(self, number: int, row: dict) -> dict[str, list[ValidationError]]:
        """What refuses a row before any look at the database: a NUL character, a repeated key.

        PostgreSQL answers a NUL character in a query with a database error, so such a row is
        never looked up; a row whose import id repeats an earlier row's would silently overwrite
        it (the last one winning), so it is refused, naming both.
        """
        errors = self.nul_errors(row) if _holds_nul(row) else {}
        repeated = getattr(self, "_repeated_rows", {}).get(number)
        if repeated is not None:
            name, message = repeated
            errors.setdefault(name, []).append(ValidationError(message, code="repeated_key"))
        return errors

    def nul_errors(self, row) -> dict[str, list[ValidationError]]:
        """The imported cells of ``row`` that hold a NUL character, by field."""
        errors: dict[str, list[ValidationError]] = {}
        for resource_field in self.get_import_fields():
            column = resource_field.column_name
            if column in row and contains_nul(row[column]):
                name = resource_field.attribute or column
                errors[name] = [ValidationError(f"{name} {NUL_MESSAGE}", code="nul")]
        return errors

    def _read_columns(self) -> list[tuple[object, bool]]:
        """(resource field, many-to-many?) of each column a row's cells are read from."""
        cached = self.__dict__.get("_read_columns_cache")
        if cached is None:
            cached = [
                (f, isinstance(f.widget, widgets.ManyToManyWidget))
                for f in self.get_import_fields()
                if f.attribute
            ]
            self.__dict__["_read_columns_cache"] = cached
        return cached

    def before_import_row(self, row, **kwargs):
        for key, value in row.items():
            if isinstance(value, str) and value[:1] == "'":  # only a quoted text can be a quoted formula
                row[key] = restore_formula(value)
        super().before_import_row(row, **kwargs)

    def read_cells(self, item: Pending) -> dict:
        """Set the row's cells on its instance; the errors of the cells that could not be read."""
        errors: dict = {}
        row = item.row
        for resource_field, many in self._read_columns():
            if resource_field.column_name not in row:
                continue
            try:
                if many:
                    item.m2m[resource_field] = resource_field.clean(row)
                elif "__" in resource_field.attribute:
                    resource_field.save(item.instance, row)
                else:
                    _save(resource_field, item.instance, row)
            except ValueError as error:
                errors[resource_field.attribute] = [ValidationError(force_str(error), code="invalid")]
        return errors

    def snapshot(self, instance) -> dict:
        """The imported fields of a stored row, as they are before the file is read into it."""
        values = {}
        for resource_field in self.get_import_fields():
            if not resource_field.attribute:
                continue
            if isinstance(resource_field.widget, widgets.ManyToManyWidget):
                related = resource_field.get_value(instance)
                values[resource_field] = None if related is None else {o.pk for o in related.all()}
            else:
                values[resource_field] = resource_field.get_value(instance)
        return values

    def unchanged(self, item: Pending, before: dict) -> bool:
        """Whether the file leaves the stored row as it was (every column it holds, the same).

        The columns it changes are kept on ``item``: an update writes only those.
        """
        for resource_field, stored in before.items():
            if resource_field.column_name not in item.row:
                continue
            if resource_field in item.m2m:
                if stored != {o.pk for o in item.m2m[resource_field]}:
                    item.changed.add(resource_field.attribute)
            elif not _same(stored, resource_field.get_value(item.instance)):
                item.changed.add(resource_field.attribute)
        return not item.changed

    # --- checking and writing ----------------------------------------------------------------------

    def check_batch(self, instances: list, excludes: list[set[str]]) -> dict[int, ValidationError]:
        """The errors of each row by position, as the services would find them before a write.

        With ``clean_model_instances`` off (a resource whose service checks the rows itself), only
        each cell's own checks (:meth:`_check_cells`).
        """
        if not instances:
            return {}
        if not self._meta.clean_model_instances:
            found = {}
            for position, instance in enumerate(instances):
                errors = self._check_cells(instance, {name: [] for name in excludes[position]})
                errors = {name: messages for name, messages in errors.items() if messages}
                if errors:
                    found[position] = ValidationError(errors)
            return found
        model = type(instances[0])
        return writes_for(model).check_many(instances, exclude=excludes, rules=self.row_rules(instances[0]))

    def save_batch(self, pending: list[Pending]) -> dict[Pending, ValidationError]:
        """Check and write the batch's new and changed rows; the refused ones with their errors.

        With ``batch_writes``, the batch services check and write (all of a kind, or none);
        otherwise each row is checked with the batch, then written by its own service.
        """
        if not pending:
            return {}
        if self.batch_writes:
            return self.write_many(pending, rules=self.row_rules(pending[0].instance))
        found = self.check_batch([item.instance for item in pending], [set() for _ in pending])
        refused = {pending[position]: error for position, error in found.items()}
        if refused:
            return refused
        for item in pending:
            try:
                self.do_instance_save(item.instance, item.new)
                self.save_m2m_of(item)
            except ValidationError as error:
                refused[item] = error
        return refused

    def write_many(
        self, pending: list[Pending], *, rules, checked: bool = False
    ) -> dict[Pending, ValidationError]:
        """Check and write rows through the model's batch services; the refused ones, if any.

        ``rules`` are the rules across rows each row is checked against (``None``: the caller
        checks them for the whole set). A preview (a dry run) checks the rows as the batch services
        would, and writes nothing: what it would write would be rolled back, and every check a
        write makes is made here, per batch, without it (the confirm checks them all again, and
        writes). ``checked`` says the caller has just checked them.
        """
        if getattr(self, "_dry_run", False):
            if checked:
                return {}
            found = self.check_batch([item.instance for item in pending], [set() for _ in pending])
            return {pending[position]: error for position, error in found.items()}
        writes = writes_for(type(pending[0].instance))
        user = getattr(self, "_import_user", None)
        refused: dict[Pending, ValidationError] = {}
        created = [item for item in pending if item.new]
        changed = [item for item in pending if not item.new]
        for instance in (item.instance for item in created):
            if instance._meta.pk.auto_created or instance._meta.pk.get_internal_type().endswith("AutoField"):
                instance.pk = None  # a new row gets a new id, whatever id the file named
        names = set().union(*(item.changed for item in changed)) if changed else set()
        columns = [name for name in self.update_names() if name in names]
        kinds = ((created, writes.create_many, ()), (changed, writes.update_many, (columns,)))
        for items, write, args in kinds:
            if not items:
                continue
            try:
                write([item.instance for item in items], *args, rules=rules, user=user)
            except RowsRefused as error:
                refused.update({items[position]: found for position, found in error.errors.items()})
        return refused

    def update_names(self) -> list[str]:
        """The model columns an update writes: those the resource imports."""
        return list(self.row_data_names())

    def save_m2m_of(self, item: Pending) -> None:
        """Link the row's many-to-many cells, once it is saved (as the library does)."""
        for resource_field in item.m2m:
            resource_field.save(item.instance, item.row, is_m2m=True)

    def do_instance_save(self, instance, is_create):
        writes = writes_for(type(instance))
        if is_create:
            adopt(instance, writes.create_from(self.row_data(instance)))
            return
        try:
            writes.update_from(instance, self.row_data(instance))
        except ObjectDoesNotExist as gone:
            if not getattr(gone, "deleted_meanwhile", False):
                raise
            # Deleted since the row was matched: refused on the row, like any bad row.
            raise ValidationError(str(gone), code="deleted") from None
