"""The runway: a pure projection engine (`engine`), free of Django so it can be tested alone."""

from .engine import (
    IN_SOURCES,
    INDICATORS,
    OUT_SOURCES,
    Adjustment,
    Band,
    Employment,
    Expense,
    Flow,
    Indicator,
    PayLine,
    Period,
    RunwayInputs,
    RunwayResult,
    ScenarioParams,
    Thresholds,
    project,
)

__all__ = [
    "INDICATORS",
    "IN_SOURCES",
    "OUT_SOURCES",
    "Adjustment",
    "Band",
    "Employment",
    "Expense",
    "Flow",
    "Indicator",
    "PayLine",
    "Period",
    "RunwayInputs",
    "RunwayResult",
    "ScenarioParams",
    "Thresholds",
    "project",
]
