"""Cloud costs in the rollup store: what the hubs cost, per active user, and each community's margin.

Computed by :func:`cost_values` when :func:`opsite.kpis.rollups.recompute_rollups` runs (a cloud
cost, a hub, a usage sample, a contract or an exchange rate written asks for it through the
recompute signals), and stored as :class:`~opsite.kpis.models.Rollup` rows. The definitions are in
docs/definitions.md ("Cloud costs"); the hub costs are ``communities.cost_rollups``', the
recognized contract value ``contracts.recognition``'s, and the margin, which needs both, is
combined here. Amounts are strings of the reporting currency to the cent; months are from the
first month with a cost to the as-of day's, each point ``complete`` once the as-of day reaches its
last day:

``costs:component-month``
    ``{"currency": "USD", "components": [every component], "points": [{"period": "2024-01",
    "start": "2024-01-01", "end": "2024-01-31", "complete": true, "value": "123.45",
    "groups": {"compute": "100.00", ...every component}}]}``: all costs, hubs' and hub-less;
``costs:hub-month``
    ``{"currency": "USD", "points": [{"period", "start", "end", "complete", "users_on":
    "2024-01-31", "value": "120.45", "unallocated": {"<cluster>": "3.00"}, "hubs": [{"hub":
    "<slug>", "name", "kind", "community": "<slug>", "own": "80.00", "shared": "20.00", "cost":
    "100.00", "active_users": 25, "cost_per_active_user": "4.00" or null}]}]}``: each hub with
    costs of its own that month, by slug; ``value`` adds up their costs; ``unallocated`` is the
    hub-less costs of clusters none of whose hubs had costs; ``users_on`` is the day the 30d
    active users are read (the month's last day, or the as-of day);
``costs:community-month``
    ``{"currency": "USD", "points": [{"period", "start", "end", "complete", "communities":
    [{"community": "<slug>", "name", "revenue": "500.00", "cost": "620.00", "margin":
    "-120.00"}]}]}``: each community with recognized contract value or hub costs that month, by
    slug; the current month's revenue counts its days up to the as-of day;
``state:costs``
    every hub's 30d active users on the month-ends read, for the next recompute.

**Not public.** These keys are for the leadership dashboard alone (:func:`cost_rollups`). The
public API, badges, widgets and the ``/kpis/`` page serve only the keys of the public metrics
(``opsite.kpis.rollups.METRICS``), the KPI block and the histogram; never add a cost metric there.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import astuple, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from communities import cost_rollups as hub_costs
from communities.choices import CostComponent
from contracts import recognition
from funding.currency import RateTable
from opsite.core.cost_columns import CostColumns
from opsite.core.money import ZERO, quantize, reporting_currency
from opsite.core.periods import MONTH, Period, periods_between

from .models import Rollup

COSTS_PREFIX = "costs:"
COMPONENT_MONTH = "costs:component-month"
HUB_MONTH = "costs:hub-month"
COMMUNITY_MONTH = "costs:community-month"
COST_KEYS = (COMPONENT_MONTH, HUB_MONTH, COMMUNITY_MONTH)
STATE_COSTS = "state:costs"
# As the usage state's watermark (opsite.kpis.rollups.WATERMARK_MARGIN): samples written this long
# before the recompute started are looked at again by the next one.
WATERMARK_MARGIN = timedelta(hours=1)


def _money(amount: Decimal) -> str:
    return str(quantize(amount))


def _period(period: Period, as_of: date) -> dict[str, Any]:
    return {**period.as_dict(), "complete": period.end <= as_of}


# --- computing and storing ---------------------------------------------------------------------


def cost_values(as_of: date, rates: RateTable) -> dict[str, Any]:
    """The cost rollups as of ``as_of`` and the state to continue from, by key, ready to store.

    A fixed number of queries whatever the number of hubs, days or contracts: the state, the
    monthly sums (every month the first time, then only the months a cost was written in since, and
    the months still open: ``communities.cost_rollups.cost_sums_incremental``), the hubs,
    the communities, the contracts, a few to tell which usage samples
    changed, and one per two month-ends whose 30d active users are read again (every month with a
    cost on the first run, then only those a changed sample reaches). Raises ``MissingExchangeRate``
    when a cost or contract currency has no rate in effect.

    A month whose inputs are what they were (its sums, its reading day's users, its contracts'
    revenue, the hubs and communities, the rates; see :func:`_month_inputs`) keeps the points the
    last run stored for it: only the months that changed are computed again.
    """
    watermark = timezone.now() - WATERMARK_MARGIN
    state = Rollup.objects.filter(key=STATE_COSTS).values_list("value", flat=True).first() or {}
    sums = hub_costs.cost_sums_incremental(end=as_of, state=state.get("sums"), watermark=watermark)
    first = sums.sums[0].month if sums.sums else None
    months = periods_between(first, as_of, MONTH) if first else []
    users = hub_costs.hub_users_incremental(
        {month.reading_day(as_of) for month in months}, state.get("users"), watermark=watermark
    )
    hubs = hub_costs.hub_labels() if months else {}
    communities = hub_costs.community_labels() if months else {}
    revenue = recognition.recognized_revenue(months, convert=rates.convert, until=as_of)
    shared = _digest(
        [
            reporting_currency(),
            rates.digest(),
            sorted(astuple(label) for label in hubs.values()),
            sorted(astuple(label) for label in communities.values()),
        ]
    )
    inputs = {
        month.start.isoformat(): _digest(
            [
                shared,
                _period(month, as_of),
                month.reading_day(as_of).isoformat(),
                _month_inputs(month, as_of, sums.state, users.state, revenue),
            ]
        )
        for month in months
    }
    kept = _kept_points(state.get("points", {}), inputs)
    todo = [month for month in months if month.start.isoformat() not in kept]
    todo_starts = {month.start for month in todo}
    costs = hub_costs.monthly_costs(
        [row for row in sums.sums if row.month in todo_starts], convert=rates.convert
    )
    computed = {
        month.start.isoformat(): (
            _component_point(month, as_of, costs),
            _hub_point(month, as_of, costs, users.users.get(month.reading_day(as_of), {}), hubs, communities),
            _community_point(month, as_of, costs, revenue, hubs, communities),
        )
        for month in todo
    }
    points = [kept.get(month.start.isoformat()) or computed[month.start.isoformat()] for month in months]
    return {
        COMPONENT_MONTH: {
            "currency": reporting_currency(),
            "components": list(CostComponent.values),
            "points": [point[0] for point in points],
        },
        HUB_MONTH: {"currency": reporting_currency(), "points": [point[1] for point in points]},
        COMMUNITY_MONTH: {"currency": reporting_currency(), "points": [point[2] for point in points]},
        # Nothing to continue from without a cost: the state stays empty.
        STATE_COSTS: {"sums": sums.state, "users": users.state, "points": inputs} if sums.sums else {},
    }


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _month_inputs(
    month: Period,
    as_of: date,
    sums: dict[str, Any],
    users: dict[str, Any],
    revenue: dict[int, dict[date, Decimal]],
) -> list[Any]:
    """What a month's points are computed from, JSON-ready: its sums, its reading day's users, and
    the revenue recognized in it."""
    return [
        sums["months"].get(month.start.isoformat(), []),
        users.get("days", {}).get(month.reading_day(as_of).isoformat(), {}),
        sorted(
            (community, str(by_month[month.start]))
            for community, by_month in revenue.items()
            if month.start in by_month
        ),
    ]


def _kept_points(previous: dict[str, str], inputs: dict[str, str]) -> dict[str, tuple[Any, Any, Any]]:
    """The stored points of the months whose inputs are what the last run computed them from."""
    same = {month for month, digest in inputs.items() if previous.get(month) == digest}
    if not same:
        return {}
    stored = dict(Rollup.objects.filter(key__in=COST_KEYS).values_list("key", "value"))
    by_key = {
        key: {point["start"][:7] + "-01": point for point in stored.get(key, {}).get("points", [])}
        for key in COST_KEYS
    }
    return {
        month: (by_key[COMPONENT_MONTH][month], by_key[HUB_MONTH][month], by_key[COMMUNITY_MONTH][month])
        for month in same
        if all(month in by_key[key] for key in COST_KEYS)
    }


def _component_point(month: Period, as_of: date, costs: hub_costs.MonthlyCosts) -> dict[str, Any]:
    groups = costs.components.get(month.start) or dict.fromkeys(CostComponent.values, ZERO)
    return {
        **_period(month, as_of),
        "value": _money(sum(groups.values(), ZERO)),
        "groups": {component: _money(amount) for component, amount in groups.items()},
    }


def _hub_point(
    month: Period,
    as_of: date,
    costs: hub_costs.MonthlyCosts,
    users: dict[int, int],
    hubs: dict[int, hub_costs.HubLabel],
    communities: dict[int, hub_costs.CommunityLabel],
) -> dict[str, Any]:
    rows = []
    for hub_id, cost in costs.hubs.get(month.start, {}).items():
        label = hubs.get(hub_id)
        community = communities.get(label.community_id) if label else None
        if label is None or community is None:
            # Deleted after its costs were read (its costs first: PROTECT): the recompute its
            # deletion asked for leaves it out.
            continue
        active = users.get(hub_id, 0)
        per_user = hub_costs.cost_per_active_user(cost.cost, active)
        rows.append(
            {
                "hub": label.slug,
                "name": label.name,
                "kind": label.kind,
                "community": community.slug,
                "own": _money(cost.own),
                "shared": _money(cost.shared),
                "cost": _money(cost.cost),
                "active_users": active,
                "cost_per_active_user": None if per_user is None else _money(per_user),
            }
        )
    rows.sort(key=lambda row: row["hub"])
    return {
        **_period(month, as_of),
        "users_on": month.reading_day(as_of).isoformat(),
        "value": _money(sum((Decimal(row["cost"]) for row in rows), ZERO)),
        "unallocated": {
            cluster: _money(amount)
            for cluster, amount in sorted(costs.unallocated.get(month.start, {}).items())
        },
        "hubs": rows,
    }


def _community_point(
    month: Period,
    as_of: date,
    costs: hub_costs.MonthlyCosts,
    revenue: dict[int, dict[date, Decimal]],
    hubs: dict[int, hub_costs.HubLabel],
    communities: dict[int, hub_costs.CommunityLabel],
) -> dict[str, Any]:
    spent: dict[int, Decimal] = defaultdict(Decimal)
    for hub_id, cost in costs.hubs.get(month.start, {}).items():
        if hub_id in hubs:
            spent[hubs[hub_id].community_id] += cost.cost
    earned = {
        community: by_month[month.start] for community, by_month in revenue.items() if month.start in by_month
    }
    rows = []
    for community_id in spent.keys() | earned.keys():
        label = communities.get(community_id)
        if label is None:
            continue
        income, cost = earned.get(community_id, ZERO), spent.get(community_id, ZERO)
        rows.append(
            {
                "community": label.slug,
                "name": label.name,
                "revenue": _money(income),
                "cost": _money(cost),
                "margin": _money(income - cost),
            }
        )
    rows.sort(key=lambda row: row["community"])
    return {**_period(month, as_of), "communities": rows}


# --- reading, for the leadership dashboard -------------------------------------------------------


@dataclass(frozen=True)
class ComponentMonth:
    """All cloud costs of one month, in total and by component (every component, zero included)."""

    period: str
    start: date
    end: date
    complete: bool
    total: Decimal
    by_component: dict[str, Decimal]


@dataclass(frozen=True)
class HubMonthCost:
    """One hub's cost in one month: its own, its share of its cluster's hub-less costs, and per
    30d active user on the month's last day (None when it had none)."""

    hub: str
    name: str
    kind: str
    community: str
    own: Decimal
    shared: Decimal
    cost: Decimal
    active_users: int
    cost_per_active_user: Decimal | None


