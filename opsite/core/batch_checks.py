"""The checks of ``full_clean()`` for a batch of rows, with a few queries per batch, not per row.

A row written alone is checked by :func:`opsite.core.services.full_clean_with`: its fields, its
``clean()``, its service rules, then its uniqueness and its database constraints. Done row by
row, the last two cost a query per unique field and per constraint, and each relation another
(``ForeignKey.validate`` asks the database whether the row it names exists). For an import of
10,000 rows that is tens of thousands of queries.

:func:`full_clean_many` gives every row the same checks, in the same order and with the same
messages, at a cost that does not grow with the number of rows:

* a relation whose row was read from the database (its instance is cached on the row, as an
  import's per-file lookup sets it) is known to exist: it is not asked again;
* each unique field (and ``UniqueConstraint`` on fields) is checked for the whole batch with one
  query, and against the batch itself, as the rows will stand once written;
* a ``CheckConstraint`` is evaluated in Python, with SQL's rule that an unknown (NULL) comparison
  passes; one this module cannot read (a function, an expression) is checked by the database,
  as ``full_clean()`` would.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db import connection, models
from django.db.models import F, Q
from django.db.models.constraints import CheckConstraint, UniqueConstraint

# The rules across rows of one row, as a service's ``validate``.
Rules = Callable[[models.Model], None] | None

# Values per query: well under every backend's limit on query parameters (SQLite's is lowest).
LOOKUP_CHUNK = 500


class Unsupported(Exception):
    """A condition :func:`evaluate` cannot read in Python: the database checks it instead."""


# --- conditions in Python ----------------------------------------------------------------------

_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "exact": operator.eq,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def _value_of(instance: models.Model, name: str) -> Any:
    field = instance._meta.get_field(name)
    return getattr(instance, field.attname)


def _lookup(instance: models.Model, key: str, expected: Any) -> bool | None:
    """One ``field__lookup=value`` of a condition on ``instance``: True, False or unknown (None)."""
    name, _, lookup = key.partition("__")
    lookup = lookup or "exact"
    if "__" in lookup:
        raise Unsupported(key)  # a transform or a relation's field: the database reads it
    try:
        value = _value_of(instance, name)
    except FieldDoesNotExist:
        raise Unsupported(key) from None
    if lookup == "isnull":
        return (value is None) is bool(expected)
    if isinstance(expected, F):
        expected = _value_of(instance, expected.name)
    elif hasattr(expected, "resolve_expression"):
        raise Unsupported(key)
    if lookup == "in":
        if value is None:
            return None
        return value in expected
    if value is None or expected is None:
        return None  # NULL compared with anything is unknown
    if lookup in _COMPARISONS:
        return _COMPARISONS[lookup](value, expected)
    if lookup == "iexact":
        return str(value).casefold() == str(expected).casefold()
    if lookup == "contains":
        return str(expected) in str(value)
    if lookup == "startswith":
        return str(value).startswith(str(expected))
    raise Unsupported(key)


def evaluate(condition: Q, instance: models.Model) -> bool | None:
    """``condition`` on ``instance`` in SQL's three-valued logic: True, False or unknown (None).

    Raises :class:`Unsupported` for what it cannot read (expressions, transforms, relations).
    """
    results = []
    for child in condition.children:
        if isinstance(child, Q):
            results.append(evaluate(child, instance))
        elif isinstance(child, tuple) and len(child) == 2:
            results.append(_lookup(instance, child[0], child[1]))
        else:
            raise Unsupported(repr(child))
    if condition.connector == Q.AND:
        outcome: bool | None = False if False in results else (None if None in results else True)
    elif condition.connector == Q.OR:
        outcome = True if True in results else (None if None in results else False)
    else:
        raise Unsupported(condition.connector)
    if condition.negated and outcome is not None:
        outcome = not outcome
    return outcome


def _references(condition: Q) -> set[str]:
    """The model fields ``condition`` reads."""
    found: set[str] = set()
    for child in condition.children:
        if isinstance(child, Q):
            found |= _references(child)
        elif isinstance(child, tuple) and len(child) == 2:
            found.add(child[0].split("__", 1)[0])
            if isinstance(child[1], F):
                found.add(child[1].name.split("__", 1)[0])
    return found


# --- uniqueness for a whole batch ----------------------------------------------------------------


class _UniqueCheck:
    """One set of fields unique together, checked for every row of the batch at once."""

    def __init__(self, model_class: type[models.Model], names: Sequence[str], error: Callable):
        self.model_class = model_class
        self.names = tuple(names)
        self.error = error  # (instance) -> ValidationError

    def key_of(self, instance: models.Model, refused: set[str]) -> tuple | None:
        values = []
        for name in self.names:
            if name in refused:
                return None
            field = instance._meta.get_field(name)
            if field.primary_key and not instance._state.adding:
                return None  # a stored row keeps its key (Django's own check skips it too)
            value = getattr(instance, field.attname)
            if value is None or (value == "" and connection.features.interprets_empty_strings_as_nulls):
                return None
            values.append(value)
        return tuple(values)

    def clashes(self, instances: Sequence[models.Model], refused: Sequence[set[str]]) -> set[int]:
        """The positions in ``instances`` whose values another row holds, as the batch will stand.

        A stored row not in the batch keeps its values; a row of the batch takes its new ones; of
        two rows of the batch with the same values, the later is refused.
        """
        keys = {
            i: key for i, inst in enumerate(instances) if (key := self.key_of(inst, refused[i])) is not None
        }
        if not keys:
            return set()
        in_batch = {inst.pk for inst in instances if inst.pk is not None and not inst._state.adding}
        holders: dict[tuple, list[Any]] = defaultdict(list)
        for stored_key, pk in self._stored(set(keys.values())):
            if pk not in in_batch:
                holders[stored_key].append(pk)
        clashing = set()
        for position in sorted(keys):
            key = keys[position]
            if holders[key]:
                clashing.add(position)
            holders[key].append(position)
        return clashing

    def _stored(self, keys: set[tuple]) -> Iterable[tuple[tuple, Any]]:
        manager = self.model_class._default_manager.order_by()
        attnames = [self.model_class._meta.get_field(name).attname for name in self.names]
        ordered = list(keys)
        for start in range(0, len(ordered), LOOKUP_CHUNK):
            chunk = ordered[start : start + LOOKUP_CHUNK]
            # One ``__in`` per field finds a superset of the rows; the exact tuples are matched here.
            filters = {f"{name}__in": {key[i] for key in chunk} for i, name in enumerate(self.names)}
            wanted = set(chunk)
            for *values, pk in manager.filter(**filters).values_list(*attnames, "pk"):
                if tuple(values) in wanted:
                    yield tuple(values), pk


class _DateChecks:
    """``unique_for_date`` and friends, checked row by row as ``validate_unique`` does."""

    def __init__(self, date_checks: list):
        self.date_checks = date_checks

    def validate(self, model, instance, exclude=None):
        checks = [check for check in self.date_checks if check[2] not in (exclude or ())]
        found = instance._perform_date_checks(checks)
        if found:
            raise ValidationError(found)


def _unique_checks(model: type[models.Model], instance: models.Model) -> tuple[list[_UniqueCheck], list]:
    """The model's unique fields and unique-together sets, then its meta constraints that are not
    plain unique fields (checked one row at a time, by the database)."""
    others: list = []
    checks: list[_UniqueCheck] = []
    unique_checks, date_checks = instance._get_unique_checks()
    if date_checks:
        others.append((model, _DateChecks(date_checks)))
    for model_class, names in unique_checks:
        key = names[0] if len(names) == 1 else NON_FIELD_ERRORS

        def error(inst, model_class=model_class, names=names, key=key):
            return ValidationError({key: [inst.unique_error_message(model_class, names)]})

        checks.append(_UniqueCheck(model_class, names, error))
    for model_class, constraints in instance.get_constraints():
        for constraint in constraints:
            plain = (
                isinstance(constraint, UniqueConstraint)
                and constraint.fields
                and not constraint.condition
                and not constraint.expressions
                and constraint.nulls_distinct is not False
            )
            if not plain:
                others.append((model_class, constraint))
                continue

            def error(inst, model_class=model_class, constraint=constraint):
                if constraint.violation_error_message == constraint.default_violation_error_message:
                    message = inst.unique_error_message(model_class, constraint.fields)
                    one = ValidationError(message, code=message.code)
                else:
                    one = ValidationError(
                        constraint.get_violation_error_message(), code=constraint.violation_error_code
                    )
                if one.code == "unique" and len(constraint.fields) == 1:
                    return ValidationError({constraint.fields[0]: [one]})
                return ValidationError(one.update_error_dict({}))

            checks.append(_UniqueCheck(model_class, constraint.fields, error))
    return checks, others


def _check_constraint(model_class, constraint, instance, refused: set[str]) -> dict:
    """A meta constraint other than a plain unique one, as ``validate_constraints`` reports it."""
    try:
        if isinstance(constraint, CheckConstraint):
            condition = constraint.condition
            if _references(condition) & refused:
                return {}
            if evaluate(condition, instance) is not False:
                return {}
            raise ValidationError(
                constraint.get_violation_error_message(), code=constraint.violation_error_code
            )
        constraint.validate(model_class, instance, exclude=refused)
    except Unsupported:
        try:
            constraint.validate(model_class, instance, exclude=refused)
        except ValidationError as error:
            return error.update_error_dict({})
    except ValidationError as error:
        return error.update_error_dict({})
    return {}


# --- the whole check -----------------------------------------------------------------------------


def _known_relations(instance: models.Model, relations: Sequence) -> set[str]:
    """Relations whose row was read from the database: checking it exists would read it again."""
    known = set()
    for field in relations:
        if not field.is_cached(instance):
            continue
        related = field.get_cached_value(instance)
        if (
            related is not None
            and not related._state.adding
            and getattr(instance, field.attname) == getattr(related, field.target_field.attname)
        ):
            known.add(field.name)
    return known


def full_clean_many(
    instances: Sequence[models.Model],
    rules: Rules = None,
    *,
    exclude: Sequence[Iterable[str]] | None = None,
) -> dict[int, ValidationError]:
    """Check each of ``instances`` as :func:`~opsite.core.services.full_clean_with` checks one.

    ``exclude[i]`` are the fields of row ``i`` not to check (they failed to parse). Answers the
    errors by position in ``instances``; an empty dict when every row passes. The rows are all of
    one model.
    """
    if not instances:
        return {}
    model = type(instances[0])
    skipped = (
        [set(exclude[i]) for i in range(len(instances))]
        if exclude is not None
        else [set() for _ in instances]
    )
    relations = [field for field in model._meta.concrete_fields if field.many_to_one]
    errors: list[dict] = [{} for _ in instances]
    for i, instance in enumerate(instances):
        try:
            instance.clean_fields(exclude=skipped[i] | _known_relations(instance, relations))
        except ValidationError as error:
            errors[i] = error.update_error_dict(errors[i])
        try:
            instance.clean()
        except ValidationError as error:
            errors[i] = error.update_error_dict(errors[i])
        if rules is not None and not errors[i]:
            try:
                rules(instance)
            except ValidationError as error:
                errors[i] = error.update_error_dict(errors[i])
    refused = [skipped[i] | set(errors[i]) for i in range(len(instances))]
    unique, others = _unique_checks(model, instances[0])
    for check in unique:
        for position in check.clashes(instances, refused):
            errors[position] = check.error(instances[position]).update_error_dict(errors[position])
    for i, instance in enumerate(instances):
        for model_class, constraint in others:
            found = _check_constraint(model_class, constraint, instance, refused[i])
            for name, messages in found.items():
                errors[i].setdefault(name, []).extend(messages)
    return {i: ValidationError(found) for i, found in enumerate(errors) if found}
