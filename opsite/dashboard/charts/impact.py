"""The impact charts: funding, contracts, communities, usage, pull requests, the team."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from contracts.choices import ContractCategory
from funding.choices import GrantCategory
from staff.choices import Team

from ..cells import COUNT, DECIMAL, MONEY, PERCENT, TEXT
from ..selectors import DashboardData
from ..summary import format_day
from .base import (
    CONTRACT_LABELS,
    FUNDING_LABELS,
    HUNDRED,
    PALETTE,
    QUARTER_AXIS,
    RIGHT_AXIS_MARGIN,
    TEAM_LABELS,
    Chart,
    _colour,
    _layout,
    _money_axis,
    money_note,
)


def _groups(points: Sequence[dict[str, Any]], order: Sequence[str], key: str = "groups") -> list[str]:
    """The group keys present in a series, in the given order first, any others after."""
    present = {name for point in points for name in point.get(key, {})}
    return [name for name in order if name in present] + sorted(present - set(order))


def _stacked(
    points: Sequence[dict[str, Any]],
    groups: Sequence[str],
    labels: Callable[[str], str],
    key: str = "groups",
) -> list[dict[str, Any]]:
    x = [point["period"] for point in points]
    return [
        {
            "type": "bar",
            "name": labels(group),
            "x": x,
            "y": [point[key].get(group, 0) for point in points],
            "marker": {"color": _colour(index)},
        }
        for index, group in enumerate(groups)
    ]


def funding_chart(points: Sequence[dict[str, Any]]) -> Chart:
    groups = _groups(points, [*GrantCategory.values, "service_contract"])
    label = lambda group: FUNDING_LABELS.get(group, group)  # noqa: E731
    return Chart(
        slug="funding",
        title="Funding brought in per quarter",
        caption=f"Funding brought in per quarter by category (gross), with the net total. {money_note()}",
        headers=["Quarter", *(label(group) for group in groups), "Total (gross)", "Total (net)"],
        formats=[TEXT, *(MONEY for _ in groups), MONEY, MONEY],
        rows=[
            [
                point["period"],
                *(point["groups"].get(group, "0.00") for group in groups),
                point["value"],
                point.get("net", ""),
            ]
            for point in points
        ],
        figure={
            "data": _stacked(points, groups, label),
            "layout": _layout(barmode="stack", yaxis=_money_axis("Gross"), xaxis=QUARTER_AXIS),
        },
    )


def contracts_chart(points: Sequence[dict[str, Any]]) -> Chart:
    groups = _groups(points, ContractCategory.values)
    label = lambda group: CONTRACT_LABELS.get(group, group)  # noqa: E731
    return Chart(
        slug="contracts",
        title="New service contracts per quarter",
        caption=f"Service contracts signed per quarter, by category, with their total value. {money_note()}",
        headers=["Quarter", *(label(group) for group in groups), "New contracts", "Total value"],
        formats=[TEXT, *(COUNT for _ in groups), COUNT, MONEY],
        rows=[
            [
                point["period"],
                *(point["groups"].get(group, 0) for group in groups),
                point["value"],
                point.get("total_value", ""),
            ]
            for point in points
        ],
        figure={
            "data": _stacked(points, groups, label),
            "layout": _layout(
                barmode="stack",
                yaxis={"title": {"text": "Contracts"}, "type": "linear"},
                xaxis=QUARTER_AXIS,
            ),
        },
    )


def _share(part: int, whole: int) -> Decimal | None:
    return (HUNDRED * part / whole).quantize(Decimal("0.1")) if whole else None


def communities_chart(points: Sequence[dict[str, Any]]) -> Chart:
    x = [point["period"] for point in points]
    marginalized = [point["groups"].get("historically_marginalized", 0) for point in points]
    other = [point["groups"].get("other", 0) for point in points]
    shares = [_share(m, point["value"]) for m, point in zip(marginalized, points, strict=True)]
    return Chart(
        slug="communities",
        title="Active communities per year",
        caption="Active communities at the end of each year, and the historically marginalized share.",
        headers=[
            "Year",
            "Active communities",
            "Historically marginalized",
            "Other",
            "Marginalized share (%)",
        ],
        formats=[TEXT, COUNT, COUNT, COUNT, PERCENT],
        rows=[
            [point["period"], point["value"], m, o, share]
            for point, m, o, share in zip(points, marginalized, other, shares, strict=True)
        ],
        figure={
            "data": [
                {
                    "type": "bar",
                    "name": "Historically marginalized",
                    "x": x,
                    "y": marginalized,
                    "marker": {"color": PALETTE[0]},
                },
                {"type": "bar", "name": "Other", "x": x, "y": other, "marker": {"color": "#9db4cc"}},
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": "Marginalized share (%)",
                    "x": x,
                    "y": [None if share is None else str(share) for share in shares],
                    "yaxis": "y2",
                    "line": {"color": PALETTE[2]},
                },
            ],
            "layout": _layout(
                barmode="stack",
                xaxis={"type": "category"},
                yaxis={"title": {"text": "Communities"}, "type": "linear"},
                yaxis2={
                    "title": {"text": "Share"},
                    "overlaying": "y",
                    "side": "right",
                    "range": [0, 100],
                    "type": "linear",
                    "tickmode": "linear",
                    "dtick": 25,
                    "ticksuffix": "%",
                    "showgrid": False,
                },
                margin=RIGHT_AXIS_MARGIN,
            ),
        },
    )


def usage_chart(hubs: Sequence[dict], monthly: Sequence[dict], weekly: Sequence[dict]) -> Chart:
    values: dict[str, dict[str, int]] = {}
    for name, points in (("hubs", hubs), ("mau", monthly), ("wau", weekly)):
        for point in points:
            values.setdefault(point["period"], {})[name] = point["value"]
    months = sorted(values)
    x = months
    return Chart(
        slug="usage",
        title="Active hubs and users per month",
        caption="Active hubs, monthly active users (MAU) and weekly active users (WAU) at the end of each month.",
        headers=["Month", "Active hubs", "Monthly active users", "Weekly active users"],
        formats=[TEXT, COUNT, COUNT, COUNT],
        rows=[
            [month, values[month].get("hubs"), values[month].get("mau"), values[month].get("wau")]
            for month in months
        ],
        figure={
            "data": [
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": "Monthly active users",
                    "x": x,
                    "y": [values[m].get("mau") for m in months],
                    "line": {"color": PALETTE[0]},
                },
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": "Weekly active users",
                    "x": x,
                    "y": [values[m].get("wau") for m in months],
                    "line": {"color": PALETTE[1]},
                },
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": "Active hubs",
                    "x": x,
                    "y": [values[m].get("hubs") for m in months],
                    "yaxis": "y2",
                    "line": {"color": PALETTE[2], "dash": "dash"},
                },
            ],
            "layout": _layout(
                xaxis={"type": "category", "nticks": 12},
                yaxis={"title": {"text": "Users"}, "type": "linear", "rangemode": "tozero"},
                yaxis2={
                    "title": {"text": "Hubs"},
                    "overlaying": "y",
                    "side": "right",
                    "type": "linear",
                    "rangemode": "tozero",
                    "tickmode": "auto",
                    "showgrid": False,
                },
                margin=RIGHT_AXIS_MARGIN,
            ),
        },
    )


def pull_requests_chart(points: Sequence[dict[str, Any]], names: Mapping[str, str]) -> Chart:
    """``names``: the upstream communities' names by slug (the series stores slugs); a community
    deleted since the recompute keeps its slug."""
    groups = _groups(points, [])
    label = lambda group: names.get(group, group)  # noqa: E731
    return Chart(
        slug="pull-requests",
        title="Upstream pull requests per quarter",
        caption="Counted upstream pull requests merged per quarter, by upstream community.",
        headers=["Quarter", *(label(group) for group in groups), "Total", "Repositories"],
        formats=[TEXT, *(COUNT for _ in groups), COUNT, COUNT],
        rows=[
            [
                point["period"],
                *(point["groups"].get(group, 0) for group in groups),
                point["value"],
                point.get("repositories", ""),
            ]
            for point in points
        ],
        figure={
            "data": _stacked(points, groups, label),
            "layout": _layout(
                barmode="stack",
                xaxis=QUARTER_AXIS,
                yaxis={"title": {"text": "Pull requests"}, "type": "linear"},
            ),
        },
    )


def team_chart(data: DashboardData) -> Chart:
    staffing = data.staffing
    teams = [team for team in Team.values if staffing.by_team.get(team) and staffing.by_team[team].headcount]
    labels = [TEAM_LABELS[team] for team in teams]
    rows = [
        [TEAM_LABELS[team], staffing.by_team[team].headcount, staffing.by_team[team].fte] for team in teams
    ]
    if rows:
        rows.append(["All teams", staffing.headcount, staffing.fte])
    return Chart(
        slug="team",
        title="Headcount and FTE by team",
        caption=f"Headcount and full-time equivalents by team on {format_day(staffing.day)}.",
        headers=["Team", "Headcount", "FTE"],
        formats=[TEXT, COUNT, DECIMAL],
        rows=rows,
        figure={
            "data": [
                {
                    "type": "bar",
                    "name": "Headcount",
                    "x": labels,
                    "y": [staffing.by_team[t].headcount for t in teams],
                    "marker": {"color": PALETTE[0]},
                },
                {
                    "type": "bar",
                    "name": "FTE",
                    "x": labels,
                    "y": [str(staffing.by_team[t].fte) for t in teams],
                    "marker": {"color": PALETTE[1]},
                },
            ],
            "layout": _layout(
                barmode="group",
                xaxis={"type": "category"},
                yaxis={"title": {"text": "People"}, "type": "linear"},
            ),
        },
    )
