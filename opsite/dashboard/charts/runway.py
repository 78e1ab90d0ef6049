"""The runway charts: the cash projection by scenario, the flows of the default one, the history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from funding.runway import IN_SOURCES, OUT_SOURCES

from ..selectors import HistoryPoint, ScenarioRunway
from ..summary import comfort_floor_on, comfort_months
from .base import (
    SCENARIO_COLOURS,
    SOURCE_COLOURS,
    SOURCE_LABELS,
    Chart,
    _colour,
    _layout,
    _money_axis,
)


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
