"""Budget vs actual: what has been charged to each grant, by budget category, against its budget.

docs/definitions.md "Budget vs actual" defines the figures; this module is their one home. What is
charged to a grant (DESIGN "Restricted money and funder reports"):

- each ``StaffAllocation``: its ``share`` of the person's payroll on every day from ``start_on`` to
  ``end_on`` on which the person is employed (``StaffMember.start_on``/``end_on``), under
  ``personnel``. Payroll is the runway's: the ``Compensation`` in effect that day (latest
  ``effective_on`` on or before it; none, nothing) costs ``annual_salary * (1 + benefits_rate) / 12``
  a month (``PayLine.monthly_cost``), spread evenly over the days of the calendar month;
- each ``Expense`` whose ``grant`` it is, under ``budget_category_of_expense(category)``: a ``once``
  expense on its ``start_on``; a ``monthly`` one its ``amount`` in each calendar month, spread
  evenly over that month's days from ``start_on`` to ``end_on`` (open: up to the day asked about),
  the runway's proration with calendar months for periods;
- each paid ``SubawardPayment`` of the grant's subawards, on its ``paid_on``, under ``subawards``.

Amounts are in the grant's currency (``in_reporting_currency=True`` asks for the reporting
currency instead). Another currency converts at the ``ExchangeRate`` in effect on the day, as the
runway converts: a dated charge at its day's rate, rounded to the cent; a spread one piece by piece,
cut where either currency's rate changes. A missing rate raises ``MissingExchangeRate``, naming the
currency and the day (never a silent 1.0, never a charge quietly left out).

Spread charges are summed at full precision and rounded to the cent (half up) once per grant and
category. Rows dated outside the plausible range (``opsite.core.dates``; only raw SQL can store
them) are left out in SQL, as the runway leaves them out.

Each read runs a constant number of queries whatever the number of grants and rows (one per
table, each a ``values_list``): budget lines, allocations joined to the person's employment,
the compensations of the people allocated, expenses, paid subaward payments, exchange rates;
plus the grants themselves when given by id. **Sensitive**: allocations and spent figures reveal
pay; only Finance and Leadership may be shown them, and nothing here logs a figure.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

from django.db.models import Exists, OuterRef

from opsite.core.dates import plausible_range
from opsite.core.money import quantize
from opsite.core.periods import month_end as month_end_of
from staff.models import Compensation

from .choices import BudgetCategory, GrantStatus, Recurrence, budget_category_of_expense
from .currency import RateTable
from .models import ExchangeRate, Expense, Grant, GrantBudgetLine, StaffAllocation, SubawardPayment
from .runway.grid import CONTEXT
from .runway.inputs import PayLine

ZERO = Decimal("0")
ONE = Decimal("1")
HUNDREDTH = Decimal("0.01")
NO_MONEY = Decimal("0.00")  # the budget of a category with no line
ONE_DAY = timedelta(days=1)
CATEGORY_ORDER = {category: index for index, category in enumerate(BudgetCategory.values)}
# The currency a grant's charges are wanted in, by grant id.
_Target = Callable[[int], str]


# --- the figures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetLineFigures:
    """One budget category of a grant (or the total over them), in the grant's currency.

    ``pace`` is ``(spent / budget) / (elapsed days / grant days)``, two places: 1.00 spends the
    budget evenly over the grant; None when there is no budget or no day has elapsed.
    """

    category: str
    budget: Decimal
    spent: Decimal
    remaining: Decimal
    pace: Decimal | None


@dataclass(frozen=True)
class GrantBudget:
    """A grant's budget vs actual on ``as_of``: a line per category with a budget or a charge, in
    ``BudgetCategory`` order, and their total (``category`` ``"total"``).

    ``elapsed_share`` is elapsed days / grant days (0 before the grant starts, 1 from its last day
    on), unrounded.
    """

    grant: Grant
    as_of: date
    elapsed_share: Decimal
    lines: tuple[BudgetLineFigures, ...]
    total: BudgetLineFigures

    @property
    def pace(self) -> Decimal | None:
        """The grant's spend pace over all its categories."""
        return self.total.pace


# --- charges ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Piece:
    """Charges spread evenly over ``first..last``: ``numerator / denominator`` a day.

    Kept as a fraction so that a month's days add back up to the monthly amount exactly, and a
    sum over days divides once.
    """

    grant_id: int
    category: str
    first: date
    last: date
    numerator: Decimal
    denominator: Decimal

    def over(self, first: date, last: date) -> Decimal:
        """What falls on the days ``first..last`` (clipped to the piece), unrounded."""
        first, last = max(first, self.first), min(last, self.last)
        if first > last:
            return ZERO
        return self.numerator * ((last - first).days + 1) / self.denominator


