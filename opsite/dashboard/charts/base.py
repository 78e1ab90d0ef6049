"""What every chart shares: the :class:`Chart` type, the palettes and labels, the layout helpers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from contracts.choices import ContractCategory
from funding.choices import GrantCategory
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
