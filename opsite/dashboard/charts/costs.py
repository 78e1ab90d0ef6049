"""The cloud cost charts (docs/definitions.md "Cloud costs"): where the money goes.

Each reads the stored cost rollups (:func:`opsite.kpis.costs.cost_rollups`), never the costs
themselves: costs by component month by month, the hubs costing most per active user in the last
complete month (coloured by hub kind, since a BinderHub counts sessions rather than people), and
the communities whose hubs cost more than their contracts bring over the last twelve complete
months.
"""

from __future__ import annotations

from decimal import Decimal

from communities.choices import CostComponent, HubKind
from opsite.core.formatting import format_money
from opsite.kpis.costs import CostRollups

from ..cells import COUNT, MONEY, TEXT
from .base import PALETTE, Chart, _colour, _layout, _money_axis, money_note

COMPONENT_LABELS = dict(CostComponent.choices)
KIND_LABELS = dict(HubKind.choices)


def component_costs_chart(costs: CostRollups) -> Chart:
    components = list(CostComponent.values)
    points = costs.components
    x = [point.period for point in points]
    traces = [
        {
            "type": "bar",
            "name": COMPONENT_LABELS[component],
            "x": x,
            "y": [str(point.by_component.get(component, Decimal(0))) for point in points],
            "marker": {"color": _colour(index, PALETTE)},
        }
        for index, component in enumerate(components)
    ]
    rows = [
        [
            point.period,
            *(point.by_component.get(component, Decimal(0)) for component in components),
            point.total,
        ]
        for point in points
    ]
    notes = [money_note()]
    if points and not points[-1].complete:
        notes.append(f"{points[-1].period} is the current month: its costs so far.")
    return Chart(
        slug="costs-components",
        title="Cloud costs by component",
        caption=f"Cloud costs per month by component, every cluster's, hubs' and shared alike. {money_note()}",
        headers=["Month", *(COMPONENT_LABELS[component] for component in components), "Total"],
        rows=rows,
        formats=[TEXT, *(MONEY for _ in components), MONEY],
        figure={
            "data": traces,
            "layout": _layout(barmode="stack", yaxis=_money_axis("Per month"), xaxis={"type": "category"}),
        },
        notes=notes,
    )


# A bar's name on the axis, at most this many characters: the full name is in its hover and the
# table. Hub and community names run to 50 characters, which on a phone left the bars no room.
AXIS_LABEL_LENGTH = 24


def _category_axis(names: list[str]) -> dict:
    """A category axis whose labels are ``names`` cut to :data:`AXIS_LABEL_LENGTH` characters."""
    short = [
        name if len(name) <= AXIS_LABEL_LENGTH else f"{name[: AXIS_LABEL_LENGTH - 1].rstrip()}…"
        for name in names
    ]
    return {"type": "category", "automargin": True, "tickmode": "array", "tickvals": names, "ticktext": short}


def cost_per_user_chart(costs: CostRollups) -> Chart:
    hubs = costs.costliest_hubs
    kinds = sorted({hub.kind for hub in hubs})
    # One trace per kind, so the legend says which colour is which kind; highest at the top.
    ordered = list(reversed(hubs))
    traces = [
        {
            "type": "bar",
            "orientation": "h",
            "name": KIND_LABELS.get(kind, kind),
            "y": [hub.name for hub in ordered if hub.kind == kind],
            "x": [str(hub.cost_per_active_user) for hub in ordered if hub.kind == kind],
            "marker": {"color": _colour(index, PALETTE)},
        }
        for index, kind in enumerate(kinds)
    ]
    rows = [
        [
            hub.name,
            KIND_LABELS.get(hub.kind, hub.kind),
            hub.community,
            hub.cost,
            hub.active_users,
            hub.cost_per_active_user,
        ]
        for hub in hubs
    ]
    month = costs.month or ""
    notes = (
        [f"Month: {month}. A hub's cost includes its share of its cluster's shared costs."] if month else []
    )
    if costs.hubs_without_users:
        idle = ", ".join(
            f"{hub.name} ({format_money(hub.cost, costs.currency, whole=True)})"
            for hub in costs.hubs_without_users
        )
        notes.append(f"Hubs with a cost and no active users that month: {idle}.")
    return Chart(
        slug="costs-per-user",
        title="Highest cloud cost per active user",
        caption=(
            f"The hubs with the highest cloud cost per 30-day active user in {month or 'the last complete month'}, "
            f"by hub kind. {money_note()}"
        ),
        headers=["Hub", "Kind", "Community", "Cost", "Active users (30 days)", "Cost per active user"],
        rows=rows,
        formats=[TEXT, TEXT, TEXT, MONEY, COUNT, MONEY],
        figure={
            "data": traces,
            "layout": _layout(
                barmode="stack",
                xaxis=_money_axis("Per active user"),
                yaxis=_category_axis([hub.name for hub in ordered]),
            ),
        },
        notes=notes,
    )


def negative_margin_chart(costs: CostRollups) -> Chart:
    # A community with no contract in these months has a negative margin by definition: hosting it
    # is a choice, not a contract gone wrong. Those paying are charted; the rest are summed in a note.
    communities = [community for community in costs.negative_margins if community.revenue > 0]
    hosted = [community for community in costs.negative_margins if community.revenue <= 0]
    span = f"{costs.margin_months[0]} to {costs.margin_months[-1]}" if costs.margin_months else ""
    ordered = list(reversed(communities))
    traces = [
        {
            "type": "bar",
            "orientation": "h",
            "name": "Margin",
            "y": [community.name for community in ordered],
            "x": [str(community.margin) for community in ordered],
            "marker": {"color": "#b3471b"},
        }
    ]
    rows = [
        [community.name, community.revenue, community.cost, community.margin] for community in communities
    ]
    notes = (
        [
            f"Months: {span}. Margin: the community's signed contracts' value, spread evenly over their "
            "days, minus the cloud cost of its hubs."
        ]
        if span
        else []
    )
    if hosted:
        total = sum((community.cost for community in hosted), Decimal(0))
        notes.append(
            f"Not charted: {len(hosted)} communities with no contract in these months, whose hubs cost "
            f"{format_money(total, costs.currency, whole=True)} in all."
        )
    return Chart(
        slug="costs-margins",
        title="Communities whose hubs cost more than they pay",
        caption=f"Communities under contract with a negative margin over the last 12 complete months. {money_note()}",
        headers=["Community", "Contract revenue", "Hub cost", "Margin"],
        rows=rows,
        formats=[TEXT, MONEY, MONEY, MONEY],
        figure={
            "data": traces if communities else [],
            "layout": _layout(
                xaxis=_money_axis("Margin"), yaxis=_category_axis([community.name for community in ordered])
            ),
        },
        notes=notes,
    )
