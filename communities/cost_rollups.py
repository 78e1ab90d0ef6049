"""What the hubs cost: monthly sums in the database, the shares of hub-less costs in one pass.

The definitions of docs/definitions.md ("Cloud costs"), each implemented once here:

- the **cost of a hub in month m** is its own costs plus a share of its cluster's costs with no
  hub, in proportion to its own costs in that cluster that month; a hub with no costs of its own
  gets no share, and a cluster's hub-less costs in a month when none of its hubs had costs of their
  own are **unallocated** (kept apart, so the month still adds up);
- the **cost per active user** is that cost divided by the hub's 30d active users on the month's
  last day (the as-of day for the current month), null when they are 0.

Amounts are summed in their currency, per month, then converted to the reporting currency at the
rate in effect on the month's last day; the conversion is passed in (``funding.currency``'s
``RateTable.convert``), since ``communities`` imports no other app.

The database does the heavy part: one ``GROUP BY`` (month, cluster, hub, component, currency)
reads every cost once, whatever the number of hubs or days, and returns a row per group; the
shares are computed from those rows in one pass (:func:`monthly_costs`, pure). The hubs' 30d
active users on each month-end come from the usage rollup (:func:`communities.rollups.hub_active_users`,
one query per two month-ends whatever the number of hubs), read again only for the month-ends
whose samples changed since the last run (:func:`hub_users_incremental`).

Costs dated outside the plausible range (``opsite.core.dates``) are left out and counted by
:func:`implausible_rows` for the data-quality report.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from functools import reduce
from typing import Any

from django.db.models import F, Q, Sum
from django.db.models.functions import TruncMonth

from opsite.core.dates import plausible_range
from opsite.core.deletions import deleted_since
from opsite.core.money import CENT, ZERO, quantize
from opsite.core.periods import MONTH, month_end, periods_between

from . import rollups as usage_rollups
from .choices import CostComponent
from .models import CloudCost, Community, Hub

# The label the deletions of costs are stamped under (``opsite.core.deletions``).
COST_LABEL = "communities.CloudCost"
# (amount, currency, date) -> the amount in the reporting currency on that date.
Convert = Callable[[Decimal, str, date], Decimal]


class MonthStart(TruncMonth):
    """The first day of a date's month, as ``TruncMonth`` but native on SQLite.

    Django answers ``TruncMonth`` on SQLite with a Python function called once per row, three
    times slower on a million costs than ``substr`` on the ISO text SQLite stores dates as.
    PostgreSQL (and any other database) keeps ``TruncMonth``'s ``DATE_TRUNC``.
    """

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.lhs)
        return f"(substr({sql}, 1, 7) || '-01')", params


@dataclass(frozen=True)
class CostSum:
    """The costs of one month, cluster, hub (None: the cluster's own), component and currency."""

    month: date
    cluster: str
    hub_id: int | None
    component: str
    currency: str
    amount: Decimal


def _plausible_q() -> Q:
    return Q(date__range=plausible_range())


def implausible_rows() -> dict[str, int]:
    """How many costs the rollups leave out for a date outside the plausible range: one query, two
    short ranges of the (date, ...) unique index, never the whole table."""
    first, last = plausible_range()
    left_out = CloudCost.objects.filter(Q(date__lt=first) | Q(date__gt=last)).count()
    return {"communities.CloudCost": left_out}


def monthly_cost_sums(*, end: date, months: Iterable[date] | None = None) -> list[CostSum]:
    """Every cost dated up to ``end``, summed by month, cluster, hub, component and currency: one
    query, one pass over the costs, whatever the number of hubs or days. With ``months`` (first
    days), only the costs of those months: ranges of the (date, ...) unique index.

    SQLite sums decimal columns as floats; Django rounds each sum back to the cent, which is exact
    for sums of cents far beyond any cloud bill (a double holds 15 significant digits).
    """
    first, last = plausible_range()
    costs = CloudCost.objects.filter(date__range=(first, min(end, last)))
    if months is not None:
        ranges = _month_ranges(months)
        if not ranges:
            return []
        costs = costs.filter(reduce(operator.or_, (Q(date__range=span) for span in ranges)))
    # Every key an expression, so that the GROUP BY lists them in this order, the month first:
    # SQLite's sorter then compares fewer columns (a tenth of the query's time on a million costs).
    keys = {
        "month": MonthStart("date"),
        "on_cluster": F("cluster"),
        "of_hub": F("hub_id"),
        "of_component": F("component"),
        "in_currency": F("currency"),
    }
    rows = costs.order_by().values(**keys).annotate(amount=Sum("amount")).values_list(*keys, "amount")
    sums = [CostSum(*row[:5], quantize(row[5])) for row in rows]
    return sorted(sums, key=_sort_key)


def _month_ranges(months: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive months (first days) merged into (first day, last day) ranges, in order."""
    ranges: list[tuple[date, date]] = []
    for month in sorted(set(months)):
        if ranges and ranges[-1][1] + timedelta(days=1) == month:
            ranges[-1] = (ranges[-1][0], month_end(month))
        else:
            ranges.append((month, month_end(month)))
    return ranges


@dataclass(frozen=True)
class CostSumsRun:
    """The monthly sums up to an end day, the state to continue from, and how many months were
    summed again."""

    sums: list[CostSum]
    state: dict[str, Any]
    months_read: int


def _sort_key(row: CostSum) -> tuple:
    return (row.month, row.cluster, row.hub_id or 0, row.component, row.currency)


def _continued(
    state: dict[str, Any] | None, *, end: date
) -> tuple[dict[date, list[CostSum]], set[date]] | None:
    """What of ``state`` still holds: its months still true, and the months to sum again; None to
    start over (no state, another plausible range, or a cost deleted since its watermark).

    A month is kept while it was complete by the previous end day and by ``end``, and no cost in
    it was written at or after the watermark (an indexed range on ``updated_at``). Summed again:
    the months such a cost was written in, and every month not complete by both end days.
    """
    span = [day.isoformat() for day in plausible_range()]
    if not state or "months" not in state or state.get("range") != span:
        return None
    watermark = datetime.fromisoformat(state["watermark"])
    if deleted_since(COST_LABEL, watermark):
        # Where the deleted costs were is unknown: every month is summed again.
        return None
    changed = set(
        CloudCost.objects.filter(updated_at__gte=watermark)
        .order_by()
        .values_list(MonthStart("date"), flat=True)
        .distinct()
    )
    complete_by = min(date.fromisoformat(state["end"]), end)
    kept = {}
    for iso, rows in state["months"].items():
        month = date.fromisoformat(iso)
        if month not in changed and month_end(month) <= complete_by:
            kept[month] = [CostSum(month, *row[:4], Decimal(row[4])) for row in rows]
    # The first month not complete by both end days, then every one up to ``end``'s.
    open_from = (complete_by + timedelta(days=1)).replace(day=1)
    still_open = (
        {period.start for period in periods_between(open_from, end, MONTH)} if open_from <= end else set()
    )
    return kept, (changed | still_open) - kept.keys()


def cost_sums_incremental(*, end: date, state: dict[str, Any] | None, watermark: datetime) -> CostSumsRun:
    """:func:`monthly_cost_sums` up to ``end``, continuing from ``state`` (what a previous run
    returned, or None): only the months a cost written since may change, and those not complete
    then, are summed again (:func:`_continued`); every month when a cost was deleted since
    (``opsite.core.deletions``). ``watermark`` is recorded for the next run: a moment safely
    before this one started reading.

    Two queries when nothing changed (whether a cost was deleted, which months were written in),
    one more to sum the months read again: never a pass over every cost once the state holds.
    """
    continued = _continued(state, end=end)
    if continued is None:
        sums = monthly_cost_sums(end=end)
        read = len({row.month for row in sums})
    else:
        kept, todo = continued
        fresh = monthly_cost_sums(end=end, months=todo) if todo else []
        sums = sorted([*(row for rows in kept.values() for row in rows), *fresh], key=_sort_key)
        read = len(todo)
    months: dict[str, list[list[Any]]] = {}
    for row in sums:
        months.setdefault(row.month.isoformat(), []).append(
            [row.cluster, row.hub_id, row.component, row.currency, str(row.amount)]
        )
    new_state = {
        "watermark": watermark.isoformat(),
        "end": end.isoformat(),
        "range": [day.isoformat() for day in plausible_range()],
        "months": months,
    }
    return CostSumsRun(sums=sums, state=new_state, months_read=read)


# --- the shares, in one pass (pure) -----------------------------------------------------------


def shares(pool: Decimal, weights: Mapping[Any, Decimal]) -> dict[Any, Decimal]:
    """``pool`` split in proportion to ``weights``, to the cent, adding up to ``pool`` exactly.

    Each key gets its proportional cents rounded down, and the cents left over go one each to the
    keys with the largest remainders (ties to the smaller key): the largest remainder method. A key
    of weight 0 gets nothing; when every weight is 0 nobody gets anything (an empty answer).
    """
    total = sum(weights.values(), ZERO)
    if total <= 0:
        return {}
    cents = int(quantize(pool) / CENT)
    exact = {key: Decimal(cents) * weight / total for key, weight in weights.items()}
    floors = {key: int(value.to_integral_value(rounding=ROUND_FLOOR)) for key, value in exact.items()}
    left = cents - sum(floors.values())
    for key in sorted(exact, key=lambda key: (floors[key] - exact[key], key))[:left]:
        floors[key] += 1
    return {key: Decimal(count) * CENT for key, count in floors.items()}


@dataclass(frozen=True)
class HubCost:
    """A hub's cost in one month, in the reporting currency: its own, its share of its cluster's."""

    own: Decimal
    shared: Decimal

    @property
    def cost(self) -> Decimal:
        return self.own + self.shared


@dataclass(frozen=True)
class MonthlyCosts:
    """The costs of every month that has some, in the reporting currency, by first day of month.

    ``hubs``: each hub with costs of its own that month; ``unallocated``: by cluster, the hub-less
    costs of a cluster none of whose hubs had costs of their own; ``components``: every component,
    zero included, of all costs (hubs' and hub-less).
    """

    hubs: dict[date, dict[int, HubCost]]
    unallocated: dict[date, dict[str, Decimal]]
    components: dict[date, dict[str, Decimal]]

    @property
    def months(self) -> list[date]:
        return sorted(self.components)


def monthly_costs(sums: Iterable[CostSum], *, convert: Convert) -> MonthlyCosts:
    """Apply the definitions to the monthly sums (a pure function, one pass).

    Each sum of a hub and cluster, of a cluster's hub-less costs, and of a component, in one
    currency, is converted once, at the month's last day; the shares are then split in the
    reporting currency, so a cluster's hub-less costs are shared to the cent.
    """
    own: dict[tuple[date, str, int], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    hubless: dict[tuple[date, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    by_component: dict[tuple[date, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in sums:
        if row.hub_id is None:
            hubless[row.month, row.cluster][row.currency] += row.amount
        else:
            own[row.month, row.cluster, row.hub_id][row.currency] += row.amount
        by_component[row.month, row.component][row.currency] += row.amount

    month_ends: dict[date, date] = {}

    def converted(month: date, amounts: Mapping[str, Decimal]) -> Decimal:
        on = month_ends.get(month) or month_ends.setdefault(month, month_end(month))
        if len(amounts) == 1:  # one currency: the common case, a call per hub and month
            ((currency, amount),) = amounts.items()
            return convert(amount, currency, on)
        return sum((convert(amount, currency, on) for currency, amount in sorted(amounts.items())), ZERO)

    components: dict[date, dict[str, Decimal]] = {}
    for (month, component), amounts in by_component.items():
        totals = components.setdefault(month, dict.fromkeys(CostComponent.values, ZERO))
        totals[component] = totals.get(component, ZERO) + converted(month, amounts)

    # Own costs by cluster and month, then each cluster's hub-less costs split among its hubs.
    by_cluster: dict[tuple[date, str], dict[int, Decimal]] = defaultdict(dict)
    own_costs: dict[date, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for (month, cluster, hub_id), amounts in own.items():
        amount = converted(month, amounts)
        by_cluster[month, cluster][hub_id] = amount
        own_costs[month][hub_id] += amount
    shared: dict[date, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    unallocated: dict[date, dict[str, Decimal]] = defaultdict(dict)
    for (month, cluster), amounts in hubless.items():
        pool = converted(month, amounts)
        split = shares(pool, by_cluster.get((month, cluster), {}))
        if not split and pool:
            unallocated[month][cluster] = pool
        for hub_id, share in split.items():
            shared[month][hub_id] += share
    return MonthlyCosts(
        hubs={
            month: {
                hub_id: HubCost(own=amount, shared=shared[month][hub_id]) for hub_id, amount in hubs.items()
            }
            for month, hubs in own_costs.items()
        },
        unallocated=dict(unallocated),
        components=components,
    )


def cost_per_active_user(cost: Decimal, users: int) -> Decimal | None:
    """A hub's cost divided by its 30d active users, to the cent; None when it has none."""
    return quantize(cost / users) if users else None


# --- the hubs and communities named --------------------------------------------------------------


@dataclass(frozen=True)
class HubLabel:
    id: int
    slug: str
    name: str
    kind: str
    community_id: int


@dataclass(frozen=True)
class CommunityLabel:
    id: int
    slug: str
    name: str


def hub_labels() -> dict[int, HubLabel]:
    """Every hub's slug, name, kind and community, by id: one query."""
    rows = Hub.objects.order_by("pk").values_list("pk", "slug", "name", "kind", "community_id")
    return {row[0]: HubLabel(*row) for row in rows}


def community_labels() -> dict[int, CommunityLabel]:
    """Every community's slug and name, by id: one query."""
    rows = Community.objects.order_by("pk").values_list("pk", "slug", "name")
    return {row[0]: CommunityLabel(*row) for row in rows}


# --- the 30d active users on month-ends, incrementally -------------------------------------------


@dataclass(frozen=True)
class HubUsersRun:
    """Every hub's 30d active users on each day asked for (hubs with none left out), the state to
    continue from next time, and how many days were read."""

    users: dict[date, dict[int, int]]
    state: dict[str, Any]
    days_read: int


def _still_valid(state: dict[str, Any] | None, days: set[date]) -> dict[date, dict[int, int]]:
    if not state or "watermark" not in state:
        return {}
    watermark = datetime.fromisoformat(state["watermark"])
    if usage_rollups.samples_deleted_since(watermark):
        # Samples were deleted (a hub too, maybe): where is unknown, so every day is read again.
        return {}
    changed = usage_rollups.changed_sample_dates(watermark)
    affected = usage_rollups.days_affected_by(*changed) if changed else None
    valid = {}
    for iso, users in state["days"].items():
        day = date.fromisoformat(iso)
        if day in days and not (affected and affected[0] <= day <= affected[1]):
            valid[day] = {int(hub_id): count for hub_id, count in users.items()}
    return valid


def hub_users_incremental(
    days: Iterable[date], state: dict[str, Any] | None, *, watermark: datetime
) -> HubUsersRun:
    """Every hub's 30d active users on ``days``, reading again only the days a sample written since
    ``state`` (what a previous run returned, or None) may change; ``watermark`` is recorded for the
    next run, a moment safely before this one started reading (as ``usage_incremental``'s).

    A few queries to tell what changed, and one per two days read, whatever the number of hubs.
    """
    days = set(days)
    if not days:
        return HubUsersRun(users={}, state={}, days_read=0)
    users = _still_valid(state, days)
    todo = days - users.keys()
    for day, counts in usage_rollups.hub_active_users(todo).items():
        users[day] = {hub_id: figures.monthly for hub_id, figures in counts.items() if figures.monthly}
    new_state = {
        "watermark": watermark.isoformat(),
        "days": {
            day.isoformat(): {str(hub): count for hub, count in users[day].items()} for day in sorted(users)
        },
    }
    return HubUsersRun(users=users, state=new_state, days_read=len(todo))