class _Rates:
    """Every exchange rate in memory (one query), converting between any two currencies.

    A rate is in units of the reporting currency per unit, so ``source -> target`` multiplies by
    the source's rate and divides by the target's, each in effect on the day.
    """

    def __init__(self, rows: Iterable[tuple[str, date, Decimal]]):
        rows = list(rows)
        self.table = RateTable(rows)
        self.reporting = self.table.currency
        changes: dict[str, set[date]] = defaultdict(set)
        for currency, effective_on, _ in rows:
            changes[currency].add(effective_on)
        self._changes = changes
        self._cuts: dict[tuple[str, str], list[date]] = {}

    def cuts(self, source: str, target: str) -> list[date]:
        """The days on which ``source -> target`` may change: either side's new rate."""
        key = (source, target)
        if key not in self._cuts:
            days: set[date] = set()
            if source != target:
                for currency in (source, target):
                    if currency != self.reporting:
                        days |= self._changes.get(currency, set())
            self._cuts[key] = sorted(days)
        return self._cuts[key]

    def factor(self, source: str, target: str, on: date) -> tuple[Decimal, Decimal]:
        """(multiply by, divide by) to turn ``source`` into ``target`` on ``on``; raises
        ``MissingExchangeRate`` naming the currency without a rate that day."""
        if source == target:
            return ONE, ONE
        return self.table.rate(source, on), self.table.rate(target, on)

    def convert(self, amount: Decimal, source: str, target: str, on: date) -> Decimal:
        """A dated amount in ``target``, rounded to the cent as the runway's loader rounds it."""
        if source == target:
            return amount
        multiply, divide = self.factor(source, target, on)
        return quantize(amount * multiply / divide)


@dataclass(frozen=True, slots=True)
class _Grant:
    pk: int
    start_on: date
    end_on: date
    currency: str


def _spread(
    rates: _Rates,
    *,
    grant_id: int,
    category: str,
    monthly: Decimal,
    currency: str,
    target: str,
    first: date,
    last: date,
) -> Iterator[_Piece]:
    """``monthly`` a calendar month over ``first..last``, a piece per month and rate in effect."""
    cuts = rates.cuts(currency, target)
    day = first
    while day <= last:
        month_end = month_end_of(day)
        piece_last = min(last, month_end)
        index = bisect_right(cuts, day)
        if index < len(cuts) and cuts[index] <= piece_last:
            piece_last = cuts[index] - ONE_DAY
        multiply, divide = rates.factor(currency, target, day)
        yield _Piece(
            grant_id=grant_id,
            category=category,
            first=day,
            last=piece_last,
            numerator=monthly * multiply,
            denominator=Decimal(month_end.day) * divide,
        )
        day = piece_last + ONE_DAY


def _earlier(a: date, b: date | None) -> date:
    return a if b is None else min(a, b)


def _charges(grants: Mapping[int, _Grant], *, until: date, in_reporting_currency: bool) -> list[_Piece]:
    """Every charge to ``grants`` on or before ``until``, as pieces (five queries)."""
    ids = list(grants)
    first_plausible, _ = plausible_range()
    rates = _Rates(
        ExchangeRate.objects.filter(effective_on__gte=first_plausible, effective_on__lte=until)
        .order_by("currency", "effective_on")
        .values_list("currency", "effective_on", "rate")
    )

    def target(grant_id: int) -> str:
        return rates.reporting if in_reporting_currency else grants[grant_id].currency

    pieces: list[_Piece] = []
    with localcontext(CONTEXT):
        pieces.extend(_payroll(ids, until, first_plausible, rates, target))
        pieces.extend(_expenses(ids, until, first_plausible, rates, target))
        pieces.extend(_subaward_payments(ids, until, first_plausible, rates, grants, target))
    return pieces


