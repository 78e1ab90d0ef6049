"""Helpers shared by the funding services: messages, sums, checking and saving a row."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Sum

from opsite.core.money import ZERO

from ..checks import Errors, add_error, raise_errors, related_or_none

__all__ = [
    "Errors",
    "add_error",
    "check_cap",
    "create_checked",
    "fmt_money",
    "lock_row",
    "raise_errors",
    "related_or_none",
    "save_checked",
    "total_of",
]

Validate = Callable[[models.Model], None]


def fmt_money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def total_of(queryset: models.QuerySet, field: str = "amount") -> Decimal:
    return queryset.aggregate(total=Sum(field))["total"] or ZERO


def check_cap(
    errors: Errors,
    *,
    what: str,
    parent: str,
    siblings: models.QuerySet | None,
    amount: Decimal | None,
    cap: Decimal | None,
    currency: str,
) -> None:
    """Refuse ``amount`` when it and its ``siblings`` (this row excluded) pass ``cap``."""
    if amount is None or cap is None:
        return
    total = (total_of(siblings) if siblings is not None else ZERO) + amount
    if total > cap:
        add_error(
            errors,
            "amount",
            f"The {what} of {parent} would sum to {fmt_money(total, currency)}, past its amount "
            f"{fmt_money(cap, currency)} by {fmt_money(total - cap, currency)}.",
        )


def _check(instance: models.Model, validate: Validate | None) -> None:
    """``full_clean()`` (fields, the row's own ``clean()``, constraints) and the rules across rows.

    Every message at once, as a form shows them: the rules across rows run even when a field
    is refused, as ``Model.clean()`` runs after ``clean_fields()`` fails.
    """
    errors: dict = {}
    try:
        instance.full_clean()
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    if validate is not None:
        try:
            validate(instance)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


def create_checked(instance: models.Model, validate: Validate | None = None) -> models.Model:
    """Insert a new row built in memory, once it passes its checks and ``validate``."""
    _check(instance, validate)
    instance.save(force_insert=True)
    return instance


def save_checked(instance: models.Model, validate: Validate | None = None) -> models.Model:
    """Save a row updated in memory, once it passes its checks and ``validate``.

    Every column is written, not only those the service's ``data`` changed: the admin and the
    importer hand over an instance their form or file has already updated.
    """
    _check(instance, validate)
    instance.save()
    return instance


def lock_row(model: type[models.Model], pk: int | None) -> None:
    """Lock a parent row, so two concurrent writes cannot both squeeze under its amount.

    On SQLite this is a no-op: its write transactions are already serialized.
    """
    if pk is not None:
        list(model.objects.select_for_update().filter(pk=pk).values_list("pk", flat=True))
