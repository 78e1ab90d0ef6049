"""The runway: a pure projection engine (`inputs`, `grid`, `engine`, `indicators`), free of Django
so it can be tested alone, and the Django side around it: `loader` and `usage` (database rows to
inputs) and `snapshots` (stored results).

Only the pure modules are imported here, so importing the engine never needs the app registry.
"""

from .engine import (
    IN_SOURCES,
    OUT_SOURCES,
    Indicator,
    Period,
    RunwayResult,
    project,
)
from .inputs import (
    HEALTH_INDICATORS,
    INDICATORS,
    REVENUE_INDICATORS,
    Adjustment,
    Band,
    Employment,
    Expense,
    Flow,
    Invoice,
    PayLine,
    RunwayInputs,
    ScenarioParams,
    Thresholds,
    UsageFeeInflow,
)

__all__ = [
    "HEALTH_INDICATORS",
    "INDICATORS",
    "IN_SOURCES",
    "OUT_SOURCES",
    "REVENUE_INDICATORS",
    "Adjustment",
    "Band",
    "Employment",
    "Expense",
    "Flow",
    "Indicator",
    "Invoice",
    "PayLine",
    "Period",
    "RunwayInputs",
    "RunwayResult",
    "ScenarioParams",
    "Thresholds",
    "UsageFeeInflow",
    "project",
]
