"""What every chart shares: the :class:`Chart` type, the palettes and labels, the layout helpers.

Every chart's legend sits above its plot, in rows: below, it would collide with the axis's tick
labels, whose height Plotly does not reserve for it (rotated quarters on a phone). The page's
script narrows fonts and margins on a small screen and hides Plotly's toolbar, whose buttons
would cover a label; the table and the CSV download give the figures instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from contracts.choices import ContractCategory
from funding.choices import GrantCategory
from opsite.core.money import reporting_currency
from staff.choices import Team

SCENARIO_COLOURS = ("#1f5f99", "#b3471b", "#2e7d32", "#6a3d9a", "#8a6d0b", "#0f7c84")
SOURCE_COLOURS = {
    "in:contracts": "#2e7d32",
    "in:grants": "#1f5f99",
    "in:adjustments": "#7cb87f",
    "out:payroll": "#b3471b",
    "out:expenses": "#d9912b",
    "out:subawards": "#6a3d9a",
    "out:adjustments": "#d98080",
    "in:usage_fees": "#0f7c84",
    "out:fiscal_sponsor_fee": "#8a6d0b",
}
PALETTE = ("#1f5f99", "#2e7d32", "#b3471b", "#6a3d9a", "#d9912b", "#0f7c84", "#8a6d0b", "#c2185b", "#5d6d7e")
FUNDING_LABELS = {**dict(GrantCategory.choices), "service_contract": "Service contracts"}
CONTRACT_LABELS = dict(ContractCategory.choices)
TEAM_LABELS = dict(Team.choices)
SOURCE_LABELS = {
    "contracts": "contracts",
    "grants": "grants",
    "adjustments": "adjustments",
    "usage_fees": "usage fees",
    "payroll": "payroll",
    "expenses": "expenses",
    "subawards": "subawards",
    "fiscal_sponsor_fee": "fiscal-sponsor fee",
}


def source_label(source: str) -> str:
    """A runway source in words; one the runway adds later reads as its name until it gets a label."""
    return SOURCE_LABELS.get(source, source.replace("_", " "))


def source_colour(direction: str, source: str, index: int) -> str:
    return SOURCE_COLOURS.get(f"{direction}:{source}", PALETTE[index % len(PALETTE)])


HUNDRED = Decimal(100)
MARGIN = {"l": 64, "r": 24, "t": 12, "b": 40}
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
    # What each column holds (opsite.dashboard.cells: "day", "money", "count", ...), for the page's
    # table; empty: every cell as it is.
    formats: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.rows


LEGEND = {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.02, "yanchor": "bottom"}


def _layout(**extra: Any) -> dict[str, Any]:
    layout = {
        "margin": MARGIN,
        "legend": LEGEND,
        "hovermode": "x unified",
        "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
    }
    layout.update(extra)
    # Each axis makes room for its own tick labels (rotated quarters, long team names) rather than
    # letting the margin cut them off.
    for name in ("xaxis", "yaxis", "yaxis2"):
        if name in layout:
            layout[name] = {**layout[name], "automargin": True}
    return layout


def _money_axis(title: str = "") -> dict[str, Any]:
    """A money axis: ticks in short figures (``2M``), hover in full with separators; the title
    names the currency."""
    currency = reporting_currency()
    return {
        "title": {"text": f"{title} ({currency})" if title else currency},
        "type": "linear",
        "tickformat": "~s",
        "hoverformat": ",.0f",
        "zeroline": True,
    }


def money_note() -> str:
    return f"Amounts in {reporting_currency()}."


def _colour(index: int, palette: Sequence[str] = PALETTE) -> str:
    return palette[index % len(palette)]
