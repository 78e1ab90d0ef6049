"""The runway charts: the cash projection by scenario, the flows of the default one, the history.

The cash projection draws each scenario until a few months after its cash-out date
(:data:`AFTER_CASH_OUT_MONTHS`): past that, the line only says how deep a debt nobody would run
up, and squashes the months that matter. A vertical line marks today, so a projection that starts
from an old cash position shows how far behind it is.

The history draws the points the selector sampled (``opsite/dashboard/history.py``: a point a day
for the last weeks, coarser before), so its figure and table keep the same size however many
snapshots are stored; its note says how it was sampled.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta

from funding.runway import IN_SOURCES, OUT_SOURCES
from opsite.core.formatting import format_money

from ..cells import DAY, MONEY, MONTHS, TEXT
from ..history import RunwayHistory
from ..selectors import ScenarioRunway
from ..summary import comfort_floor_on, comfort_months, format_day
from .base import (
    SCENARIO_COLOURS,
    Chart,
    _colour,
    _layout,
    _money_axis,
    money_note,
    source_colour,
    source_label,
)

AFTER_CASH_OUT_MONTHS = 3
TODAY_COLOUR = "#444"


def drawn_periods(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The periods of a runway the cash chart draws: up to a few months after the cash-out date
    (the period holding that day included), or all of them when the cash lasts the horizon."""
    periods = result["periods"]
    if not result.get("cash_out_on"):
        return periods
    stop = (
        date.fromisoformat(result["cash_out_on"]) + relativedelta(months=AFTER_CASH_OUT_MONTHS)
    ).isoformat()
    return [period for period in periods if period["start"] < stop]


def scenario_trace(
    slug: str, name: str, result: dict[str, Any], index: int, *, what_if: bool = False
) -> dict:
    """The projected closing balance per period of one scenario (the opening balance first),
    until a few months after its cash-out date."""
    periods = drawn_periods(result)
    return {
        "type": "scatter",
        "mode": "lines",
        "name": f"{name} (what-if)" if what_if else name,
        "meta": {"scenario": slug, "what_if": what_if},
        "x": [result["as_of"], *(period["end"] for period in periods)],
        "y": [result["opening_balance"], *(period["closing"] for period in periods)],
        "line": {
            "color": _colour(index, SCENARIO_COLOURS),
            "width": 3 if what_if else 2,
            "dash": "dot" if what_if else "solid",
        },
    }


def _vertical_line(day: date, colour: str, dash: str) -> dict[str, Any]:
    return {
        "type": "line",
        "xref": "x",
        "yref": "paper",
        "x0": day.isoformat(),
        "x1": day.isoformat(),
        "y0": 0,
        "y1": 1,
        "line": {"color": colour, "dash": dash, "width": 1.5},
    }


def _line_label(day: date, text: str, colour: str, *, top: bool) -> dict[str, Any]:
    return {
        "x": day.isoformat(),
        "y": 1 if top else 0,
        "xref": "x",
        "yref": "paper",
        "text": text,
        "showarrow": False,
        "xanchor": "left",
        "yanchor": "top" if top else "bottom",
        "bgcolor": "rgba(255,255,255,0.8)",
        "font": {"color": colour, "size": 11},
    }


