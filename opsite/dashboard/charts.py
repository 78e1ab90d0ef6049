"""The dashboard's charts: each a Plotly figure and the table of the same numbers.

One function per chart turns selector output into a :class:`Chart`: the figure (plain dicts that
``Plotly.newPlot`` takes; money as decimal strings, which the page's script turns into numbers)
and the rows its accessible table and its CSV download show. Figure and table come from the same
rows, so what is drawn is what is downloaded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from contracts.choices import ContractCategory
from funding.choices import GrantCategory
from funding.runway import IN_SOURCES, OUT_SOURCES
from staff.choices import Team

from .selectors import DashboardData, HistoryPoint, ScenarioRunway
from .summary import comfort_floor_on, comfort_months

SCENARIO_COLOURS = ("#1f5f99", "#b3471b", "#2e7d32", "#6a3d9a", "#8a6d0b", "#0f7c84")
SOURCE_COLOURS = {
    "in:contracts": "#2e7d32",
    "in:grants": "#1f5f99",
    "in:adjustments": "#7cb87f",
    "out:payroll": "#b3471b",
    "out:expenses": "#d9912b",
    "out:subawards": "#6a3d9a",
    "out:adjustments": "#d98080",
}
PALETTE = ("#1f5f99", "#2e7d32", "#b3471b", "#6a3d9a", "#d9912b", "#0f7c84", "#8a6d0b", "#c2185b", "#5d6d7e")
FUNDING_LABELS = {**dict(GrantCategory.choices), "service_contract": "Service contracts"}
CONTRACT_LABELS = dict(ContractCategory.choices)
TEAM_LABELS = dict(Team.choices)
SOURCE_LABELS = {
    "contracts": "contracts",
    "grants": "grants",
    "adjustments": "adjustments",
    "payroll": "payroll",
    "expenses": "expenses",
    "subawards": "subawards",
}
HUNDRED = Decimal(100)
MARGIN = {"l": 64, "r": 24, "t": 12, "b": 48}
# Room for a second axis's tick labels on the right.
RIGHT_AXIS_MARGIN = {**MARGIN, "r": 64}
QUARTER_AXIS = {"type": "category", "nticks": 10, "tickangle": -45}


@dataclass
class Chart:
    """One chart: its figure, and the table (headers, rows) of the numbers it draws."""

    slug: str
    title: str
    caption: str
    headers: list[str]
    rows: list[list[Any]]
    figure: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.rows


def _layout(**extra: Any) -> dict[str, Any]:
    layout = {
        "margin": MARGIN,
        "legend": {"orientation": "h", "y": -0.18},
        "hovermode": "x unified",
        "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
    }
    layout.update(extra)
    return layout


def _money_axis(title: str = "") -> dict[str, Any]:
    return {"title": {"text": title}, "type": "linear", "tickformat": "~s", "zeroline": True}


def _colour(index: int, palette: Sequence[str] = PALETTE) -> str:
    return palette[index % len(palette)]


# --- runway -------------------------------------------------------------------------------------


def scenario_trace(
    slug: str, name: str, result: dict[str, Any], index: int, *, what_if: bool = False
) -> dict:
    """The projected closing balance per period of one scenario (the opening balance first)."""
    return {
        "type": "scatter",
        "mode": "lines",
        "name": f"{name} (what-if)" if what_if else name,
        "meta": {"scenario": slug, "what_if": what_if},
        "x": [result["as_of"], *(period["end"] for period in result["periods"])],
        "y": [result["opening_balance"], *(period["closing"] for period in result["periods"])],
        "line": {
            "color": _colour(index, SCENARIO_COLOURS),
            "width": 3 if what_if else 2,
            "dash": "dot" if what_if else "solid",
        },
    }


def cash_chart(runways: Sequence[ScenarioRunway]) -> Chart:
    computed = [runway for runway in runways if runway.result]
    traces = [
        scenario_trace(runway.scenario.slug, runway.scenario.name, runway.result, index)
        for index, runway in enumerate(runways)
        if runway.result
    ]
    shapes, annotations, notes = [], [], []
    if computed:
        first = min(date.fromisoformat(runway.result["as_of"]) for runway in computed)
        last = max(
            date.fromisoformat(runway.result["periods"][-1]["end"])
            for runway in computed
            if runway.result["periods"]
        )
        reserves = sorted({runway.scenario.reserve for runway in computed})
        for reserve in reserves:
            names = [runway.scenario.name for runway in computed if runway.scenario.reserve == reserve]
            label = "Reserve" if len(reserves) == 1 else f"Reserve ({', '.join(names)})"
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": label,
                    "x": [first.isoformat(), last.isoformat()],
                    "y": [str(reserve), str(reserve)],
                    "line": {"color": "#555", "dash": "dash", "width": 1.5},
                    "hoverinfo": "skip",
                }
            )
        floor_on = comfort_floor_on(first)
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": floor_on.isoformat(),
                "x1": floor_on.isoformat(),
                "y0": 0,
                "y1": 1,
                "line": {"color": "#b00020", "dash": "dot", "width": 1.5},
            }
        )
        annotations.append(
            {
                "x": floor_on.isoformat(),
                "y": 1,
                "xref": "x",
                "yref": "paper",
                "text": f"Comfort floor: {comfort_months()} months",
                "showarrow": False,
                "xanchor": "left",
                "yanchor": "top",
                "font": {"color": "#b00020", "size": 11},
            }
        )
        notes.append(
            f"Reserve: {', '.join(f'{reserve:,}' for reserve in reserves)}. Comfort floor: "
            f"{comfort_months()} months after the cash position, on {floor_on.isoformat()}."
        )
    by_day: dict[str, dict[str, str]] = {}
    for runway in computed:
        result = runway.result
        by_day.setdefault(result["as_of"], {})[runway.scenario.slug] = result["opening_balance"]
        for period in result["periods"]:
            by_day.setdefault(period["end"], {})[runway.scenario.slug] = period["closing"]
    rows = [
        [day, *(values.get(runway.scenario.slug) for runway in computed)]
        for day, values in sorted(by_day.items())
    ]
    return Chart(
        slug="cash",
        title="Projected cash balance",
        caption="Projected cash balance at the end of each period, by scenario.",
        headers=["Period end", *(runway.scenario.name for runway in computed)],
        rows=rows,
        figure={
            "data": traces,
            "layout": _layout(
                yaxis=_money_axis("Cash"), xaxis={"type": "date"}, shapes=shapes, annotations=annotations
            ),
        },
        notes=notes,
    )


def flow_traces(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Money in (above zero) and out (below) per period, stacked by source, and the net line."""
    x = [period["end"] for period in result["periods"]]
    traces = []
    for source in IN_SOURCES:
        traces.append(
            {
                "type": "bar",
                "name": f"In: {SOURCE_LABELS[source]}",
                "x": x,
                "y": [period["in_by_source"][source] for period in result["periods"]],
                "marker": {"color": SOURCE_COLOURS[f"in:{source}"]},
            }
        )
    for source in OUT_SOURCES:
        traces.append(
            {
                "type": "bar",
                "name": f"Out: {SOURCE_LABELS[source]}",
                "x": x,
                "y": [str(-Decimal(period["out_by_source"][source])) for period in result["periods"]],
                "marker": {"color": SOURCE_COLOURS[f"out:{source}"]},
            }
        )
    traces.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": "Net",
            "x": x,
            "y": [str(Decimal(period["in"]) - Decimal(period["out"])) for period in result["periods"]],
            "line": {"color": "#222", "width": 2},
        }
    )
    return traces


