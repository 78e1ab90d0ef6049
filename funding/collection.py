"""Collection flags: contracts and grants whose collection looks wrong (docs/definitions.md
"Revenue realism", "Collection flags").

Leadership reads this list before trusting the forecast: each flag names a record, what is wrong
with it, and why, in words. Signed contracts and awarded grants (``closed`` ones included, as in the
runway, since their open disbursements still count as committed) are checked for ``stale``,
``overdue``, ``ended_uncollected``, ``ending_soon_uncollected`` and ``schedule_incomplete``; the
pipeline (proposed contracts, prospect and submitted grants) only for ``past_close``.

The figures are summed in the database (correlated subqueries, one query for the contracts and one
for the grants, plus one for the cash position's date when no date is given), so the cost does not
grow with the records. Amounts are in each record's own currency, as the records hold them:
a flag is about one record, and converting would make a missing exchange rate hide it.

A row counts as collected once it is marked paid or received, whatever the date written on it: the
flags list what still needs chasing, and a payment received after the cash position's date needs
none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db import models
from django.db.models import Count, DecimalField, Min, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from contracts.choices import ContractStatus
from contracts.models import ContractPayment, ServiceContract
from contracts.selectors import with_payment_totals
from opsite.core.money import ZERO, quantize

from .choices import AWARDED_STATUSES, PIPELINE_GRANT_STATUSES, GrantStatus
from .models import Disbursement
from .selectors import cash_position_latest, grant_list

# "More than 6 months before A": started strictly before A minus 6 calendar months (relativedelta
# clamps to the month's end: 6 months before 2024-08-31 is 2024-02-29).
STALE_AFTER = relativedelta(months=6)
# "Due more than 30 days before A": due strictly before A minus 30 days.
OVERDUE_AFTER = timedelta(days=30)
# "Ends within 3 months after A": from A itself (not ended before A) to A plus 3 calendar months.
ENDING_WITHIN = relativedelta(months=3)

_MONEY = DecimalField(max_digits=14, decimal_places=2)


class RecordKind(models.TextChoices):
    CONTRACT = "contract", "Contract"
    GRANT = "grant", "Grant"


class FlagCode(models.TextChoices):
    """The flags, in the order docs/definitions.md lists them (and this module sorts them)."""

    STALE = "stale", "Nothing collected"
    OVERDUE = "overdue", "Overdue"
    ENDED_UNCOLLECTED = "ended_uncollected", "Ended, not collected"
    ENDING_SOON_UNCOLLECTED = "ending_soon_uncollected", "Ending soon, mostly not collected"
    SCHEDULE_INCOMPLETE = "schedule_incomplete", "Schedule incomplete"
    PAST_CLOSE = "past_close", "Past its start, still in the pipeline"


_FLAG_ORDER = {code: index for index, code in enumerate(FlagCode.values)}


@dataclass(frozen=True)
class CollectionFlag:
    """One flag on one record, ready to show: a record raising several flags gives one of each.

    ``amount`` is the contract's value or the grant's amount and ``outstanding`` that minus what is
    marked paid or received (never below 0), both in ``currency``, the record's own. ``due_on`` is
    the oldest open row's date for ``overdue``, None for the other flags.
    """

    kind: str
    key: str
    counterparty: str
    status: str
    flag: str
    amount: Decimal
    outstanding: Decimal
    currency: str
    start_on: date
    end_on: date
    due_on: date | None
    as_of: date
    reason: str

    @property
    def label(self) -> str:
        return FlagCode(self.flag).label


@dataclass(frozen=True)
class CollectionRecord:
    """What the flags read of one contract or grant: its terms and the sums of its rows."""

    kind: str
    key: str
    counterparty: str
    status: str
    pipeline: bool
    amount: Decimal
    scheduled: Decimal
    collected: Decimal
    currency: str
    start_on: date
    end_on: date
    overdue_count: int = 0
    overdue_total: Decimal = ZERO
    oldest_overdue: date | None = None

    @property
    def outstanding(self) -> Decimal:
        return max(self.amount - self.collected, ZERO)


def collection_as_of(as_of: date | None = None) -> date | None:
    """``as_of``, or the latest cash position's date (one query); None when there is none."""
    if as_of is not None:
        return as_of
    latest = cash_position_latest()
    return latest.as_of if latest is not None else None