@dataclass(frozen=True)
class CommunityMargin:
    """A community's recognized contract value, its hubs' cost and the difference, over some months."""

    community: str
    name: str
    revenue: Decimal
    cost: Decimal
    margin: Decimal


@dataclass(frozen=True)
class CostRollups:
    """What the dashboard shows of cloud costs, from the stored rollups (see :func:`cost_rollups`)."""

    currency: str
    computed_at: datetime | None
    components: list[ComponentMonth]
    month: str | None
    costliest_hubs: list[HubMonthCost]
    hubs_without_users: list[HubMonthCost]
    margin_months: list[str]
    negative_margins: list[CommunityMargin]


def _hub_cost(row: dict[str, Any]) -> HubMonthCost:
    per_user = row["cost_per_active_user"]
    return HubMonthCost(
        hub=row["hub"],
        name=row["name"],
        kind=row["kind"],
        community=row["community"],
        own=Decimal(row["own"]),
        shared=Decimal(row["shared"]),
        cost=Decimal(row["cost"]),
        active_users=row["active_users"],
        cost_per_active_user=None if per_user is None else Decimal(per_user),
    )


def cost_rollups(*, hubs: int = 10, months: int = 12) -> CostRollups:
    """The stored cost rollups as the dashboard shows them: one query, never a computation.

    - ``components``: every month's costs by component, oldest first (:class:`ComponentMonth`; the
      current month, not ``complete``, last);
    - ``month``: the last complete month (``"2024-03"``), or None before one has costs; then
      ``costliest_hubs``: that month's ``hubs`` hubs with the highest cost per active user, highest
      first (ties by slug), and ``hubs_without_users``: its hubs with a cost but no 30d active users,
      costliest first (:class:`HubMonthCost`, with the hub's kind: a BinderHub counts sessions);
    - ``margin_months``: the last ``months`` complete months, oldest first, and ``negative_margins``:
      the communities whose margin summed over them is below zero, most negative first (ties by
      slug) (:class:`CommunityMargin`).

    Amounts are ``Decimal`` in ``currency``, the reporting currency. Before the first recompute
    every list is empty.
    """
    rows = list(Rollup.objects.filter(key__in=COST_KEYS).values_list("key", "value", "computed_at"))
    stored = {key: value or {} for key, value, _computed_at in rows}
    computed = [computed_at for _key, _value, computed_at in rows]
    component_points = stored.get(COMPONENT_MONTH, {}).get("points", [])
    hub_points = [point for point in stored.get(HUB_MONTH, {}).get("points", []) if point["complete"]]
    community_points = [
        point for point in stored.get(COMMUNITY_MONTH, {}).get("points", []) if point["complete"]
    ]
    community_points = community_points[-months:] if months > 0 else []
    last = hub_points[-1] if hub_points else None
    month_hubs = [_hub_cost(row) for row in last["hubs"]] if last else []
    costliest = sorted(
        (hub for hub in month_hubs if hub.cost_per_active_user is not None),
        key=lambda hub: (-hub.cost_per_active_user, hub.hub),
    )[:hubs]
    idle = sorted(
        (hub for hub in month_hubs if hub.active_users == 0 and hub.cost > 0),
        key=lambda hub: (-hub.cost, hub.hub),
    )
    return CostRollups(
        currency=stored.get(COMPONENT_MONTH, {}).get("currency", reporting_currency()),
        computed_at=max(computed) if computed else None,
        components=[
            ComponentMonth(
                period=point["period"],
                start=date.fromisoformat(point["start"]),
                end=date.fromisoformat(point["end"]),
                complete=point["complete"],
                total=Decimal(point["value"]),
                by_component={component: Decimal(amount) for component, amount in point["groups"].items()},
            )
            for point in component_points
        ],
        month=last["period"] if last else None,
        costliest_hubs=costliest,
        hubs_without_users=idle,
        margin_months=[point["period"] for point in community_points],
        negative_margins=_negative_margins(community_points),
    )


