"""Cash positions (sensitive), expenses and exchange rates.

Their rules read only the row's own fields, so they are the models' ``clean()``: a cash position
in the reporting currency, an expense's dates in order, a positive rate for another currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction

from opsite.core.money import reporting_currency
from opsite.core.services import assign

from ..choices import Recurrence
from ..models import CashPosition, ExchangeRate, Expense, Grant
from ._base import Errors, add_error, create_checked, raise_errors, related_or_none, save_checked

# --- cash positions (sensitive) -----------------------------------------------------------------

CASH_POSITION_FIELDS = ("as_of", "balance", "currency", "note")


@transaction.atomic
def cash_position_create(
    *, as_of: date, balance: Decimal, currency: str | None = None, note: str = ""
) -> CashPosition:
    return create_checked(
        CashPosition(as_of=as_of, balance=balance, currency=currency or reporting_currency(), note=note)
    )


@transaction.atomic
def cash_position_update(*, cash_position: CashPosition, data: Mapping[str, Any]) -> CashPosition:
    assign(cash_position, data, CASH_POSITION_FIELDS)
    return save_checked(cash_position)


# --- expenses -----------------------------------------------------------------------------------

EXPENSE_FIELDS = ("name", "category", "amount", "currency", "recurrence", "start_on", "end_on", "grant")


def expense_validate(expense: Expense) -> None:
    """An expense charged to a grant lies within the grant's dates: all it costs is spent on it."""
    errors: Errors = {}
    grant: Grant | None = related_or_none(expense, "grant")
    start_on = expense.start_on
    if grant is None or not isinstance(start_on, date):
        return
    within = f"an expense charged to grant {grant.reference} lies within its dates, {grant.start_on:%Y-%m-%d} to {grant.end_on:%Y-%m-%d}."
    if start_on < grant.start_on:
        add_error(errors, "start_on", f"It starts on {start_on:%Y-%m-%d}, before the grant starts: {within}")
    once = expense.recurrence == Recurrence.ONCE
    last = start_on if once else expense.end_on
    if last is None:
        add_error(errors, "end_on", f"It has no end: {within}")
    elif isinstance(last, date) and last > grant.end_on:
        add_error(
            errors,
            "start_on" if once else "end_on",
            f"It {'falls' if once else 'ends'} on {last:%Y-%m-%d}, after the grant ends: {within}",
        )
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
    grant: Grant | None = None,
) -> Expense:
    return create_checked(
        Expense(
            name=name,
            category=category,
            amount=amount,
            currency=currency or reporting_currency(),
            recurrence=recurrence,
            start_on=start_on,
            end_on=end_on,
            grant=grant,
        ),
        expense_validate,
    )


@transaction.atomic
def expense_update(*, expense: Expense, data: Mapping[str, Any]) -> Expense:
    assign(expense, data, EXPENSE_FIELDS)
    return save_checked(expense, expense_validate)


# --- exchange rates -----------------------------------------------------------------------------

EXCHANGE_RATE_FIELDS = ("currency", "effective_on", "rate")


@transaction.atomic
def exchange_rate_create(*, currency: str, effective_on: date, rate: Decimal) -> ExchangeRate:
    return create_checked(ExchangeRate(currency=currency, effective_on=effective_on, rate=rate))


@transaction.atomic
def exchange_rate_update(*, exchange_rate: ExchangeRate, data: Mapping[str, Any]) -> ExchangeRate:
    assign(exchange_rate, data, EXCHANGE_RATE_FIELDS)
    return save_checked(exchange_rate)
