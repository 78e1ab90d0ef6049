"""From database rows to the runway engine's inputs, in the reporting currency.

docs/definitions.md "Runway" says which rows count; this module is where that is read from the
tables. It runs a constant number of queries whatever the number of rows (one per table, each a
``values_list`` over the joins it needs, no query per contract, grant or person):

1. the cash position (the latest, or the one asked for): date ``A`` and balance ``B``;
2. every exchange rate (``funding.currency.RateTable``);
3. contract payments of ``signed`` (committed) and ``proposed`` (pipeline) contracts, and the
   signed ones' payments due in the 90 days up to ``A`` (for ``invoice_collection``);
4. disbursements of ``awarded``/``closed`` (committed) and ``prospect``/``submitted`` (pipeline) grants;
5. subaward payments of the same grants (money out, committed or pipeline like their grant);
6. expenses; 7. staff members (employment spans); 8. compensations (pay lines); 9. the
   usage-priced contracts (``funding.runway.revenue``; their monthly usage fees' queries follow,
   as many for 3 contracts as for 300); 10. the scenario's adjustments (one for all scenarios).

Restricted grants add no query until one has a disbursement (query 4 also reads their received
disbursements; 5 and 6 name a row's grant); then ``holdings.restricted_grants`` reads the rest.

Rows already settled on or before ``A`` (paid, received, ended, superseded) are left out in SQL:
they are in ``B``, and converting them could only fail on a rate nobody needs. Two exceptions: a
signed contract's payment due in the 90 days up to ``A``: ``invoice_collection`` reads it, paid or
not, converted at the rate of its due date (so marking it paid never changes what was due); and a
restricted grant's received disbursements, converted at the rate of their ``received_on``: its net
assets are what it received minus what was spent.

Choices made here, once:

- A ``closed`` grant is committed like an ``awarded`` one (``funding.choices.AWARDED_STATUSES``): a
  final disbursement often arrives after close-out. ``declined`` grants and ``declined`` or
  ``terminated`` contracts never count, whatever their open rows say.
- Amounts in another currency convert at the rate in effect on the flow's date: a payment's or
  disbursement's date (paid/received, else due/expected; a delay does not change the rate used),
  a ``once`` expense's ``start_on``, the cash balance's ``A``. Payroll and monthly expenses are paid
  on every day of their span, so they are split where the rate changes: each piece is converted at
  the rate in effect on its first day still to come (after ``A``). A missing rate fails with
  ``MissingExchangeRate``, naming the currency and the date; never a silent 1.0.
- ``Compensation.annual_salary`` is already what is paid at the person's FTE: it is not multiplied
  by ``fte`` again.
- Scenario adjustments carry no currency: they are in the reporting currency.
- A restricted grant with no disbursement (none received, none to come) is left out of the
  unrestricted runway: its pool is always empty, so it changes nothing. Its received money counts
  whatever its status (a ``closed`` grant may still hold some).
- A row with a date outside the plausible range (``opsite.core.dates``; stored before the range
  was checked, or by raw SQL) is left out, never projected: a cash position dated 9999-12-31
  would overflow the first projected day, a payment in year 9999 the delay arithmetic. The cash
  position is filtered in SQL (the latest plausible one is the start); every other row is read as
  usual and skipped here, counted in ``Records.skipped`` and logged by table and count (never a
  value: the runway is sensitive), so the number of queries stays the same.
  :func:`runway_data_quality_issues` says, for the dashboard, which tables hold such rows.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q

from contracts.choices import ContractCategory, ContractStatus
from contracts.models import ContractPayment
from opsite.core.dates import is_plausible, plausible_range
from staff.models import Compensation, StaffMember

from ..choices import AWARDED_STATUSES, PIPELINE_GRANT_STATUSES, Recurrence
from ..currency import RateTable
from ..models import CashPosition, Disbursement, ExchangeRate, Scenario, ScenarioAdjustment, SubawardPayment
from ..models import Expense as ExpenseRow
from .holdings import Holding, restricted_grants
from .inputs import (
    COLLECTION_DAYS,
    ZERO,
    Adjustment,
    Allocation,
    Employment,
    Expense,
    Flow,
    Invoice,
    PayLine,
    RestrictedGrant,
    RunwayInputs,
    ScenarioParams,
    Thresholds,
    UsageFeeInflow,
)
from .quality import implausible_rows, runway_data_quality_issues
from .revenue import COUNTED_CONTRACT_STATUSES, fiscal_sponsor_fee, usage_fee_inflows

logger = logging.getLogger(__name__)

ONE_DAY = timedelta(days=1)
COUNTED_GRANT_STATUSES = (*AWARDED_STATUSES, *PIPELINE_GRANT_STATUSES)


class NoCashPosition(ValidationError):
    """No cash position to start the runway from (none at all, or none on or before a date)."""

    def __init__(self, on_or_before: date | None = None):
        self.on_or_before = on_or_before
        where = f" on or before {on_or_before:%Y-%m-%d}" if on_or_before else ""
        super().__init__(
            f"No cash position is recorded{where}: the runway starts from the bank balance, so add a "
            "cash position (its date and balance from the books) first.",
            code="no_cash_position",
        )


@dataclass(frozen=True, slots=True)
class Records:
    """The recorded rows every scenario shares, converted to the reporting currency.

    Loaded once by :func:`load_records` and combined with each scenario's parameters and adjustments
    by :func:`inputs_for`, so recomputing every scenario reads the tables once.
    """

    cash_position: CashPosition
    as_of: date
    opening_balance: Decimal
    flows: tuple[Flow, ...]
    expenses: tuple[Expense, ...]
    employments: tuple[Employment, ...]
    pay_lines: tuple[PayLine, ...]
    thresholds: Thresholds
    usage_fees: tuple[UsageFeeInflow, ...] = ()
    invoices: tuple[Invoice, ...] = ()
    fiscal_sponsor_fee: Decimal = ZERO
    # Rows left out for a date outside the plausible range, by model label (only those with some).
    skipped: dict[str, int] = field(default_factory=dict)
    restricted: tuple[RestrictedGrant, ...] = ()
    allocations: tuple[Allocation, ...] = ()


class _Skipped:
    """Counts the rows left out for an implausible date, by model label."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = defaultdict(int)

    def keep(self, label: str, *days: date | None) -> bool:
        """Whether a row whose dates are ``days`` (None: not set) can be projected."""
        if all(is_plausible(day) for day in days):
            return True
        self.counts[label] += 1
        return False

    def report(self) -> dict[str, int]:
        counts = dict(sorted(self.counts.items()))
        if counts:
            logger.warning(
                "runway leaves out rows dated outside the plausible range: %s",
                ", ".join(f"{label} {count}" for label, count in counts.items()),
            )
        return counts


