"""The runway's revenue from the database: the fiscal sponsor's fee (a setting) and the expected
usage fees of usage-priced contracts (docs/definitions.md "Revenue realism").

Part of the loader (`funding.runway.loader` calls it); kept apart so each module stays readable.
The usage fees cost one query for the contracts, and, when some are usage-priced, the queries of
``contracts.usage_fees.monthly_usage_fees`` over twelve month ends: constant in the number of
contracts either way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from contracts.choices import ContractCategory, ContractStatus
from contracts.models import ServiceContract
from contracts.usage_fees import monthly_usage_fees
from opsite.core.money import quantize

from .inputs import ZERO, UsageFeeInflow, check_fiscal_sponsor_fee

if TYPE_CHECKING:
    from .loader import _Rates, _Skipped

HISTORY_MONTHS = 12  # the expected usage fee is the mean of the last twelve complete months
COUNTED_CONTRACT_STATUSES = (ContractStatus.SIGNED, ContractStatus.PROPOSED)


def fiscal_sponsor_fee() -> Decimal:
    """The setting ``OPSITE_FISCAL_SPONSOR_FEE`` as a Decimal fraction (default 0).

    The settings refuse a bad value at start-up; this refuses one set any other way (a test's
    override, a settings module of one's own) before it reaches a figure.
    """
    value = getattr(settings, "OPSITE_FISCAL_SPONSOR_FEE", 0)
    try:
        if isinstance(value, bool):
            raise TypeError
        fee = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
        if not fee.is_finite():
            raise ValueError
        return check_fiscal_sponsor_fee(fee)
    except (InvalidOperation, TypeError, ValueError) as error:
        raise ImproperlyConfigured(
            f"OPSITE_FISCAL_SPONSOR_FEE must be a fraction from 0 up to (not including) 1, such as 0.15 "
            f"for 15%; got {value!r}."
        ) from error


def last_complete_month_ends(as_of: date, months: int = HISTORY_MONTHS) -> tuple[date, date]:
    """The first day of the earliest and the last day of the latest of the ``months`` complete
    calendar months up to ``as_of`` (a month is complete when its last day is on or before it)."""
    latest = as_of if (as_of + timedelta(days=1)).day == 1 else as_of.replace(day=1) - timedelta(days=1)
    return (latest - relativedelta(months=months - 1)).replace(day=1), latest


def mean_fee(fees: Sequence[Decimal]) -> Decimal:
    """The mean of a contract's monthly usage fees, to the cent; 0 without any."""
    return quantize(sum(fees, ZERO) / len(fees)) if fees else ZERO


def usage_fee_inflows(
    as_of: date, first_day: date, rates: _Rates, skipped: _Skipped
) -> Iterable[UsageFeeInflow]:
    """Each counted usage-priced contract's expected monthly usage fee for its months after ``A``.

    The expected fee is the mean of the fees of the contract's last twelve complete months (those
    it was active on the last day of, up to ``A``), in its schedule's currency (a contract is priced
    only on a schedule in its own currency), converted like a contract payment: at the rate of
    each month end it falls on, the term cut where the rate changes (as a monthly expense is).
    """
    rows = [
        row
        for row in ServiceContract.objects.filter(
            usage_fee_schedule__isnull=False, status__in=COUNTED_CONTRACT_STATUSES, end_on__gt=as_of
        )
        .order_by("reference", "pk")
        .values_list(
            "pk", "status", "probability", "category", "community_id", "currency", "start_on", "end_on"
        )
        if skipped.keep("contracts.ServiceContract", row[6], row[7])
    ]
    if not rows:
        return
    since, through = last_complete_month_ends(as_of)
    fees: dict[int, list[Decimal]] = defaultdict(list)
    for month in monthly_usage_fees(through=through, since=since, contract_ids=[row[0] for row in rows]):
        fees[month.contract_id].append(month.fee)
    for pk, status, probability, category, community_id, currency, start_on, end_on in rows:
        monthly = mean_fee(fees[pk])
        if not monthly:
            continue  # no history (or none billable): nothing to expect
        for piece_start, piece_end, amount in rates.pieces(
            monthly, currency, start_on, end_on, max(start_on, first_day)
        ):
            yield UsageFeeInflow(
                amount=amount,
                start_on=piece_start,
                end_on=piece_end,
                pipeline_probability=None if status == ContractStatus.SIGNED else Decimal(probability),
                fee_exempt=category == ContractCategory.CLOUD,
                customer=str(community_id),
                item=f"contract:{pk}",
            )