def collection_flags(as_of: date | None = None) -> list[CollectionFlag]:
    """Every collection flag as of ``as_of`` (default: the latest cash position's date).

    Sorted by flag (in the definitions' order), then contracts before grants, then by reference.
    Empty when no date is given and there is no cash position to take one from. Two queries, three
    without ``as_of``.
    """
    as_of = collection_as_of(as_of)
    if as_of is None:
        return []
    records = [*contract_records(as_of), *grant_records(as_of)]
    flags = [flag for record in records for flag in flags_of(record, as_of)]
    return sorted(flags, key=lambda flag: (_FLAG_ORDER[flag.flag], flag.kind, flag.key))


# --- reading the records: one query each ----------------------------------------------------------


def _open_overdue(model: type[models.Model], parent: str, due: str, settled: str, as_of: date) -> dict:
    """``overdue_count``, ``overdue_total`` and ``oldest_overdue`` of the outer record's open rows
    due more than 30 days before ``as_of``, as correlated subqueries (0, 0.00 and None if none)."""
    rows = (
        model.objects.filter(
            **{parent: OuterRef("pk"), f"{settled}__isnull": True, f"{due}__lt": as_of - OVERDUE_AFTER}
        )
        .order_by()
        .values(parent)
    )
    return {
        "overdue_count": Coalesce(
            Subquery(rows.annotate(n=Count("pk")).values("n")[:1], output_field=models.IntegerField()),
            Value(0),
        ),
        "overdue_total": Coalesce(
            Subquery(rows.annotate(total=Sum("amount")).values("total")[:1], output_field=_MONEY),
            Value(ZERO),
            output_field=_MONEY,
        ),
        "oldest_overdue": Subquery(
            rows.annotate(oldest=Min(due)).values("oldest")[:1], output_field=models.DateField()
        ),
    }


def contract_records(as_of: date) -> list[CollectionRecord]:
    """Signed and proposed contracts with their payment sums: one query."""
    contracts = with_payment_totals(
        ServiceContract.objects.select_related("community").filter(
            status__in=(ContractStatus.SIGNED, ContractStatus.PROPOSED)
        )
    ).annotate(**_open_overdue(ContractPayment, "contract", "due_on", "paid_on", as_of))
    return [
        CollectionRecord(
            kind=RecordKind.CONTRACT,
            key=contract.reference,
            counterparty=contract.community.name,
            status=contract.status,
            pipeline=contract.status == ContractStatus.PROPOSED,
            amount=contract.total_value,
            # Sums come back as floats on SQLite: to the cent before any comparison.
            scheduled=quantize(contract.payments_total),
            collected=quantize(contract.paid_total),
            currency=contract.currency,
            start_on=contract.start_on,
            end_on=contract.end_on,
            overdue_count=contract.overdue_count,
            overdue_total=quantize(contract.overdue_total),
            oldest_overdue=contract.oldest_overdue,
        )
        for contract in contracts.order_by("reference")
    ]


def grant_records(as_of: date) -> list[CollectionRecord]:
    """Awarded (and closed) grants and the grant pipeline with their disbursement sums: one query."""
    grants = (
        grant_list()
        .filter(status__in=(*AWARDED_STATUSES, *PIPELINE_GRANT_STATUSES))
        .annotate(**_open_overdue(Disbursement, "grant", "expected_on", "received_on", as_of))
    )
    return [
        CollectionRecord(
            kind=RecordKind.GRANT,
            key=grant.reference,
            counterparty=grant.funder.name,
            status=grant.status,
            pipeline=grant.status in PIPELINE_GRANT_STATUSES,
            amount=grant.amount,
            scheduled=quantize(grant.scheduled),
            collected=quantize(grant.received),
            currency=grant.currency,
            start_on=grant.start_on,
            end_on=grant.end_on,
            overdue_count=grant.overdue_count,
            overdue_total=quantize(grant.overdue_total),
            oldest_overdue=grant.oldest_overdue,
        )
        for grant in grants.order_by("reference")
    ]