class _Rates:
    """The rate table plus, per currency, the dates its rate changes (to split spans on them)."""

    def __init__(self, rows: Iterable[tuple[str, date, Decimal]], skipped: _Skipped | None = None):
        skipped = skipped or _Skipped()
        rows = [row for row in rows if skipped.keep("funding.ExchangeRate", row[1])]
        self.table = RateTable(rows)
        self.changes: dict[str, list[date]] = defaultdict(list)
        for currency, effective_on, _ in rows:
            self.changes[currency].append(effective_on)
        for dates in self.changes.values():
            dates.sort()

    def convert(self, amount: Decimal, currency: str, on: date) -> Decimal:
        if currency == self.table.currency:
            return amount  # most rows: no copy, no lookup
        return self.table.convert(amount, currency, on)

    def pieces(
        self, amount: Decimal, currency: str, start_on: date, end_on: date | None, first_day: date
    ) -> list[tuple[date, date | None, Decimal]]:
        """``start_on..end_on`` cut where the rate changes after ``first_day``, each piece converted.

        The first piece keeps ``start_on`` (the engine ignores its days up to ``A``) and is converted
        at the rate of ``first_day``, the first day of the span still to come.
        """
        if currency == self.table.currency:
            return [(start_on, end_on, amount)]
        cuts = [
            on for on in self.changes.get(currency, ()) if on > first_day and (end_on is None or on <= end_on)
        ]
        starts = [start_on, *cuts]
        rated = [first_day, *cuts]
        ends: list[date | None] = [cut - ONE_DAY for cut in cuts] + [end_on]
        return [
            (start, end, self.convert(amount, currency, on))
            for start, end, on in zip(starts, ends, rated, strict=True)
        ]