def _payroll(ids: list[int], until: date, since: date, rates: _Rates, target: _Target) -> Iterator[_Piece]:
    allocated = StaffAllocation.objects.filter(grant_id__in=ids, start_on__gte=since, start_on__lte=until)
    allocations = allocated.order_by("pk").values_list(
        "grant_id", "staff_id", "share", "start_on", "end_on", "staff__start_on", "staff__end_on"
    )
    pay: dict[int, list[tuple[date, Decimal, str]]] = defaultdict(list)
    compensations = (
        Compensation.objects.filter(
            staff_id__in=allocated.values("staff_id"), effective_on__gte=since, effective_on__lte=until
        )
        .order_by("staff_id", "effective_on", "pk")
        .values_list("staff_id", "effective_on", "annual_salary", "benefits_rate", "currency")
    )
    for staff_id, effective_on, salary, benefits_rate, currency in compensations:
        line = PayLine(
            person=str(staff_id), effective_on=effective_on, annual_salary=salary, benefits_rate=benefits_rate
        )
        pay[staff_id].append((effective_on, line.monthly_cost, currency))
    for grant_id, staff_id, share, start_on, end_on, employed_from, employed_until in allocations:
        first = max(start_on, employed_from)
        last = _earlier(min(end_on, until), employed_until)
        lines = pay.get(staff_id, [])
        for index, (effective_on, monthly, currency) in enumerate(lines):
            # A compensation is in effect until the day before the person's next one.
            seg_last = last if index + 1 == len(lines) else min(last, lines[index + 1][0] - ONE_DAY)
            seg_first = max(first, effective_on)
            if seg_first > seg_last:
                continue
            yield from _spread(
                rates,
                grant_id=grant_id,
                category=BudgetCategory.PERSONNEL,
                monthly=monthly * share,
                currency=currency,
                target=target(grant_id),
                first=seg_first,
                last=seg_last,
            )


def _expenses(ids: list[int], until: date, since: date, rates: _Rates, target: _Target) -> Iterator[_Piece]:
    rows = (
        Expense.objects.filter(grant_id__in=ids, start_on__gte=since, start_on__lte=until)
        .order_by("pk")
        .values_list("grant_id", "category", "amount", "currency", "recurrence", "start_on", "end_on")
    )
    for grant_id, expense_category, amount, currency, recurrence, start_on, end_on in rows:
        category = budget_category_of_expense(expense_category)
        if recurrence == Recurrence.ONCE:
            converted = rates.convert(amount, currency, target(grant_id), start_on)
            yield _Piece(grant_id, category, start_on, start_on, converted, ONE)
            continue
        yield from _spread(
            rates,
            grant_id=grant_id,
            category=category,
            monthly=amount,
            currency=currency,
            target=target(grant_id),
            first=start_on,
            last=_earlier(until, end_on),
        )


def _subaward_payments(
    ids: list[int],
    until: date,
    since: date,
    rates: _Rates,
    grants: Mapping[int, _Grant],
    target: _Target,
) -> Iterator[_Piece]:
    # A subaward's payments are in its grant's currency (as the runway's loader reads them).
    rows = (
        SubawardPayment.objects.filter(subaward__grant_id__in=ids, paid_on__gte=since, paid_on__lte=until)
        .order_by("pk")
        .values_list("subaward__grant_id", "amount", "paid_on")
    )
    for grant_id, amount, paid_on in rows:
        converted = rates.convert(amount, grants[grant_id].currency, target(grant_id), paid_on)
        yield _Piece(grant_id, BudgetCategory.SUBAWARDS, paid_on, paid_on, converted, ONE)


def _grants_by_id(grant_ids: Collection[int]) -> dict[int, _Grant]:
    rows = Grant.objects.filter(pk__in=list(grant_ids)).values_list("pk", "start_on", "end_on", "currency")
    return {pk: _Grant(pk, start_on, end_on, currency) for pk, start_on, end_on, currency in rows}


def _sums(pieces: Iterable[_Piece], until: date) -> dict[int, dict[str, Decimal]]:
    """Unrounded charges on or before ``until`` by grant and category (only those charged)."""
    sums: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    with localcontext(CONTEXT):
        for piece in pieces:
            if piece.first <= until:
                # Plain strings: an expense's category comes as a BudgetCategory member.
                sums[piece.grant_id][str(piece.category)] += piece.over(piece.first, until)
    return sums


# --- public reads -------------------------------------------------------------------------------


def spent_by_grant(
    *, grant_ids: Collection[int], until: date, in_reporting_currency: bool = False
) -> dict[int, dict[str, Decimal]]:
    """What was charged to each grant on or before ``until``, by budget category, to the cent.

    Every existing grant asked about has an entry (empty when nothing was charged); a category
    appears once something is charged to it. In the grant's currency, or the reporting currency.
    """
    grants = _grants_by_id(grant_ids)
    sums = _sums(_charges(grants, until=until, in_reporting_currency=in_reporting_currency), until)
    return {pk: {category: quantize(total) for category, total in sums.get(pk, {}).items()} for pk in grants}