def cash_chart(runways: Sequence[ScenarioRunway], today: date) -> Chart:
    computed = [runway for runway in runways if runway.result]
    traces = [
        scenario_trace(runway.scenario.slug, runway.scenario.name, runway.result, index)
        for index, runway in enumerate(runways)
        if runway.result
    ]
    shapes: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    notes = []
    if computed:
        first = min(date.fromisoformat(runway.result["as_of"]) for runway in computed)
        reserves = sorted({runway.scenario.reserve for runway in computed})
        for reserve in reserves:
            names = [runway.scenario.name for runway in computed if runway.scenario.reserve == reserve]
            # Across the whole plot, whatever it spans: a what-if drawn later may reach further.
            shapes.append(
                {
                    "type": "line",
                    "xref": "paper",
                    "x0": 0,
                    "x1": 1,
                    "yref": "y",
                    "y0": str(reserve),
                    "y1": str(reserve),
                    "line": {"color": "#555", "dash": "dash", "width": 1.5},
                    "name": "Reserve" if len(reserves) == 1 else f"Reserve ({', '.join(names)})",
                    "showlegend": True,
                }
            )
        floor_on = comfort_floor_on(first)
        shapes.append(_vertical_line(floor_on, "#b00020", "dot"))
        annotations.append(
            _line_label(floor_on, f"Comfort floor: {comfort_months()} months", "#b00020", top=True)
        )
        shapes.append(_vertical_line(today, TODAY_COLOUR, "solid"))
        annotations.append(_line_label(today, f"Today, {format_day(today)}", TODAY_COLOUR, top=False))
        reserve_text = ", ".join(format_money(reserve, whole=True) for reserve in reserves)
        notes.append(
            f"Reserve: {reserve_text}. Comfort floor: {comfort_months()} months after the cash "
            f"position, on {format_day(floor_on)}. Each scenario is drawn until "
            f"{AFTER_CASH_OUT_MONTHS} months after its cash-out date."
        )
    by_day: dict[str, dict[str, str]] = {}
    for runway in computed:
        result = runway.result
        by_day.setdefault(result["as_of"], {})[runway.scenario.slug] = result["opening_balance"]
        for period in drawn_periods(result):
            by_day.setdefault(period["end"], {})[runway.scenario.slug] = period["closing"]
    rows = [
        [day, *(values.get(runway.scenario.slug) for runway in computed)]
        for day, values in sorted(by_day.items())
    ]
    return Chart(
        slug="cash",
        title="Projected cash balance",
        caption=f"Projected cash balance at the end of each period, by scenario. {money_note()}",
        headers=["Period end", *(runway.scenario.name for runway in computed)],
        rows=rows,
        formats=[DAY, *(MONEY for _ in computed)],
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
    periods = result["periods"]
    x = [period["end"] for period in periods]
    traces = []
    for index, source in enumerate(IN_SOURCES):
        traces.append(
            {
                "type": "bar",
                "name": f"In: {source_label(source)}",
                "x": x,
                "y": [period["in_by_source"].get(source, "0.00") for period in periods],
                "marker": {"color": source_colour("in", source, index)},
            }
        )
    for index, source in enumerate(OUT_SOURCES):
        traces.append(
            {
                "type": "bar",
                "name": f"Out: {source_label(source)}",
                "x": x,
                "y": [str(-Decimal(period["out_by_source"].get(source, "0.00"))) for period in periods],
                "marker": {"color": source_colour("out", source, index)},
            }
        )
    traces.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": "Net",
            "x": x,
            "y": [str(Decimal(period["in"]) - Decimal(period["out"])) for period in periods],
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
                    *(period["in_by_source"].get(source, "0.00") for source in IN_SOURCES),
                    *(period["out_by_source"].get(source, "0.00") for source in OUT_SOURCES),
                    period["in"],
                    period["out"],
                    str(Decimal(period["in"]) - Decimal(period["out"])),
                ]
            )
    name = runway.scenario.name if runway else ""
    return Chart(
        slug="flows",
        title="Money in and out",
        caption=f"Money in and out per period by source, scenario {name}. {money_note()}",
        headers=[
            "Period start",
            "Period end",
            *(f"In: {source_label(source)}" for source in IN_SOURCES),
            *(f"Out: {source_label(source)}" for source in OUT_SOURCES),
            "In",
            "Out",
            "Net",
        ],
        rows=rows,
        formats=[DAY, DAY, *(MONEY for _ in (*IN_SOURCES, *OUT_SOURCES)), MONEY, MONEY, MONEY],
        figure={
            "data": flow_traces(result) if result else [],
            "layout": _layout(barmode="relative", yaxis=_money_axis("Per period"), xaxis={"type": "date"}),
        },
        notes=[f"Scenario: {name}."] if name else [],
    )


# How the older history is sampled, in the chart's note.
_EVERY = {
    "week": "a point a week",
    "month": "a point a month",
    "quarter": "a point a quarter",
    "year": "a point a year",
}


def _sampling_note(history: RunwayHistory) -> str:
    sampling = history.sampling
    note = f"A point a day since {format_day(sampling.daily_from)}: the day's last recompute"
    if sampling.older is None:
        return f"{note}."
    return f"{note}; before that, {_EVERY[sampling.older]}, the last of each."


def _days_axis(days: Sequence[date]) -> dict[str, Any]:
    """A date axis labelled by day; a history of a few days gets a week around it, not hours."""
    axis: dict[str, Any] = {"type": "date", "tickformat": "%-d %b %Y"}
    if days and (max(days) - min(days)).days < 7:
        axis["range"] = [
            (min(days) - timedelta(days=3)).isoformat(),
            (max(days) + timedelta(days=3)).isoformat(),
        ]
    return axis


def history_chart(history: RunwayHistory, runways: Sequence[ScenarioRunway]) -> Chart:
    """The runway of each scenario as computed over time, from the sampled snapshots."""
    points = history.points
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
                    "beyond the horizon"
                    if point.months is None
                    else f"cash out {format_day(point.cash_out_on)}"
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
        caption="Runway in months as computed over time, by scenario.",
        headers=["Computed on", "Scenario", "Cash position of", "Runway (months)", "Cash-out date"],
        rows=rows,
        formats=[DAY, TEXT, DAY, MONTHS, DAY],
        figure={
            "data": traces,
            "layout": _layout(
                yaxis={"title": {"text": "Months"}, "type": "linear", "rangemode": "tozero"},
                xaxis=_days_axis([point.computed_at.date() for point in points]),
            ),
        },
        notes=[_sampling_note(history)] if points else [],
    )
