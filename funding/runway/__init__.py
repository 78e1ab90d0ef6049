"""The runway: a pure projection engine (`inputs`, `engine`), free of Django so it can be tested alone,
and the Django side around it: `loader` (database rows to inputs) and `snapshots` (stored results).

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
    INDICATORS,
    Adjustment,
    Band,
    Employment,
    Expense,
    Flow,
    PayLine,
    RunwayInputs,
    ScenarioParams,
    Thresholds,
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
