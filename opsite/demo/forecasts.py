"""The demo's months after its history, one at a time: the bank balance, the runway as the engine
computed it that month, and the grant applications the organization made when it ran short.

Each month-end, the balance moves by what was paid and received that month; the runway engine
(``funding.runway.engine.project``) is run on the plans as they stood that day
(:func:`opsite.demo.ledger.inputs_on`); when the default scenario's runway is under
``later.RUNWAY_LOW`` months and no application is waiting for its answer (or under
``later.RUNWAY_URGENT`` whatever is waiting), the organization opens an application sized to bring
it back to about ``later.RUNWAY_AIM``, as fundraising does: that keeps the runway between one and
two years. The runway counts the fee the organization's fiscal sponsor keeps
(``ledger.DEMO_FISCAL_SPONSOR_FEE``), never the site's setting, so the applications it makes, and
every row of the demo, are the same whatever ``OPSITE_FISCAL_SPONSOR_FEE`` says. The runways of
the last ``HISTORY_MONTHS`` month-ends are kept: they become the forecast history
(``RunwaySnapshot`` rows) the dashboard draws.

A month depends only on the months before it, never on how far the demo goes, so the history
of a demo loaded today is the history of one loaded a year from now.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from funding.runway.engine import RunwayResult, project
from funding.runway.inputs import ScenarioParams

from . import data, later
from .collecting import slow_funders
from .dates import HISTORY_END, month_ends, months_later
from .grants import Luck, application, donations, history_grants, long_shots
from .ledger import Books, exchange_rates, expense_plans, history_cash, inputs_on, month_net
from .people import Person
from .plans import ContractPlan, GrantPlan
from .revenue import pass_through_costs

# How many past month-ends the forecast history covers (the last one is computed when loaded).
HISTORY_MONTHS = 24
# The scenarios whose forecasts are kept: those defined by their pipeline alone.
FORECAST_SCENARIOS = {slug: ScenarioParams(pipeline=pipeline) for slug, _name, pipeline in data.SCENARIOS[:3]}
DEFAULT = "base"


@dataclass(frozen=True)
class Forecast:
    scenario: str
    computed_at: datetime
    result: RunwayResult


def keep_books(
    people: list[Person], contracts: list[ContractPlan], end: date
) -> tuple[Books, list[Forecast]]:
    """The books to ``end`` and the forecasts of the month-ends before it (see the module docstring)."""
    books = Books(
        end=end,
        people=people,
        contracts=contracts,
        grants=[*history_grants(), *donations(end), *long_shots(end), *slow_funders(end)],
        expenses=[*expense_plans(end), *pass_through_costs(contracts)],
        rates=exchange_rates(end),
        cash=history_cash(),
    )
    references = {grant.reference for grant in books.grants}
    first_kept = months_later(end, -HISTORY_MONTHS)
    forecasts: list[Forecast] = []
    balance = books.cash[HISTORY_END]
    opened: list[GrantPlan] = []
    luck = Luck()
    for month in month_ends(HISTORY_END, end):
        if month > HISTORY_END:
            balance += month_net(books, month)
            books.cash[month] = balance
        if month == end:
            break  # the runway of the last month-end is computed from the rows, once they are written
        # The nightly recompute after the month's books were closed and its balance entered.
        computed_at = datetime.combine(month + timedelta(days=5), time(2, 30), tzinfo=UTC)
        inputs = inputs_on(books, month, FORECAST_SCENARIOS[DEFAULT], balance)
        base = project(inputs)
        if month > first_kept:
            forecasts.append(Forecast(DEFAULT, computed_at, base))
            for slug, params in FORECAST_SCENARIOS.items():
                if slug != DEFAULT:
                    forecasts.append(Forecast(slug, computed_at, project(replace(inputs, params=params))))
        waiting = any(plan.changes[1][0] > month for plan in opened)  # submitted, then decided
        if _under(base, later.RUNWAY_URGENT) or (_under(base, later.RUNWAY_LOW) and not waiting):
            costs = base.periods[0].out
            fewest, most = (costs * months for months in later.APPLICATION_MONTHS_OF_COSTS)
            amount = min(max((later.RUNWAY_AIM - base.months) * costs, fewest), most)
            amount = (amount / 25000).quantize(Decimal("1")) * 25000
            opened.append(application(len(opened), month, amount, references, luck))
            books.grants.append(opened[-1])
    return books, forecasts


def _under(result: RunwayResult, months: int) -> bool:
    return result.months is not None and result.months < months
