"""Form fields that read numbers as strictly as every other door (see :mod:`opsite.core.parsing`).

Django's own ``IntegerField`` and ``DecimalField`` read "٣" as 3 and "1e3" as 1000 (Python's
``int()`` and ``Decimal()`` take any Unicode digit and exponents); an import or the API refuses
them. The kernel admin uses these fields for every integer and decimal column, so an admin form
refuses what the other doors refuse, with the same message.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from opsite.core.parsing import parse_decimal, parse_integer


class StrictIntegerField(forms.IntegerField):
    def to_python(self, value) -> int | None:
        if value in self.empty_values:
            return None
        try:
            return parse_integer(value if isinstance(value, int) else str(value))
        except ValueError as error:
            raise ValidationError(str(error), code="invalid") from None


class StrictDecimalField(forms.DecimalField):
    def to_python(self, value) -> Decimal | None:
        if value in self.empty_values:
            return None
        try:
            return parse_decimal(value if isinstance(value, int | Decimal) else str(value), floats=False)
        except ValueError as error:
            raise ValidationError(str(error), code="invalid") from None


class StrictNumbersMixin:
    """For a ModelAdmin or an inline: its integer and decimal columns read by the strict fields.

    Columns with choices and relations keep their own fields; a ``formfield_overrides`` of the
    admin still applies to everything else.
    """

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if not db_field.choices and not db_field.is_relation:
            if isinstance(db_field, models.DecimalField):
                kwargs.setdefault("form_class", StrictDecimalField)
            elif isinstance(db_field, models.IntegerField):
                kwargs.setdefault("form_class", StrictIntegerField)
        return super().formfield_for_dbfield(db_field, request, **kwargs)