def cash_position_for(as_of_cash: CashPosition | date | None = None) -> CashPosition:
    """The cash position a runway starts from: the one given, the latest on or before a date, or
    the latest of all. Raises :class:`NoCashPosition` when there is none."""
    if isinstance(as_of_cash, CashPosition):
        if not is_plausible(as_of_cash.as_of):
            raise NoCashPosition()
        return as_of_cash
    # A position dated outside the plausible range is never the start (see the module docstring).
    positions = CashPosition.objects.filter(as_of__range=plausible_range()).order_by("-as_of")
    if as_of_cash is not None:
        positions = positions.filter(as_of__lte=as_of_cash)
    position = positions.first()
    if position is None:
        raise NoCashPosition(as_of_cash)
    return position


def load_records(*, as_of_cash: CashPosition | date | None = None) -> Records:
    """Every recorded row the runway needs, from the cash position's date on (nine queries, and
    those of the usage fees when some contracts are usage-priced)."""
    fee = fiscal_sponsor_fee()  # a bad setting fails before any query
    position = cash_position_for(as_of_cash)
    as_of = position.as_of
    first_day = as_of + ONE_DAY
    skipped = _Skipped()
    rates = _Rates(
        ExchangeRate.objects.order_by("currency", "effective_on").values_list(
            "currency", "effective_on", "rate"
        ),
        skipped,
    )
    contract_flows, invoices = _contract_payments(as_of, rates, skipped)
    disbursement_flows, held = _disbursements(as_of, rates, skipped)
    flows = (
        *contract_flows,
        *disbursement_flows,
        *_subaward_flows(as_of, rates, skipped),
    )
    expenses = tuple(_expenses(as_of, first_day, rates, skipped))
    employments = tuple(_employments(as_of, skipped))
    pay_lines = tuple(_pay_lines(as_of, first_day, rates, skipped))
    usage_fees = tuple(usage_fee_inflows(as_of, first_day, rates, skipped))
    restricted, allocations = restricted_grants(as_of=as_of, held=held, keep=skipped.keep)
    return Records(
        cash_position=position,
        as_of=as_of,
        opening_balance=rates.convert(position.balance, position.currency, as_of),
        flows=flows,
        expenses=expenses,
        employments=employments,
        pay_lines=pay_lines,
        thresholds=Thresholds.from_dict(getattr(settings, "OPSITE_RUNWAY_THRESHOLDS", None)),
        usage_fees=usage_fees,
        invoices=invoices,
        fiscal_sponsor_fee=fee,
        skipped=skipped.report(),  # after the generators above have run
        restricted=restricted,
        allocations=allocations,
    )


def _still_to_come(settled_field: str, as_of: date) -> Q:
    """Open rows, and rows settled after ``A`` (those on or before it are already in ``B``)."""
    return Q(**{f"{settled_field}__isnull": True}) | Q(**{f"{settled_field}__gt": as_of})


def _probability(status: str, probability: int, committed: Collection[str]) -> Decimal | None:
    return None if status in committed else Decimal(probability)


