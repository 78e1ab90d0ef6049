"""The figures of a generated report, for a grant's period or any date range.

Every figure is one the dashboard and the public KPIs already define, computed by the apps' own
rollups (docs/definitions.md), read here for the report's range instead of from the rollup store:
the store holds whole calendar periods up to its as-of day, a report needs any first and last day.

- **Communities served in the range**: the communities active (``communities.rollups``: a live hub
  with 30d active users) on at least one reading day of the range: each month-end in it and its
  last day (``opsite.core.periods.reading_days``). A hub's 30d count looks back 35 days, so every
  month's samples are seen by its month-end. Historically marginalized: the stored flag.
- **MAU / WAU at the end**, active hubs and communities per period: the usage figures on each
  period's reading day (its last day, or the range's last day for the last period).
- **Counted upstream pull requests** merged in the range, by key community, and the distinct
  repositories (``contributions.rollups``).
- **Headcount** on the first and the last day, and on each month's reading day (``staff.rollups``).
- **Funding brought in** during the range, gross and net, by category (``funding.rollups``), and
  the service contracts signed (``contracts.rollups``).
- For a grant: budget vs actual on the last day (``funding.budget``) and its subawards, with what
  was paid on them up to that day. **Sensitive** (payroll shows through personnel spent): only the
  roles that see the dashboard may see a report.

Queries, whatever the number of rows: the hubs (1); the usage samples on the reading days (one per
``communities.rollups.DAYS_PER_QUERY`` days: 19 for three years); the counted contributions (1) and
the upstream communities' names (1); headcount (1); the exchange rates, grants, their subawards
(only when one is ``prime``) and contracts, read once for the figures and their chart (4); for a
grant, budget vs actual (6) and its subawards and their payments (2).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from communities import rollups as usage_rollups
from contracts import rollups as contract_rollups
from contributions import rollups as contribution_rollups
from funding import rollups as funding_rollups
from funding.budget import GrantBudget, budget_vs_actual
from funding.currency import RateTable
from funding.models import Grant, Subaward, SubawardPayment
from opsite.core.money import ZERO, reporting_currency
from opsite.core.periods import MONTH, QUARTER, periods_between, reading_days
from opsite.dashboard.selectors import upstream_names
from staff.rollups import staffing_on


@dataclass(frozen=True)
class CommunityPoint:
    """Active communities on a quarter's reading day, and how many historically marginalized."""

    period: str
    active: int
    historically_marginalized: int


@dataclass(frozen=True)
class MonthPoint:
    """A month's stock figures, read on its last day (or the range's last day)."""

    period: str
    monthly_active: int
    weekly_active: int
    active_hubs: int
    headcount: int


@dataclass(frozen=True)
class SubawardFigures:
    """A subaward of the grant, in its grant's currency, and what was paid on it up to the end."""

    reference: str
    recipient: str
    amount: Decimal
    paid: Decimal


@dataclass(frozen=True)
class GrantFigures:
    grant: Grant
    budget: GrantBudget
    subawards: tuple[SubawardFigures, ...]

    @property
    def subawards_total(self) -> Decimal:
        return sum((subaward.amount for subaward in self.subawards), ZERO)

    @property
    def subawards_paid(self) -> Decimal:
        return sum((subaward.paid for subaward in self.subawards), ZERO)


@dataclass(frozen=True)
class ReportFigures:
    """The headline figures of a range and the series its charts draw. Money in ``currency`` (the
    reporting currency), but a grant's budget and subawards, in the grant's own."""

    start: date
    end: date
    currency: str
    communities_served: int
    historically_marginalized: int
    monthly_active: int
    weekly_active: int
    active_hubs: int
    merged_pull_requests: int
    repositories: int
    # (upstream community name, merged pull requests), most first, then by name.
    pull_requests_by_community: tuple[tuple[str, int], ...]
    headcount_start: int
    headcount_end: int
    funding_gross: Decimal
    funding_net: Decimal
    # (funding category, gross), every category brought in, in FUNDING_CATEGORIES order.
    funding_by_category: tuple[tuple[str, Decimal], ...]
    communities_by_quarter: tuple[CommunityPoint, ...]
    months: tuple[MonthPoint, ...]
    pull_requests_by_quarter: tuple[contribution_rollups.Contributions, ...]
    community_names: dict[str, str]
    funding_by_quarter: tuple[funding_rollups.Funding, ...]
    contracts_by_quarter: tuple[contract_rollups.NewContracts, ...]
    grant: GrantFigures | None = None


def _subawards(grant: Grant, end: date) -> tuple[SubawardFigures, ...]:
    """The grant's subawards with the payments made on or before ``end``: two queries, the sums
    added here as exact decimals (SQLite sums decimals as floats)."""
    paid: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for subaward_id, amount in SubawardPayment.objects.filter(
        subaward__grant=grant, paid_on__isnull=False, paid_on__lte=end
    ).values_list("subaward_id", "amount"):
        paid[subaward_id] += amount
    return tuple(
        SubawardFigures(reference=reference, recipient=recipient, amount=amount, paid=paid[pk])
        for pk, reference, recipient, amount in Subaward.objects.filter(grant=grant)
        .order_by("reference")
        .values_list("pk", "reference", "recipient", "amount")
    )


