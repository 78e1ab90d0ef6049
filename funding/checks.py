"""Error collection and the checks that read only a row's own fields.

Shared by the models' ``clean()`` (the field-local checks: dates in order, a percentage within
0 to 100, ...) and by the services (the rules across rows, in ``funding.services``), so both
report their messages the same way. Nothing here reads the database: a model may import it
(docs/architecture.md "One write path").
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models

Errors = dict[str, list[str]]


def add_error(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def raise_errors(errors: Errors) -> None:
    if errors:
        raise ValidationError(errors)


def related_or_none(instance: models.Model, name: str) -> Any:
    """The related object, or None when it is not set yet (a form left it blank)."""
    try:
        return getattr(instance, name)
    except ObjectDoesNotExist:
        return None


def check_dates(instance: models.Model, errors: Errors, start: str = "start_on", end: str = "end_on") -> None:
    """The end date is not before the start date (said in words, rather than as a constraint's name)."""
    start_on, end_on = getattr(instance, start), getattr(instance, end)
    if start_on and end_on and end_on < start_on:
        add_error(
            errors, end, f"The end date {end_on:%Y-%m-%d} is before the start date {start_on:%Y-%m-%d}."
        )