def _contract_payments(
    as_of: date, rates: _Rates, skipped: _Skipped
) -> tuple[list[Flow], tuple[Invoice, ...]]:
    """The contract payments still to come, as flows; and the signed contracts' payments due in the
    90 days up to ``A``, paid or not, as invoices (one query for both)."""
    first_due = as_of - timedelta(days=COLLECTION_DAYS - 1)
    recently_due = Q(contract__status=ContractStatus.SIGNED, due_on__gte=first_due, due_on__lte=as_of)
    rows = (
        ContractPayment.objects.filter(
            _still_to_come("paid_on", as_of) | recently_due, contract__status__in=COUNTED_CONTRACT_STATUSES
        )
        .order_by("due_on", "pk")
        .values_list(
            "due_on",
            "amount",
            "paid_on",
            "contract__status",
            "contract__probability",
            "contract__currency",
            "contract__category",
            "contract__community_id",
            "contract_id",
        )
    )
    flows: list[Flow] = []
    invoices: list[Invoice] = []
    for due_on, amount, paid_on, status, probability, currency, category, community_id, contract_id in rows:
        if not skipped.keep("contracts.ContractPayment", due_on, paid_on):
            continue
        if status == ContractStatus.SIGNED and first_due <= due_on <= as_of:
            invoices.append(
                Invoice(due_on=due_on, amount=rates.convert(amount, currency, due_on), paid_on=paid_on)
            )
        if paid_on is not None and paid_on <= as_of:
            continue  # read for invoice collection only: the money is in B
        on = paid_on or due_on
        flows.append(
            Flow(
                on=on,
                amount=rates.convert(amount, currency, on),
                direction="in",
                source="contracts",
                settled=paid_on is not None,
                pipeline_probability=_probability(status, probability, (ContractStatus.SIGNED,)),
                fee_exempt=category == ContractCategory.CLOUD,
                customer=str(community_id),
                item=f"contract:{contract_id}",
            )
        )
    return flows, tuple(invoices)


def _disbursements(as_of: date, rates: _Rates, skipped: _Skipped) -> tuple[list[Flow], dict[int, Holding]]:
    """The disbursements still to come, as flows; and the restricted grants with a disbursement
    (received, or to come), with what each received up to ``A``, by grant id (one query for both)."""
    received_restricted = Q(grant__restricted=True, received_on__lte=as_of)
    to_come = _still_to_come("received_on", as_of) & Q(grant__status__in=COUNTED_GRANT_STATUSES)
    rows = (
        Disbursement.objects.filter(to_come | received_restricted)
        .order_by("expected_on", "pk")
        .values_list(
            "expected_on",
            "amount",
            "received_on",
            "grant__status",
            "grant__probability",
            "grant__currency",
            "grant__reference",
            "grant_id",
            "grant__restricted",
        )
    )
    flows: list[Flow] = []
    held: dict[int, Holding] = {}
    for row in rows:
        expected_on, amount, received_on, status, probability, currency, reference, grant_id, restricted = row
        if not skipped.keep("funding.Disbursement", expected_on, received_on):
            continue
        on = received_on or expected_on
        converted = rates.convert(amount, currency, on)
        if restricted:
            grant = held.setdefault(grant_id, Holding(reference))
            if received_on is not None and received_on <= as_of:
                grant.received += converted
                continue  # in B already: it only counts towards the grant's net assets
        flows.append(
            Flow(
                on=on,
                amount=converted,
                direction="in",
                source="grants",
                settled=received_on is not None,
                pipeline_probability=_probability(status, probability, AWARDED_STATUSES),
                grant_ref=reference,
                item=f"grant:{grant_id}",
            )
        )
    return flows, held


