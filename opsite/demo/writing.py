"""Writing the demo's rows: only the missing ones, in bulk, without a query per row.

Idempotent: a row is inserted only when its natural key is missing, and existing rows, including
ones an operator has edited since, are left alone.

Fast: the rows go in through ``bulk_create`` (``save()`` bypassed; the loader sets the derived
columns itself), and the big tables (usage samples, pull requests and cloud costs, thousands of
rows that nothing else points at) through :func:`insert_plain`, one parameterized ``INSERT`` run with
``executemany`` (``COPY`` on PostgreSQL): building a model instance and compiling a statement per row would cost more than
the rest of the demo together.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import connections, models, router
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

BATCH = 1000
CHANGE_REASON = "Loaded by load_demo"


class Writer:
    """Inserts the rows whose natural key is missing; ``created`` counts them by model label."""

    def __init__(self) -> None:
        self.created: Counter[str] = Counter()

    def ensure(
        self, model: type[models.Model], objs: Iterable, key: tuple[str, ...], *, history: bool = False
    ):
        """Insert the objects whose natural ``key`` is not in the table yet; return those inserted."""
        new = self._missing(model, objs, key, lambda obj, name: getattr(obj, name))
        if new and history:
            bulk_create_with_history(new, model, batch_size=BATCH, default_change_reason=CHANGE_REASON)
        elif new:
            model._default_manager.bulk_create(new, batch_size=BATCH)
        self.created[model._meta.label] += len(new)
        return new

    def ensure_plain(
        self, model: type[models.Model], rows: Iterable[Mapping[str, Any]], key: tuple[str, ...]
    ) -> int:
        """Like :meth:`ensure` for rows given as ``{attname: value}``, written by :func:`insert_plain`."""
        new = self._missing(model, rows, key, lambda row, name: row[name])
        insert_plain(model, new)
        self.created[model._meta.label] += len(new)
        return len(new)

    @staticmethod
    def _missing(model, items, key, read) -> list:
        present = set(model._default_manager.values_list(*key))
        new, seen = [], set()
        for item in items:
            natural_key = tuple(read(item, name) for name in key)
            if natural_key not in present and natural_key not in seen:
                seen.add(natural_key)
                new.append(item)
        return new

    @staticmethod
    def by(model: type[models.Model], field: str) -> dict:
        return {getattr(obj, field): obj for obj in model._default_manager.all()}


def insert_plain(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (``{attname: value}``) of a model without history, signals or ids back.

    Every concrete column but the automatic primary key is written: the value given, else now for
    an ``auto_now``/``auto_now_add`` column, else the field's default. Values must already be of
    the field's Python type; dates and instants are adapted for the database as the ORM adapts
    them (the same date, met thousands of times, once), the timestamps once for all rows.
    """
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    fields = [field for field in model._meta.concrete_fields if not isinstance(field, models.AutoField)]
    now = timezone.now()
    constants: dict[str, Any] = {}
    for field in fields:
        if field.attname not in rows[0] and (
            getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        ):
            constants[field.attname] = field.get_db_prep_save(now, connection)
        elif field.attname not in rows[0]:
            constants[field.attname] = field.get_db_prep_save(field.get_default(), connection)
    given = [field for field in fields if field.attname not in constants]
    columns = [*given, *(field for field in fields if field.attname in constants)]
    tail = tuple(constants[field.attname] for field in columns[len(given) :])
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(field.column) for field in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    adapters = [(field.attname, _adapter(field, connection)) for field in given]
    values = [
        (*(value if adapt is None or value is None else adapt(value) for name, adapt in adapters
           for value in (row[name],)), *tail)
        for row in rows
    ]  # fmt: skip
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY: the rows streamed in one statement, about ten times faster than an INSERT a row.
            names = ", ".join(quote(field.column) for field in columns)
            with cursor.cursor.copy(f"COPY {quote(model._meta.db_table)} ({names}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
            return
        for start in range(0, len(values), BATCH):
            cursor.executemany(sql, values[start : start + BATCH])


def _adapter(field: models.Field, connection):
    """How a value of ``field`` goes to the database: None when as it is (numbers, text, booleans)."""
    kind = field.get_internal_type()
    if kind == "DateTimeField":
        return connection.ops.adapt_datetimefield_value
    if kind == "DateField":
        return functools.cache(connection.ops.adapt_datefield_value)
    if kind == "DecimalField":
        # The values are Decimals already: straight to the backend's adapter (the field's own path
        # converts each one twice more; the demo's cloud costs are a quarter of a million of them).
        adapt, digits, places = (
            connection.ops.adapt_decimalfield_value,
            field.max_digits,
            field.decimal_places,
        )
        return lambda value: adapt(value, digits, places)
    if kind in ("JSONField", "UUIDField"):
        return lambda value: field.get_db_prep_save(value, connection)
    return None