def flows_chart(runway: ScenarioRunway | None) -> Chart:
    result = runway.result if runway else None
    rows = []
    if result:
        for period in result["periods"]:
            rows.append(
                [
                    period["start"],
                    period["end"],
                    *(period["in_by_source"][source] for source in IN_SOURCES),
                    *(period["out_by_source"][source] for source in OUT_SOURCES),
                    period["in"],
                    period["out"],
                    str(Decimal(period["in"]) - Decimal(period["out"])),
                ]
            )
    name = runway.scenario.name if runway else ""
    return Chart(
        slug="flows",
        title="Money in and out",
        caption=f"Money in and out per period by source, scenario {name}.",
        headers=[
            "Period start",
            "Period end",
            *(f"In: {SOURCE_LABELS[source]}" for source in IN_SOURCES),
            *(f"Out: {SOURCE_LABELS[source]}" for source in OUT_SOURCES),
            "In",
            "Out",
            "Net",
        ],
        rows=rows,
        figure={
            "data": flow_traces(result) if result else [],
            "layout": _layout(barmode="relative", yaxis=_money_axis("Per period"), xaxis={"type": "date"}),
        },
        notes=[f"Scenario: {name}."] if name else [],
    )


def _daily(history: Sequence[HistoryPoint]) -> list[HistoryPoint]:
    """The last snapshot of each scenario on each day: several recomputes a day are one point."""
    latest: dict[tuple[str, date], HistoryPoint] = {}
    for point in history:
        latest[(point.scenario_slug, point.computed_at.date())] = point
    return sorted(latest.values(), key=lambda point: (point.computed_at, point.scenario_slug))


