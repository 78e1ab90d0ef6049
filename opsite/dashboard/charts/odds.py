"""The fan chart: the range of the default scenario's cash balance over the Monte Carlo draws of its
pipeline (docs/definitions.md "Probabilistic pipeline").

The band runs from the 10th to the 90th percentile of the draws' closing balances, with the median
inside it; beside it, the balance with no pipeline item (committed) and with each at its
probability (weighted), the reserve and the comfort floor. Like the cash chart, it stops a few
months after the median's cash-out, where the figures stop mattering.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta

from opsite.core.formatting import format_money

from ..cells import DAY, MONEY
from ..selectors import ScenarioRunway
from ..summary import comfort_floor_on, comfort_months, format_day
from .base import LEGEND, Chart, _layout, _money_axis, money_note
from .runway import AFTER_CASH_OUT_MONTHS, _line_label, _vertical_line

BAND_COLOUR = "rgba(31, 95, 153, 0.18)"
MEDIAN_COLOUR = "#1f5f99"
COMMITTED_COLOUR = "#b3471b"
WEIGHTED_COLOUR = "#2e7d32"
COMFORT_COLOUR = "#b00020"


def _drawn(periods: list[dict[str, str]], reserve: Decimal) -> list[dict[str, str]]:
    """The fan's periods up to a few months after the median first falls below the reserve."""
    below = next((period["end"] for period in periods if Decimal(period["p50"]) < reserve), None)
    if below is None:
        return periods
    stop = (date.fromisoformat(below) + relativedelta(months=AFTER_CASH_OUT_MONTHS)).isoformat()
    return [period for period in periods if period["end"] <= stop]


def fan_traces(result: dict[str, Any], reserve: Decimal) -> list[dict[str, Any]]:
    """The band (two traces, the second filled to the first), the median and the two lines; the
    opening balance first on each, so the fan opens from the cash position."""
    periods = _drawn(result["monte_carlo"]["periods"], reserve)
    x = [result["as_of"], *(period["end"] for period in periods)]
    opening = result["opening_balance"]

    def series(key: str) -> list[str]:
        return [opening, *(period[key] for period in periods)]

    return [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "10th percentile",
            "x": x,
            "y": series("p10"),
            "line": {"width": 0, "color": BAND_COLOUR},
            "showlegend": False,
            "hoverinfo": "skip",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "8 draws of 10 (10th to 90th percentile)",
            "x": x,
            "y": series("p90"),
            "fill": "tonexty",
            "fillcolor": BAND_COLOUR,
            "line": {"width": 0, "color": BAND_COLOUR},
            "customdata": series("p10"),
            "hovertemplate": "%{customdata:,.0f} to %{y:,.0f}",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "Median draw",
            "x": x,
            "y": series("p50"),
            "line": {"color": MEDIAN_COLOUR, "width": 2.5},
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "Committed only",
            "x": x,
            "y": series("committed"),
            "line": {"color": COMMITTED_COLOUR, "width": 1.5, "dash": "dash"},
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "Weighted pipeline",
            "x": x,
            "y": series("weighted"),
            "line": {"color": WEIGHTED_COLOUR, "width": 1.5, "dash": "dot"},
        },
    ]


def fan_chart(runway: ScenarioRunway | None) -> Chart:
    result = runway.result if runway else None
    drawn = result.get("monte_carlo") if result else None
    name = runway.scenario.name if runway else ""
    headers = [
        "Period end",
        "10th percentile",
        "Median",
        "90th percentile",
        "Mean",
        "Committed only",
        "Weighted",
    ]
    if not drawn:
        return Chart(
            slug="odds",
            title="Range of outcomes",
            caption="The range of the projected cash balance over the draws of the pipeline.",
            headers=headers,
            rows=[],
            figure={"data": [], "layout": _layout()},
        )
    reserve = runway.scenario.reserve
    as_of = date.fromisoformat(result["as_of"])
    floor_on = comfort_floor_on(as_of)
    shapes = [
        {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "yref": "y",
            "y0": str(reserve),
            "y1": str(reserve),
            "line": {"color": "#555", "dash": "dash", "width": 1.5},
        },
        _vertical_line(floor_on, COMFORT_COLOUR, "dot"),
    ]
    annotations = [
        _line_label(floor_on, f"Comfort floor: {comfort_months()} months", COMFORT_COLOUR, top=True)
    ]
    periods = _drawn(drawn["periods"], reserve)
    rows = [
        [
            period["end"],
            period["p10"],
            period["p50"],
            period["p90"],
            period["mean"],
            period["committed"],
            period["weighted"],
        ]
        for period in periods
    ]
    return Chart(
        slug="odds",
        title="Range of outcomes",
        caption=(
            f"Projected cash balance over {drawn['draws']:,} draws of the pipeline, scenario {name}: "
            f"the 10th to 90th percentile, the median, committed money only and the weighted pipeline. "
            f"{money_note()}"
        ),
        headers=headers,
        rows=rows,
        formats=[DAY, *(MONEY for _ in headers[1:])],
        figure={
            "data": fan_traces(result, reserve),
            "layout": _layout(
                yaxis=_money_axis("Cash"),
                xaxis={"type": "date"},
                shapes=shapes,
                annotations=annotations,
                # Plotly lists filled traces last to first; the band first reads as drawn.
                legend={**LEGEND, "traceorder": "normal"},
            ),
        },
        notes=[
            f"Scenario: {name}. Each of the {drawn['items']:,} pipeline items (a proposed contract, a "
            "prospect or submitted grant) comes whole or not at all, at its probability; committed "
            "money and the scenario's adjustments are in every draw.",
            f"Reserve: {format_money(reserve, whole=True)} (dashed). Comfort floor: {comfort_months()} "
            f"months after the cash position, on {format_day(floor_on)}.",
        ],
    )