def _usage(start: date, end: date) -> tuple[tuple[int, int], dict[date, usage_rollups.Usage]]:
    """(communities served, of them historically marginalized) over the range's reading days, and
    the usage figures on each of them."""
    hubs = usage_rollups.hub_facts()
    counts = usage_rollups.hub_active_users(reading_days(start, end))
    served: dict[int, bool] = {}
    figures = {}
    for day, users in counts.items():
        figures[day] = usage_rollups.summarize(day, hubs, users)
        for hub in hubs:
            # The active-hub rule itself, hub by hub: active on that day or not.
            if hub.community_id not in served and usage_rollups.summarize(day, [hub], users).active_hubs:
                served[hub.community_id] = hub.historically_marginalized
    return (len(served), sum(served.values())), figures


def report_figures(*, start: date, end: date, grant: Grant | None = None) -> ReportFigures:
    """The report's figures from ``start`` to ``end`` (both included), and the grant's when given.

    A constant number of queries in the number of rows (see the module docstring); ValueError when
    ``start`` is after ``end``. A missing exchange rate raises ``MissingExchangeRate``.
    """
    if start > end:
        raise ValueError(f"The report's start {start.isoformat()} is after its end {end.isoformat()}.")
    (served, marginalized), usage = _usage(start, end)
    at_end = usage[end]
    quarters = periods_between(start, end, QUARTER)
    months = periods_between(start, end, MONTH)

    facts = contribution_rollups.contribution_facts(start=start, end=end)
    totals = contribution_rollups.totals_from(facts, since=start, as_of=end)
    names = upstream_names()
    by_community: dict[str, int] = defaultdict(int)
    for fact in facts:
        by_community[fact.community] += fact.merged
    pull_requests = sorted(
        ((names.get(slug, slug), merged) for slug, merged in by_community.items()),
        key=lambda pair: (-pair[1], pair[0]),
    )

    staffing = staffing_on({start, *usage})

    rates = RateTable.load()
    # Read once: the funding flows count them, and so does their own chart.
    contracts = contract_rollups.signed_contract_rows(start=start, end=end)
    flows = funding_rollups.funding_flows(start=start, end=end, rates=rates, contracts=contracts)
    gross: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for flow in flows:
        gross[flow.category] += flow.gross

    grant_figures = None
    if grant is not None:
        budget = budget_vs_actual(grants=[grant], as_of=end)[0]
        grant_figures = GrantFigures(grant=grant, budget=budget, subawards=_subawards(grant, end))

    return ReportFigures(
        start=start,
        end=end,
        currency=reporting_currency(),
        communities_served=served,
        historically_marginalized=marginalized,
        monthly_active=at_end.monthly_active,
        weekly_active=at_end.weekly_active,
        active_hubs=at_end.active_hubs,
        merged_pull_requests=totals.merged_pull_requests,
        repositories=totals.repositories,
        pull_requests_by_community=tuple(pull_requests),
        headcount_start=staffing[start].headcount,
        headcount_end=staffing[end].headcount,
        funding_gross=sum((flow.gross for flow in flows), ZERO),
        funding_net=sum((flow.net for flow in flows), ZERO),
        funding_by_category=tuple(
            (category, gross[category])
            for category in funding_rollups.FUNDING_CATEGORIES
            if category in gross
        ),
        communities_by_quarter=tuple(
            CommunityPoint(
                period=quarter.label,
                active=usage[quarter.reading_day(end)].active_communities,
                historically_marginalized=usage[quarter.reading_day(end)].historically_marginalized,
            )
            for quarter in quarters
        ),
        months=tuple(
            MonthPoint(
                period=month.label,
                monthly_active=usage[month.reading_day(end)].monthly_active,
                weekly_active=usage[month.reading_day(end)].weekly_active,
                active_hubs=usage[month.reading_day(end)].active_hubs,
                headcount=staffing[month.reading_day(end)].headcount,
            )
            for month in months
        ),
        pull_requests_by_quarter=tuple(contribution_rollups.by_period(facts, quarters, as_of=end)),
        community_names=names,
        funding_by_quarter=tuple(funding_rollups.by_period(flows, quarters, as_of=end)),
        contracts_by_quarter=tuple(
            contract_rollups.by_period(contracts, quarters, as_of=end, convert=rates.convert)
        ),
        grant=grant_figures,
    )


def report_grants():
    """The grants a report may be generated for: awarded (or awarded and closed), by reference,
    funder joined."""
    return (
        Grant.objects.filter(status__in=funding_rollups.AWARDED_STATUSES)
        .select_related("funder")
        .order_by("reference")
    )