def _negative_margins(points: list[dict[str, Any]]) -> list[CommunityMargin]:
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    cost: dict[str, Decimal] = defaultdict(Decimal)
    names: dict[str, str] = {}
    for point in points:
        for row in point["communities"]:
            names[row["community"]] = row["name"]
            revenue[row["community"]] += Decimal(row["revenue"])
            cost[row["community"]] += Decimal(row["cost"])
    margins = [
        CommunityMargin(slug, names[slug], revenue[slug], cost[slug], revenue[slug] - cost[slug])
        for slug in names
        if revenue[slug] - cost[slug] < 0
    ]
    return sorted(margins, key=lambda row: (row.margin, row.community))


def cost_columns(*, months: int = 12) -> CostColumns:
    """The community and hub lists' cost columns (``opsite.core.cost_columns``): each hub's cost,
    each community's cost and margin, summed over the last ``months`` complete months, the months
    of ``negative_margins`` above. One query; empty before the first recompute."""
    stored = dict(Rollup.objects.filter(key__in=(HUB_MONTH, COMMUNITY_MONTH)).values_list("key", "value"))
    community_points = [
        point for point in (stored.get(COMMUNITY_MONTH) or {}).get("points", []) if point["complete"]
    ]
    community_points = community_points[-months:] if months > 0 else []
    periods = {point["period"] for point in community_points}
    hub_cost: dict[str, Decimal] = defaultdict(Decimal)
    for point in (stored.get(HUB_MONTH) or {}).get("points", []):
        if point["period"] in periods:
            for row in point["hubs"]:
                hub_cost[row["hub"]] += Decimal(row["cost"])
    community_cost: dict[str, Decimal] = defaultdict(Decimal)
    community_margin: dict[str, Decimal] = defaultdict(Decimal)
    for point in community_points:
        for row in point["communities"]:
            community_cost[row["community"]] += Decimal(row["cost"])
            community_margin[row["community"]] += Decimal(row["margin"])
    return CostColumns(
        currency=(stored.get(COMMUNITY_MONTH) or {}).get("currency", reporting_currency()),
        months=[point["period"] for point in community_points],
        hub_cost=dict(hub_cost),
        community_cost=dict(community_cost),
        community_margin=dict(community_margin),
    )
