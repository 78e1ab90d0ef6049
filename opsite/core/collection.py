"""The rules of the collection flags (docs/definitions.md "Revenue realism", "Collection flags"),
for any record that is owed money in scheduled rows: a contract and its payments, a grant and its
disbursements.

The kernel holds the rules and the date they are taken at, not the records: each app reads its own
records into :class:`CollectionRecord` (``contracts.collection``, ``funding.collection``) and asks
:func:`flags_of` for their flags, so that contracts can show its flags without reading funding,
which sits above it. The date, ``A``, is the latest cash position's; funding owns the cash position
and registers where the date comes from with :func:`set_as_of_source` when it starts.

Nothing here queries the database except :func:`open_overdue`, which builds the correlated
subqueries an app annotates its records with, and :func:`collection_as_of`, through the source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db import models
from django.db.models import Count, DecimalField, Min, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from .money import ZERO

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
    """What the flags read of one contract or grant: its terms and the sums of its rows.

    The words are the record's own, for the reasons: ``row`` names one of its rows ("payment"),
    ``settled`` what a collected row is marked ("paid"), and ``still`` how its status reads while
    it is in the pipeline ("proposed", "a prospect").
    """

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
    row: str
    settled: str
    still: str = ""
    overdue_count: int = 0
    overdue_total: Decimal = ZERO
    oldest_overdue: date | None = None

    @property
    def outstanding(self) -> Decimal:
        return max(self.amount - self.collected, ZERO)


# --- the date -------------------------------------------------------------------------------------

_as_of_source: Callable[[], date | None] | None = None


def set_as_of_source(source: Callable[[], date | None]) -> None:
    """Where ``A`` comes from when no date is given: the app owning the cash position calls this
    once, when it starts."""
    global _as_of_source
    _as_of_source = source


def collection_as_of(as_of: date | None = None) -> date | None:
    """``as_of``, or the latest cash position's date from the registered source (one query); None
    when there is no cash position, or no source."""
    if as_of is not None:
        return as_of
    return _as_of_source() if _as_of_source is not None else None


# --- reading rows: correlated subqueries ----------------------------------------------------------


def open_overdue(model: type[models.Model], parent: str, due: str, settled: str, as_of: date) -> dict:
    """``overdue_count``, ``overdue_total`` and ``oldest_overdue`` of the outer record's open rows
    due more than 30 days before ``as_of``, as correlated subqueries (0, 0.00 and None if none).

    ``model`` holds the rows, ``parent`` is their foreign key to the record, ``due`` their date
    and ``settled`` the date marking them collected (open while it is null).
    """
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


# --- the flags of records: no query --------------------------------------------------------------


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def flags_of(record: CollectionRecord, as_of: date) -> list[CollectionFlag]:
    """The flags ``record`` raises as of ``as_of``, each with its reason in words."""
    found: list[tuple[str, str, date | None]] = []
    rows, settled = record.row, record.settled
    amount, outstanding, currency = record.amount, record.outstanding, record.currency
    day = as_of.isoformat()

    if record.pipeline:
        if record.start_on < as_of:
            found.append(
                (
                    FlagCode.PAST_CLOSE,
                    f"Still {record.still}, but it was to start on {record.start_on.isoformat()}, "
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


def flags_of_records(records: Iterable[CollectionRecord], as_of: date) -> list[CollectionFlag]:
    """The flags of every record, sorted by flag (in the definitions' order), then contracts before
    grants, then by reference."""
    flags = [flag for record in records for flag in flags_of(record, as_of)]
    return sorted(flags, key=lambda flag: (_FLAG_ORDER[flag.flag], flag.kind, flag.key))


def flag_codes_by_key(records: Iterable[CollectionRecord], as_of: date) -> dict[str, list[str]]:
    """Each flagged record's flag codes by key (records raising none left out)."""
    codes: dict[str, list[str]] = {}
    for record in records:
        found = [flag.flag for flag in flags_of(record, as_of)]
        if found:
            codes[record.key] = found
    return codes
