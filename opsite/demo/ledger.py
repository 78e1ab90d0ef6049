"""The demo's books: costs, exchange rates, the bank balance month by month, and what the runway
engine would have been given on any past month-end.

:func:`inputs_on` builds the engine's inputs from the plans as they stood on a day, by the rules the
runway loader applies to the database (docs/definitions.md "Runway"): rows settled on or before
the day are in the balance; open rows, pipeline weighted by their probability; the signed
contracts' payments due in the 90 days up to the day (invoice collection); the usage-priced
contracts' expected fees; the costs and the team then on the books; and the fiscal sponsor's fee the
demo organization pays (:data:`DEMO_FISCAL_SPONSOR_FEE`, never the setting, so the demo's data is
the same whatever the site's ``OPSITE_FISCAL_SPONSOR_FEE``). For the demo's last month-end it gives
exactly what the loader reads from the rows the demo writes with the setting at that fee (a test
holds the two together), so a change to what the loader reads shows there first.

The bank balance pays the sponsor the same way: from ``later.FLAT_FEE_ENDS`` on, each month's
balance loses the fee on the month's receipts subject to it (:func:`month_net`), instead of the
flat monthly fee of the history.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings

from funding.currency import RateTable
from funding.runway.indicators import fee_on
from funding.runway.inputs import (
    COLLECTION_DAYS,
    Employment,
    Expense,
    Flow,
    Invoice,
    PayLine,
    RunwayInputs,
    ScenarioParams,
    Thresholds,
    UsageFeeInflow,
)
from funding.runway.revenue import last_complete_month_ends, mean_fee
from opsite.core.money import CENT

from . import data, later
from .dates import HISTORY_END, month_end, months_later
from .people import Person, payroll_for
from .plans import ContractPlan, ExpensePlan, GrantPlan

SEED = 2021
COMMITTED_GRANTS = ("awarded", "closed")
COUNTED_GRANTS = (*COMMITTED_GRANTS, "prospect", "submitted")
# The demo organization's fiscal sponsor's fee, from the day after the flat fee ends.
DEMO_FISCAL_SPONSOR_FEE = Decimal(later.FISCAL_SPONSOR_FEE)
FLAT_FEE_ENDS = date.fromisoformat(later.FLAT_FEE_ENDS)


@dataclass
class Books:
    """Everything the money side of the demo is made of, to the end of ``end``."""

    end: date
    people: list[Person]
    contracts: list[ContractPlan]
    grants: list[GrantPlan]
    expenses: list[ExpensePlan]
    rates: list[tuple[str, date, Decimal]]
    # The bank balance on month-ends (quarter-ends in the history), oldest first.
    cash: dict[date, Decimal] = field(default_factory=dict)

    def rate_table(self, on: date) -> RateTable:
        """The exchange rates known on ``on`` (a later month's rate is not known yet)."""
        return RateTable([row for row in self.rates if row[1] <= on])


def rng(section: str) -> random.Random:
    return random.Random(f"{SEED}-{section}")


# --- costs and rates --------------------------------------------------------------------------


def expense_plans(until: date) -> list[ExpensePlan]:
    """The history's expenses, then each January's new monthly prices and the yearly one-offs.

    A one-off cost is budgeted a year ahead; a monthly cost's new price shows from its January,
    and ends the old one then.
    """
    plans = [
        ExpensePlan(name, category, Decimal(amount), recurrence, date.fromisoformat(start), _d(end))
        for name, category, amount, recurrence, start, end in data.EXPENSES
    ]
    # The sponsor's flat fee ends with 2024, as agreed in its autumn; its percentage follows.
    flat = next(plan for plan in plans if plan.name == later.FLAT_FEE)
    flat.end_on, flat.end_known_on = FLAT_FEE_ENDS, date.fromisoformat(later.FISCAL_SPONSOR_AGREED)
    if until <= HISTORY_END:
        return plans
    for year in range(HISTORY_END.year + 1, until.year + 1):
        for name, growth in later.MONTHLY_GROWTH.items():
            current = next(p for p in reversed(plans) if p.name == name and p.recurrence == "monthly")
            start = date(year, 1, 1)
            current.end_on, current.end_known_on = start - timedelta(days=1), start
            amount = (current.amount * Decimal(str(1 + growth)) / 100).quantize(Decimal("1")) * 100
            plans.append(ExpensePlan(name, current.category, amount, "monthly", start, shown_on=start))
    for year in range(HISTORY_END.year + 1, months_later(until, later.BUDGETED_AHEAD_MONTHS).year + 1):
        for name, category, first_amount, growth, first_year, month_day in later.YEARLY_ONCE:
            if year < first_year:
                continue
            day = date(year + 1, 3, 31) if month_day is None else date(year, *month_day)
            amount = Decimal(round(first_amount * (1 + growth) ** (year - first_year), -2))
            shown = months_later(day, -later.BUDGETED_AHEAD_MONTHS)
            if shown <= until:
                plans.append(
                    ExpensePlan(name.format(year=year), category, amount, "once", day, shown_on=shown)
                )
    return plans


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def exchange_rates(until: date) -> list[tuple[str, date, Decimal]]:
    """USD per EUR on the first of each month: the history's, then a gentle drift around 1.08."""
    rows = [
        ("EUR", date(year, month + 1, 1), Decimal(rate))
        for year, row in data.EUR_RATES.items()
        for month, rate in enumerate(row)
    ]
    rate = rows[-1][2]
    day = date(HISTORY_END.year + 1, 1, 1)
    while day <= until:
        stream = rng(f"eur-{day:%Y-%m}")
        rate = rate + (Decimal("1.08") - rate) * Decimal("0.1") + Decimal(str(stream.uniform(-0.015, 0.015)))
        rate = rate.quantize(Decimal("0.0001"))
        rows.append(("EUR", day, rate))
        day = month_end(day) + timedelta(days=1)
    return rows


# --- what happened in a month -----------------------------------------------------------------


def month_net(books: Books, month: date) -> Decimal:
    """What came in less what went out in ``month`` (a month-end), as the bank saw it.

    After ``FLAT_FEE_ENDS``, the fiscal sponsor keeps its fee on the month's receipts subject to
    it, rounded to the cent as the runway rounds a period's fee: what the runways the demo
    computed expected it to keep.
    """
    first = month.replace(day=1)
    rates = books.rate_table(month)
    received = subject = Decimal(0)
    for contract in books.contracts:
        came = Decimal(0)
        for payment in contract.payments:
            if payment.settled_on and first <= payment.settled_on <= month:
                came += payment.amount
        # A usage-priced contract's fee of the month, as the runway expects it: on the month's
        # last day, while the contract is signed.
        if month in contract.usage_fees and contract.status_on(month) == "signed":
            came += contract.usage_fees[month]
        received += came
        if contract.category != "cloud":  # a cloud bill passed through pays no fee
            subject += came
    for grant in books.grants:
        for disbursement in grant.disbursements:
            if disbursement.settled_on and first <= disbursement.settled_on <= month:
                came = rates.convert(disbursement.amount, grant.currency, disbursement.settled_on)
                received += came
                subject += came
    net = received
    if month > FLAT_FEE_ENDS:
        net -= fee_on(DEMO_FISCAL_SPONSOR_FEE, subject)
    for grant in books.grants:
        for subaward in grant.subawards:
            for payment in subaward.payments:
                if payment.settled_on and first <= payment.settled_on <= month:
                    net -= rates.convert(payment.amount, grant.currency, payment.settled_on)
    days = Decimal(month.day)
    for expense in books.expenses:
        if expense.recurrence == "once":
            if first <= expense.start_on <= month:
                net -= expense.amount
            continue
        start, end = max(expense.start_on, first), min(expense.end_on or month, month)
        if start <= end:
            net -= expense.amount * ((end - start).days + 1) / days
    net -= payroll_for(books.people, first, month)
    # Bank fees, interest, small reimbursements: what no plan lists.
    net += Decimal(str(round(rng(f"cash-{month}").uniform(-4000, 4000), 2)))
    return net.quantize(CENT)


# --- what the runway engine was given on a day ------------------------------------------------


def inputs_on(books: Books, day: date, params: ScenarioParams, balance: Decimal) -> RunwayInputs:
    """The engine's inputs on ``day``, from the plans as they stood then (see the module docstring)."""
    rates = books.rate_table(day)
    flows: list[Flow] = []
    invoices: list[Invoice] = []
    usage_fees: list[UsageFeeInflow] = []
    first_due = day - timedelta(days=COLLECTION_DAYS - 1)
    for contract in books.contracts:
        status = contract.status_on(day)
        if status not in ("signed", "proposed"):
            continue
        probability = None if status == "signed" else Decimal(contract.probability)
        for payment in contract.payments:
            paid = payment.settled_by(day)
            if status == "signed" and first_due <= payment.due_on <= day:
                invoices.append(Invoice(due_on=payment.due_on, amount=payment.amount, paid_on=paid))
            if not paid:
                flows.append(
                    Flow(
                        on=payment.due_on,
                        amount=payment.amount,
                        direction="in",
                        source="contracts",
                        pipeline_probability=probability,
                        fee_exempt=contract.category == "cloud",
                        customer=contract.community,
                    )
                )
        expected = _expected_usage_fee(contract, day) if contract.end_on > day else 0
        if expected:
            usage_fees.append(
                UsageFeeInflow(
                    amount=expected,
                    start_on=contract.start_on,
                    end_on=contract.end_on,
                    pipeline_probability=probability,
                    fee_exempt=contract.category == "cloud",
                    customer=contract.community,
                )
            )
    for grant in books.grants:
        state = grant.state_on(day)
        if state is None or state[0] not in COUNTED_GRANTS:
            continue
        probability = None if state[0] in COMMITTED_GRANTS else Decimal(state[1])
        for disbursement in grant.disbursements:
            if disbursement.shown_on <= day and not disbursement.settled_by(day):
                amount = rates.convert(disbursement.amount, grant.currency, disbursement.due_on)
                flows.append(
                    Flow(
                        on=disbursement.due_on,
                        amount=amount,
                        direction="in",
                        source="grants",
                        pipeline_probability=probability,
                        grant_ref=grant.reference,
                    )
                )
        for subaward in grant.subawards:
            for payment in subaward.payments:
                if not payment.settled_by(day):
                    amount = rates.convert(payment.amount, grant.currency, payment.due_on)
                    flows.append(
                        Flow(
                            on=payment.due_on,
                            amount=amount,
                            direction="out",
                            source="subawards",
                            pipeline_probability=probability,
                        )
                    )
    expenses = []
    for expense in books.expenses:
        end = expense.end_on_by(day)
        if (
            expense.shown_on > day
            or (end and end <= day)
            or (expense.recurrence == "once" and expense.start_on <= day)
        ):
            continue
        expenses.append(
            Expense(
                name=expense.name,
                amount=expense.amount,
                recurrence=expense.recurrence,
                start_on=expense.start_on,
                end_on=end,
            )
        )
    employments, pay_lines = [], []
    for person in books.people:
        left = person.end_on if person.end_on and person.end_on <= day else None
        if person.start_on > day or left:
            continue
        employments.append(Employment(person=person.slug, start_on=person.start_on))
        effective, salary = person.pay_on(day)[-1]
        pay_lines.append(
            PayLine(
                person=person.slug,
                effective_on=effective,
                annual_salary=salary,
                benefits_rate=person.benefits_rate,
            )
        )
    return RunwayInputs(
        as_of=day,
        opening_balance=balance,
        flows=flows,
        invoices=invoices,
        expenses=expenses,
        employments=employments,
        pay_lines=pay_lines,
        params=params,
        thresholds=Thresholds.from_dict(getattr(settings, "OPSITE_RUNWAY_THRESHOLDS", None)),
        usage_fees=usage_fees,
        fiscal_sponsor_fee=DEMO_FISCAL_SPONSOR_FEE,
    )


def _expected_usage_fee(contract: ContractPlan, day: date) -> Decimal:
    """A usage-priced contract's expected monthly fee after ``day``, as the runway loader reads it:
    the mean of its fees of the last twelve complete months, 0 before it has any."""
    since, through = last_complete_month_ends(day)
    return mean_fee([fee for end, fee in contract.usage_fees.items() if since <= end <= through])


def history_cash() -> dict[date, Decimal]:
    return {date.fromisoformat(day): Decimal(balance) for day, balance in data.CASH_POSITIONS}