def charges_by_grant(
    *, grant_ids: Collection[int], start: date, end: date, in_reporting_currency: bool = False
) -> dict[int, dict[date, Decimal]]:
    """Each grant's charges (all categories) day by day over ``start..end``, for the runway.

    Days with no charge are left out. Amounts are **not** rounded: a spread charge's day is a
    fraction of a cent, so add the days first and round the sum (to the cent, half up): the days
    up to ``d`` then add up to :func:`spent_by_grant`'s figures. In the grant's currency, or the
    reporting currency with ``in_reporting_currency`` (converted on each day, as the runway does).
    """
    grants = _grants_by_id(grant_ids)
    days: dict[int, dict[date, Decimal]] = {pk: defaultdict(lambda: ZERO) for pk in grants}
    with localcontext(CONTEXT):
        for piece in _charges(grants, until=end, in_reporting_currency=in_reporting_currency):
            first, last = max(start, piece.first), min(end, piece.last)
            day = first
            while day <= last:
                days[piece.grant_id][day] += piece.numerator / piece.denominator
                day += ONE_DAY
    return {pk: dict(sorted(by_day.items())) for pk, by_day in days.items()}


def _pace(spent: Decimal, budget: Decimal, elapsed: int, grant_days: int) -> Decimal | None:
    if budget == 0 or elapsed == 0:
        return None
    return (spent * grant_days / (budget * elapsed)).quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


def _figures(
    category: str, budget: Decimal, spent: Decimal, elapsed: int, grant_days: int
) -> BudgetLineFigures:
    return BudgetLineFigures(
        category=category,
        budget=budget,
        spent=spent,
        remaining=budget - spent,
        pace=_pace(spent, budget, elapsed, grant_days),
    )


def budget_vs_actual(*, grants: Iterable[Grant], as_of: date) -> list[GrantBudget]:
    """Each grant's budget vs actual on ``as_of``, in the order given (six queries in all).

    Spent counts every charge on or before ``as_of``, including any dated outside the grant's own
    dates: a charge recorded against a grant is reported against it. Elapsed days count from
    ``start_on`` to the earlier of ``as_of`` and ``end_on``, both included.
    """
    ordered = list({grant.pk: grant for grant in grants}.values())
    if not ordered:
        return []
    infos = {grant.pk: _Grant(grant.pk, grant.start_on, grant.end_on, grant.currency) for grant in ordered}
    budgets: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for grant_id, category, amount in GrantBudgetLine.objects.filter(grant_id__in=list(infos)).values_list(
        "grant_id", "category", "amount"
    ):
        budgets[grant_id][category] = amount
    sums = _sums(_charges(infos, until=as_of, in_reporting_currency=False), as_of)
    with localcontext(CONTEXT):
        return [
            _grant_budget(grant, as_of, budgets.get(grant.pk, {}), sums.get(grant.pk, {}))
            for grant in ordered
        ]


def _grant_budget(
    grant: Grant, as_of: date, budget_of: Mapping[str, Decimal], spent_of: Mapping[str, Decimal]
) -> GrantBudget:
    """One grant's figures from its budget lines and its unrounded sums of charges by category."""
    grant_days = (grant.end_on - grant.start_on).days + 1
    elapsed = 0 if as_of < grant.start_on else (min(as_of, grant.end_on) - grant.start_on).days + 1
    categories = sorted(set(budget_of) | set(spent_of), key=CATEGORY_ORDER.__getitem__)
    lines = tuple(
        _figures(
            category,
            budget_of.get(category, NO_MONEY),
            quantize(spent_of.get(category, ZERO)),
            elapsed,
            grant_days,
        )
        for category in categories
    )
    total = _figures(
        "total",
        sum((line.budget for line in lines), ZERO),
        sum((line.spent for line in lines), ZERO),
        elapsed,
        grant_days,
    )
    return GrantBudget(
        grant=grant,
        as_of=as_of,
        elapsed_share=Decimal(elapsed) / Decimal(grant_days),
        lines=lines,
        total=total,
    )


def pace_outliers(
    *, as_of: date, low: Decimal = Decimal("0.8"), high: Decimal = Decimal("1.2")
) -> list[GrantBudget]:
    """Awarded grants in effect on ``as_of`` with a budget, spending faster or slower than their
    time: total pace below ``low`` or above ``high`` (a pace on a bound is not an outlier).

    The furthest from an even pace (1.00) come first, then by grant reference. A grant whose budget
    lines are all 0 has no pace and is never an outlier. Seven queries in all.
    """
    grants = (
        Grant.objects.filter(
            Exists(GrantBudgetLine.objects.filter(grant_id=OuterRef("pk"))),
            status=GrantStatus.AWARDED,
            start_on__lte=as_of,
            end_on__gte=as_of,
        )
        .select_related("funder")
        .order_by("reference")
    )
    off = [
        budget
        for budget in budget_vs_actual(grants=grants, as_of=as_of)
        if budget.pace is not None and not low <= budget.pace <= high
    ]
    return sorted(off, key=lambda budget: (-abs(budget.pace - ONE), budget.grant.reference))