def _subaward_flows(as_of: date, rates: _Rates, skipped: _Skipped) -> Iterable[Flow]:
    rows = (
        SubawardPayment.objects.filter(
            _still_to_come("paid_on", as_of), subaward__grant__status__in=COUNTED_GRANT_STATUSES
        )
        .order_by("due_on", "pk")
        .values_list(
            "due_on",
            "amount",
            "paid_on",
            "subaward__grant__status",
            "subaward__grant__probability",
            "subaward__grant__currency",
            "subaward__grant_id",
            "subaward__grant__reference",
        )
    )
    for due_on, amount, paid_on, status, probability, currency, grant_id, reference in rows:
        if not skipped.keep("funding.SubawardPayment", due_on, paid_on):
            continue
        on = paid_on or due_on
        yield Flow(
            on=on,
            amount=rates.convert(amount, currency, on),
            direction="out",
            source="subawards",
            settled=paid_on is not None,
            pipeline_probability=_probability(status, probability, AWARDED_STATUSES),
            # Charged to its grant (the unrestricted runway); a delay never moves it (engine).
            grant_ref=reference,
            # A subaward's payments come or go with its grant in the Monte Carlo draws.
            item=f"grant:{grant_id}",
        )


def _expenses(as_of: date, first_day: date, rates: _Rates, skipped: _Skipped) -> Iterable[Expense]:
    rows = (
        ExpenseRow.objects.exclude(Q(recurrence=Recurrence.ONCE, start_on__lte=as_of) | Q(end_on__lte=as_of))
        .order_by("start_on", "pk")
        .values_list("name", "amount", "currency", "recurrence", "start_on", "end_on", "grant__reference")
    )
    for name, amount, currency, recurrence, start_on, end_on, grant in rows:
        if not skipped.keep("funding.Expense", start_on, end_on):
            continue
        if recurrence == Recurrence.ONCE:
            yield Expense(
                name=name,
                amount=rates.convert(amount, currency, start_on),
                recurrence="once",
                start_on=start_on,
                end_on=end_on,
                grant=grant,
            )
            continue
        for piece_start, piece_end, piece_amount in rates.pieces(
            amount, currency, start_on, end_on, max(start_on, first_day)
        ):
            yield Expense(
                name=name,
                amount=piece_amount,
                recurrence="monthly",
                start_on=piece_start,
                end_on=piece_end,
                grant=grant,
            )


def _employed_after(as_of: date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}end_on__isnull": True}) | Q(**{f"{prefix}end_on__gt": as_of})


def _employments(as_of: date, skipped: _Skipped) -> Iterable[Employment]:
    rows = (
        StaffMember.objects.filter(_employed_after(as_of))
        .order_by("slug")
        .values_list("slug", "start_on", "end_on")
    )
    for slug, start_on, end_on in rows:
        if skipped.keep("staff.StaffMember", start_on, end_on):
            yield Employment(person=slug, start_on=start_on, end_on=end_on)


def _pay_lines(as_of: date, first_day: date, rates: _Rates, skipped: _Skipped) -> Iterable[PayLine]:
    """Each person's compensations, those superseded on or before ``A`` left out.

    A compensation runs until the person's next one; in another currency it is cut where the rate
    changes in between, each piece a pay line of its own (the engine runs a pay line until the next).
    """
    rows = (
        Compensation.objects.filter(_employed_after(as_of, "staff__"))
        .order_by("staff__slug", "effective_on")
        .values_list(
            "staff__slug",
            "effective_on",
            "annual_salary",
            "benefits_rate",
            "currency",
            "staff__start_on",
            "staff__end_on",
        )
    )
    by_person: dict[str, list[tuple[date, Decimal, Decimal, str]]] = defaultdict(list)
    for slug, effective_on, salary, benefits_rate, currency, start_on, end_on in rows:
        # A person left out of the employments (their dates) is left out of the payroll too;
        # counted once, on staff.StaffMember, by _employments.
        if (
            is_plausible(start_on)
            and is_plausible(end_on)
            and skipped.keep("staff.Compensation", effective_on)
        ):
            by_person[slug].append((effective_on, salary, benefits_rate, currency))
    for slug, lines in by_person.items():
        for i, (effective_on, salary, benefits_rate, currency) in enumerate(lines):
            last_day = lines[i + 1][0] - ONE_DAY if i + 1 < len(lines) else None
            if last_day is not None and last_day <= as_of:
                continue  # superseded before the projection starts, and so are those before it
            for start, _, annual in rates.pieces(
                salary, currency, effective_on, last_day, max(effective_on, first_day)
            ):
                yield PayLine(
                    person=slug, effective_on=start, annual_salary=annual, benefits_rate=benefits_rate
                )