def _days_axis(days: Sequence[date]) -> dict[str, Any]:
    """A date axis labelled by day; a history of a few days gets a week around it, not hours."""
    axis: dict[str, Any] = {"type": "date", "tickformat": "%-d %b %Y"}
    if days and (max(days) - min(days)).days < 7:
        axis["range"] = [
            (min(days) - timedelta(days=3)).isoformat(),
            (max(days) + timedelta(days=3)).isoformat(),
        ]
    return axis


def history_chart(history: Sequence[HistoryPoint], runways: Sequence[ScenarioRunway]) -> Chart:
    points = _daily(history)
    names = {runway.scenario.slug: runway.scenario.name for runway in runways}
    horizons = {runway.scenario.slug: runway.scenario.horizon_months for runway in runways}
    traces = []
    for index, runway in enumerate(runways):
        slug = runway.scenario.slug
        mine = [point for point in points if point.scenario_slug == slug]
        if not mine:
            continue
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": names[slug],
                "x": [point.computed_at.date().isoformat() for point in mine],
                # Beyond the horizon is drawn at the horizon, and said so on hover.
                "y": [str(point.months if point.months is not None else horizons[slug]) for point in mine],
                "text": [
                    "beyond the horizon" if point.months is None else f"cash out {point.cash_out_on}"
                    for point in mine
                ],
                "line": {"color": _colour(index, SCENARIO_COLOURS)},
            }
        )
    rows = [
        [
            point.computed_at.date().isoformat(),
            names.get(point.scenario_slug, point.scenario_slug),
            point.as_of.isoformat(),
            "beyond the horizon" if point.months is None else point.months,
            point.cash_out_on.isoformat() if point.cash_out_on else "",
        ]
        for point in points
    ]
    return Chart(
        slug="runway-history",
        title="How the runway forecast moved",
        caption="Runway in months as computed on each day, by scenario.",
        headers=["Computed on", "Scenario", "Cash position of", "Runway (months)", "Cash-out date"],
        rows=rows,
        figure={
            "data": traces,
            "layout": _layout(
                yaxis={"title": {"text": "Months"}, "type": "linear", "rangemode": "tozero"},
                xaxis=_days_axis([point.computed_at.date() for point in points]),
            ),
        },
    )


# --- impact ---------------------------------------------------------------------------------------


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
        caption="Funding brought in per quarter by category (gross), with the net total.",
        headers=["Quarter", *(label(group) for group in groups), "Total (gross)", "Total (net)"],
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
        caption="Service contracts signed per quarter, by category, with their total value.",
        headers=["Quarter", *(label(group) for group in groups), "New contracts", "Total value"],
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


def pull_requests_chart(points: Sequence[dict[str, Any]]) -> Chart:
    groups = _groups(points, [])
    label = lambda group: group.replace("-", " ").title()  # noqa: E731
    return Chart(
        slug="pull-requests",
        title="Upstream pull requests per quarter",
        caption="Counted upstream pull requests merged per quarter, by upstream community.",
        headers=["Quarter", *(label(group) for group in groups), "Total", "Repositories"],
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
        caption=f"Headcount and full-time equivalents by team on {staffing.day.isoformat()}.",
        headers=["Team", "Headcount", "FTE"],
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


CHART_SLUGS = (
    "cash",
    "flows",
    "runway-history",
    "funding",
    "contracts",
    "communities",
    "usage",
    "pull-requests",
    "team",
)


def build_charts(data: DashboardData) -> dict[str, Chart]:
    """Every chart of the page, by slug, in page order."""
    series = data.series
    charts = [
        cash_chart(data.runways),
        flows_chart(data.default_runway),
        history_chart(data.history, data.runways),
        funding_chart(series[("funding", "quarter")]),
        contracts_chart(series[("contracts", "quarter")]),
        communities_chart(series[("active-communities", "year")]),
        usage_chart(
            series[("active-hubs", "month")],
            series[("monthly-active-users", "month")],
            series[("weekly-active-users", "month")],
        ),
        pull_requests_chart(series[("merged-pull-requests", "quarter")]),
        team_chart(data),
    ]
    return {chart.slug: chart for chart in charts}
