"""The bases of every serializer: numbers read strictly, NUL refused, batch rows checked.

DRF's own fields are lax where a ledger cannot be: ``IntegerField`` reads ``"1.0"`` and ``"٣"``
(``int()`` accepts any script's digits), ``DecimalField`` reads ``"1e3"`` and ``"٣"``. Every app
serializer subclasses :class:`OpsiteModelSerializer` (or :class:`OpsiteSerializer`), whose model
fields map to :class:`StrictIntegerField` and :class:`StrictDecimalField`: they accept exactly
what the import widgets accept (:mod:`opsite.core.parsing`), with the same messages, so a value
reads the same whichever door it comes in by. A JSON number is taken as is for a decimal (through
its shortest ``repr``), and only when it is an integer for a whole number: ``2.0`` is refused.

Both bases refuse a NUL character in any writable field (nested in a list or an object too)
before the field parses it: PostgreSQL answers NUL in a query or a ``jsonb`` value with a database
error, a 500 otherwise, and a slug looked up with one would be such a query.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import models
from rest_framework import serializers
from rest_framework.settings import api_settings

from ..parsing import NUL_MESSAGE, contains_nul, parse_decimal, parse_integer


class StrictIntegerField(serializers.IntegerField):
    """A whole number: a JSON integer, or ASCII digits with an optional leading ``-``."""

    def to_internal_value(self, data: Any) -> int:
        try:
            return parse_integer(data, floats=False)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from None


class StrictBigIntegerField(serializers.BigIntegerField):
    """:class:`StrictIntegerField` for a ``bigint`` column (rendered as DRF renders those)."""

    to_internal_value = StrictIntegerField.to_internal_value


class StrictDecimalField(serializers.DecimalField):
    """A decimal: a JSON number, or digits with at most one point; no separators, no exponent.

    Precision is checked as DRF does (more places than the column holds is refused, never
    rounded); only the reading of the text is stricter.
    """

    def to_internal_value(self, data: Any):
        try:
            value = parse_decimal(data, floats=True)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from None
        return self.quantize(self.validate_precision(value))


def _values(data: Mapping, name: str) -> list:
    """Every value ``data`` holds for ``name`` (a form's ``QueryDict`` may hold several)."""
    getlist = getattr(data, "getlist", None)
    return list(getlist(name)) if getlist is not None else [data[name]]


class StrictInputMixin:
    """Refuse a NUL character in any writable field, with the other fields' errors alongside."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)
        refused = [
            field.field_name
            for field in self._writable_fields
            if field.field_name in data and any(contains_nul(v) for v in _values(data, field.field_name))
        ]
        if not refused:
            return super().to_internal_value(data)
        # The other fields are still read, so one answer names every bad field; the refused ones
        # are left out first, so that none of them reaches a query.
        rest = data.copy() if hasattr(data, "copy") else dict(data)
        for name in refused:
            rest.pop(name, None)
        errors: dict[str, Any] = {}
        try:
            super().to_internal_value(rest)
        except serializers.ValidationError as exc:
            detail = exc.detail
            errors = (
                dict(detail) if isinstance(detail, Mapping) else {api_settings.NON_FIELD_ERRORS_KEY: detail}
            )
        for name in refused:
            errors[name] = [f"{name} {NUL_MESSAGE}"]
        raise serializers.ValidationError(errors)


class OpsiteSerializer(StrictInputMixin, serializers.Serializer):
    """The base of every plain serializer (a request's parameters, a batch row, an answer)."""


class OpsiteModelSerializer(StrictInputMixin, serializers.ModelSerializer):
    """The base of every model serializer: strict numbers, no NUL."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.AutoField: StrictIntegerField,
        models.SmallAutoField: StrictIntegerField,
        models.BigAutoField: StrictBigIntegerField,
        models.IntegerField: StrictIntegerField,
        models.SmallIntegerField: StrictIntegerField,
        models.PositiveIntegerField: StrictIntegerField,
        models.PositiveSmallIntegerField: StrictIntegerField,
        models.PositiveBigIntegerField: StrictBigIntegerField,
        models.BigIntegerField: StrictBigIntegerField,
        models.DecimalField: StrictDecimalField,
    }


# --- batch rows -------------------------------------------------------------------------------


def _expected(names: Sequence[str]) -> str:
    return ", ".join(names)


def check_batch_rows(rows: Sequence[Any], row_serializer: type[serializers.Serializer]) -> None:
    """Refuse what a batch endpoint's service would take too generously, before it runs.

    ``row_serializer`` declares a row's fields. A row holding a field it does not declare, a NUL
    character, or a number its strict field refuses ("1.9" or ``1.9`` as a whole number, "٣",
    "1e3") is named, by its index in the list (from 0), in a ``ValidationError`` keyed by field,
    in the shape the batch services answer (``{field: ["row 3: reason", ...]}``). Everything
    else (required fields, dates, relations, ranges, repeated rows) is the service's to check,
    with its own messages; a row that is not an object too.

    Costs nothing per row but a few dictionary lookups: a batch holds up to 10,000 rows.
    """
    fields = {name: field for name, field in row_serializer().fields.items() if not field.read_only}
    names = list(fields)
    numbers = {
        name: field
        for name, field in fields.items()
        if isinstance(field, StrictIntegerField | StrictBigIntegerField | StrictDecimalField)
    }
    errors: dict[str, list[str]] = defaultdict(list)
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            continue
        for name, value in row.items():
            if name not in fields:
                errors[str(name)].append(f"row {index}: unknown field {name!r}; expected {_expected(names)}.")
            elif contains_nul(value):
                errors[name].append(f"row {index}: {name} {NUL_MESSAGE}")
            elif name in numbers and value not in (None, ""):
                try:
                    numbers[name].to_internal_value(value)
                except serializers.ValidationError as exc:
                    errors[name].extend(f"row {index}: {message}" for message in exc.detail)
    if errors:
        raise serializers.ValidationError(dict(errors))
