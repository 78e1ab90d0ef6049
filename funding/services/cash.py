"""Cash positions (sensitive), expenses and exchange rates."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from opsite.core.money import reporting_currency

from ..choices import Recurrence
from ..models import CashPosition, ExchangeRate, Expense
from ._base import Errors, add_error, assign_fields, check_dates, create_validated, raise_errors, save_changes

# --- cash positions (sensitive) -----------------------------------------------------------------

CASH_POSITION_FIELDS = ("as_of", "balance", "currency", "note")


def cash_position_validate(cash_position: CashPosition) -> None:
    """The runway starts from this balance as is, so it must be in the reporting currency."""
    reporting = reporting_currency()
    if cash_position.currency and cash_position.currency != reporting:
        raise ValidationError(
            {
                "currency": f"Cash positions are kept in the reporting currency {reporting}; "
                f"got {cash_position.currency}."
            }
        )


@transaction.atomic
def cash_position_create(
    *, as_of: date, balance: Decimal, currency: str | None = None, note: str = ""
) -> CashPosition:
    return create_validated(
        CashPosition(as_of=as_of, balance=balance, currency=currency or reporting_currency(), note=note)
    )


@transaction.atomic
def cash_position_update(*, cash_position: CashPosition, data: Mapping[str, Any]) -> CashPosition:
    save_changes(cash_position, assign_fields(cash_position, data, CASH_POSITION_FIELDS))
    return cash_position


# --- expenses -----------------------------------------------------------------------------------

EXPENSE_FIELDS = ("name", "category", "amount", "currency", "recurrence", "start_on", "end_on")


def expense_validate(expense: Expense) -> None:
    """An expense's dates in order (said in words, rather than as the constraint's name)."""
    errors: Errors = {}
    check_dates(expense, errors)
    raise_errors(errors)


@transaction.atomic
def expense_create(
    *,
    name: str,
    category: str,
    amount: Decimal,
    start_on: date,
    recurrence: str = Recurrence.MONTHLY,
    end_on: date | None = None,
    currency: str | None = None,
) -> Expense:
    expense = Expense(
        name=name,
        category=category,
        amount=amount,
        currency=currency or reporting_currency(),
        recurrence=recurrence,
        start_on=start_on,
        end_on=end_on,
    )
    expense_validate(expense)
    return create_validated(expense)


@transaction.atomic
def expense_update(*, expense: Expense, data: Mapping[str, Any]) -> Expense:
    changed = assign_fields(expense, data, EXPENSE_FIELDS)
    expense_validate(expense)
    save_changes(expense, changed)
    return expense


# --- exchange rates -----------------------------------------------------------------------------

EXCHANGE_RATE_FIELDS = ("currency", "effective_on", "rate")


def exchange_rate_validate(exchange_rate: ExchangeRate) -> None:
    """A positive rate, for a currency other than the one it converts into."""
    errors: Errors = {}
    reporting = reporting_currency()
    if exchange_rate.currency == reporting:
        add_error(errors, "currency", f"{reporting} is the reporting currency: its rate is always 1.")
    if exchange_rate.rate is not None and exchange_rate.rate <= 0:
        add_error(errors, "rate", f"A rate must be above 0; got {exchange_rate.rate}.")
    raise_errors(errors)


@transaction.atomic
def exchange_rate_create(*, currency: str, effective_on: date, rate: Decimal) -> ExchangeRate:
    exchange_rate = ExchangeRate(currency=currency, effective_on=effective_on, rate=rate)
    exchange_rate_validate(exchange_rate)
    return create_validated(exchange_rate)


@transaction.atomic
def exchange_rate_update(*, exchange_rate: ExchangeRate, data: Mapping[str, Any]) -> ExchangeRate:
    changed = assign_fields(exchange_rate, data, EXCHANGE_RATE_FIELDS)
    exchange_rate_validate(exchange_rate)
    save_changes(exchange_rate, changed)
    return exchange_rate
