"""The dashboard's charts: each a Plotly figure and the table of the same numbers.

One function per chart turns selector output into a :class:`Chart`: the figure (plain dicts that
``Plotly.newPlot`` takes; money as decimal strings, which the page's script turns into numbers)
and the rows its accessible table and its CSV download show. Figure and table come from the same
rows, so what is drawn is what is downloaded.

Split by subject: :mod:`.base` (the :class:`Chart` type and what every chart shares),
:mod:`.runway`, :mod:`.odds` (the fan chart), :mod:`.impact` and :mod:`.costs` (one function per
chart).
"""

from __future__ import annotations

from ..selectors import DashboardData
from .base import Chart
from .costs import component_costs_chart, cost_per_user_chart, negative_margin_chart
from .impact import (
    communities_chart,
    contracts_chart,
    funding_chart,
    pull_requests_chart,
    team_chart,
    usage_chart,
)
from .odds import fan_chart, fan_traces
from .runway import cash_chart, flow_traces, flows_chart, history_chart, scenario_trace

__all__ = [
    "CHART_SLUGS",
    "RUNWAY_CHARTS",
    "Chart",
    "build_charts",
    "fan_traces",
    "flow_traces",
    "scenario_trace",
]


CHART_SLUGS = (
    "cash",
    "odds",
    "flows",
    "runway-history",
    "funding",
    "contracts",
    "communities",
    "usage",
    "pull-requests",
    "team",
    "costs-components",
    "costs-per-user",
    "costs-margins",
)


# The first charts of CHART_SLUGS sit beside the what-if planner, the next under "Funding and
# impact", the last three under "Cloud costs".
RUNWAY_CHARTS = 4
COST_CHARTS = 3


def build_charts(data: DashboardData) -> dict[str, Chart]:
    """Every chart of the page, by slug, in page order."""
    series = data.series
    charts = [
        cash_chart(data.runways, data.today),
        fan_chart(data.default_runway),
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
        pull_requests_chart(series[("merged-pull-requests", "quarter")], data.upstream_names),
        team_chart(data),
        component_costs_chart(data.costs),
        cost_per_user_chart(data.costs),
        negative_margin_chart(data.costs),
    ]
    return {chart.slug: chart for chart in charts}
