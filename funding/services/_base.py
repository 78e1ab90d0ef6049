"""Helpers shared by the funding services: error collection, messages, saving."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.db.models import Sum

from opsite.core.money import ZERO

Errors = dict[str, list[str]]


def fmt_money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


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
    start_on, end_on = getattr(instance, start), getattr(instance, end)
    if start_on and end_on and end_on < start_on:
        add_error(
            errors, end, f"The end date {end_on:%Y-%m-%d} is before the start date {start_on:%Y-%m-%d}."
        )


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


def assign_fields(instance: models.Model, data: Mapping[str, Any], editable: Iterable[str]) -> list[str]:
    """Set the fields of ``data`` on ``instance``; return the names that changed."""
    allowed = set(editable)
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationError(
            {name: f"'{name}' is not a field that can be changed here." for name in unknown}
        )
    changed = []
    for name, value in data.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed.append(name)
    return changed


def save_changes(instance: models.Model, changed: list[str]) -> None:
    if not changed:
        return
    instance.full_clean()
    instance.save(update_fields=[*changed, "updated_at"])


def create_validated(instance: models.Model) -> models.Model:
    instance.full_clean()
    instance.save(force_insert=True)
    return instance


def lock_row(model: type[models.Model], pk: int | None) -> None:
    """Lock a parent row, so two concurrent writes cannot both squeeze under its amount.

    On SQLite this is a no-op: its write transactions are already serialized.
    """
    if pk is not None:
        list(model.objects.select_for_update().filter(pk=pk).values_list("pk", flat=True))