# --- scenarios ------------------------------------------------------------------------------------


def adjustment_from(row: ScenarioAdjustment) -> Adjustment:
    """A scenario adjustment (saved or only built in memory) as the engine reads it.

    A delay names its grant by ``reference``, as the loader's disbursement flows do.
    """
    grant_ref = None
    if row.grant_id is not None:
        grant_ref = row.grant.reference
    return Adjustment(
        kind=row.kind,
        label=row.label,
        start_on=row.start_on,
        amount=row.amount,
        benefits_rate=row.benefits_rate,
        recurrence=row.recurrence,
        end_on=row.end_on,
        grant_ref=grant_ref,
        months=row.months,
    )


def load_adjustments(
    *, scenarios: Sequence[Scenario], without: Collection[int] = ()
) -> dict[int, list[Adjustment]]:
    """The adjustments of each scenario, by scenario id (one query, however many scenarios).

    ``without`` leaves out adjustments by id (a what-if that removes one).
    """
    found: dict[int, list[Adjustment]] = {scenario.pk: [] for scenario in scenarios}
    rows = (
        ScenarioAdjustment.objects.filter(scenario__in=[scenario.pk for scenario in scenarios])
        .exclude(pk__in=list(without))
        .select_related("grant")
        .order_by("scenario_id", "start_on", "pk")
    )
    skipped = _Skipped()
    for row in rows:
        if skipped.keep("funding.ScenarioAdjustment", row.start_on, row.end_on):
            found[row.scenario_id].append(adjustment_from(row))
    skipped.report()
    return found


def scenario_params(scenario: Scenario) -> ScenarioParams:
    return ScenarioParams(
        pipeline=scenario.pipeline, reserve=scenario.reserve, horizon_months=scenario.horizon_months
    )


def inputs_for(*, records: Records, scenario: Scenario, adjustments: Iterable[Adjustment]) -> RunwayInputs:
    """One scenario's engine inputs: the shared records, its parameters and its adjustments."""
    return RunwayInputs(
        as_of=records.as_of,
        opening_balance=records.opening_balance,
        flows=records.flows,
        usage_fees=records.usage_fees,
        invoices=records.invoices,
        expenses=records.expenses,
        employments=records.employments,
        pay_lines=records.pay_lines,
        adjustments=tuple(adjustments),
        params=scenario_params(scenario),
        thresholds=records.thresholds,
        fiscal_sponsor_fee=records.fiscal_sponsor_fee,
        restricted=records.restricted,
        allocations=records.allocations,
    )


def load_inputs(
    *,
    scenario: Scenario,
    as_of_cash: CashPosition | date | None = None,
    extra_adjustments: Iterable[Adjustment] = (),
    without_adjustments: Collection[int] = (),
) -> RunwayInputs:
    """The engine inputs of ``scenario`` from the database, in ten queries whatever the rows (and
    those of the usage fees when some contracts are usage-priced).

    ``as_of_cash`` picks the cash position to start from (a ``CashPosition``, or the latest on or
    before a date; default the latest). ``extra_adjustments`` are what-ifs added to the scenario's
    own, ``without_adjustments`` ids of its own to leave out. Raises :class:`NoCashPosition`, or
    ``MissingExchangeRate`` naming the currency and date of an amount that cannot be converted.
    """
    records = load_records(as_of_cash=as_of_cash)
    own = load_adjustments(scenarios=[scenario], without=without_adjustments)[scenario.pk]
    return inputs_for(records=records, scenario=scenario, adjustments=[*own, *extra_adjustments])


__all__ = [
    "NoCashPosition",
    "Records",
    "adjustment_from",
    "cash_position_for",
    "implausible_rows",
    "inputs_for",
    "load_adjustments",
    "load_inputs",
    "load_records",
    "runway_data_quality_issues",
    "scenario_params",
]