# --- the flags of one record: no query -----------------------------------------------------------


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


# How a pipeline record's status reads in "Still ..., but it was to start on ...".
_STILL = {
    ContractStatus.PROPOSED: "proposed",
    GrantStatus.PROSPECT: "a prospect",
    GrantStatus.SUBMITTED: "submitted",
}


def flags_of(record: CollectionRecord, as_of: date) -> list[CollectionFlag]:
    """The flags ``record`` raises as of ``as_of``, each with its reason in words."""
    found: list[tuple[str, str, date | None]] = []
    rows, settled = (
        ("payment", "paid") if record.kind == RecordKind.CONTRACT else ("disbursement", "received")
    )
    amount, outstanding, currency = record.amount, record.outstanding, record.currency
    day = as_of.isoformat()

    if record.pipeline:
        if record.start_on < as_of:
            found.append(
                (
                    FlagCode.PAST_CLOSE,
                    f"Still {_STILL[record.status]}, but it was to start on {record.start_on.isoformat()}, "
                    f"before {day}",
                    None,
                )
            )
    else:
        # An amount of 0 has nothing to collect: it is never stale.
        if record.start_on < as_of - STALE_AFTER and record.collected == ZERO and amount > ZERO:
            found.append(
                (
                    FlagCode.STALE,
                    f"Started {record.start_on.isoformat()}, more than 6 months before {day}, "
                    f"and nothing has been marked {settled}",
                    None,
                )
            )
        if record.overdue_count:
            oldest = record.oldest_overdue
            count = record.overdue_count
            what = f"1 {rows} of" if count == 1 else f"{count} {rows}s totalling"
            found.append(
                (
                    FlagCode.OVERDUE,
                    f"{what} {_money(record.overdue_total, currency)} not yet {settled}, the oldest due "
                    f"{oldest.isoformat()}, more than 30 days before {day}",
                    oldest,
                )
            )
        if record.end_on < as_of and outstanding > ZERO:
            found.append(
                (
                    FlagCode.ENDED_UNCOLLECTED,
                    f"Ended {record.end_on.isoformat()}, before {day}, with {_money(outstanding, currency)} "
                    f"of {_money(amount, currency)} not yet {settled}",
                    None,
                )
            )
        if as_of <= record.end_on <= as_of + ENDING_WITHIN and outstanding * 2 > amount:
            found.append(
                (
                    FlagCode.ENDING_SOON_UNCOLLECTED,
                    f"Ends {record.end_on.isoformat()}, within 3 months after {day}, with "
                    f"{_money(outstanding, currency)} of {_money(amount, currency)}, more than half, "
                    f"not yet {settled}",
                    None,
                )
            )
        if record.scheduled < amount:
            found.append(
                (
                    FlagCode.SCHEDULE_INCOMPLETE,
                    f"Its {rows}s sum to {_money(record.scheduled, currency)}, "
                    f"{_money(amount - record.scheduled, currency)} short of its {_money(amount, currency)}",
                    None,
                )
            )

    return [
        CollectionFlag(
            kind=str(record.kind),
            key=record.key,
            counterparty=record.counterparty,
            status=str(record.status),
            flag=str(code),
            amount=amount,
            outstanding=outstanding,
            currency=currency,
            start_on=record.start_on,
            end_on=record.end_on,
            due_on=due_on,
            as_of=as_of,
            reason=reason,
        )
        for code, reason, due_on in found
    ]
