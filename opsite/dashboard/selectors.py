"""The data the leadership dashboard shows, read in a fixed number of queries.

Everything here reads stored figures: the latest runway snapshot of each scenario, the history of
snapshots, the impact rollups (``opsite.kpis.rollups``) and a few small lists for the what-if form.
Nothing is recomputed while a page is served, so the page costs the same queries and about the
same time at any size of history; the recompute jobs keep the stored figures current.

Queries, whatever the size of the data:

1. the scenarios, each with the id of its latest snapshot and the time of its first (correlated
   subqueries on the ``funding_snapshot_latest`` index);
2. those snapshots;
3. the runway history: months and cash-out date of a bounded sample of the snapshots (at most
   ``history.MOST_POINTS`` per scenario, not their periods; ``history.py`` says which);
4. the stored rollups the charts need, in one ``key IN (...)``;
5. the latest cash position's date (never its balance: the runway result carries that);
6. the saved scenario adjustments (what a what-if may leave out);
7. the grants with disbursements still to come (what a delay may move);
8. headcount and FTE by team on the KPI as-of day (one grouped count over the roster);
9. the upstream communities' names (the contribution series names them by slug);
10. the stored cloud cost rollups (``opsite.kpis.costs.cost_rollups``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from contributions.models import UpstreamCommunity
from funding.choices import GrantStatus
from funding.models import CashPosition, Grant, RunwaySnapshot, Scenario, ScenarioAdjustment
from opsite.core.dates import plausible_range
from opsite.core.recompute import RecomputeStatus, recompute_statuses
from opsite.kpis.costs import CostRollups, cost_rollups
from opsite.kpis.models import Rollup
from opsite.kpis.rollups import DATA_QUALITY, KPIS_LATEST, data_quality_sentences, series_key
from staff.rollups import Staffing, staffing_on

from .history import RunwayHistory, oldest_snapshot_day, runway_history

# The stored series each chart reads: (metric, interval).
SERIES: tuple[tuple[str, str], ...] = (
    ("funding", "quarter"),
    ("contracts", "quarter"),
    ("active-communities", "year"),
    ("active-hubs", "month"),
    ("monthly-active-users", "month"),
    ("weekly-active-users", "month"),
    ("merged-pull-requests", "quarter"),
)


@dataclass(frozen=True)
class ScenarioRunway:
    """A scenario and its latest stored runway (``result`` is None before the first compute).

    ``first_computed_at``, when its first stored snapshot was computed, tells the history how far
    back it reaches (``history.py``) without a query of its own.
    """

    scenario: Scenario
    result: dict[str, Any] | None
    computed_at: datetime | None
    first_computed_at: datetime | None = None


@dataclass(frozen=True)
class SavedAdjustment:
    pk: int
    scenario_slug: str
    kind: str
    label: str
    amount: Decimal
    recurrence: str
    start_on: date
    end_on: date | None
    grant_reference: str | None
    months: int | None


@dataclass(frozen=True)
class DashboardData:
    """Everything the page, its CSV downloads and its what-if form read."""

    today: date
    runways: list[ScenarioRunway]
    history: RunwayHistory
    series: dict[tuple[str, str], list[dict[str, Any]]]
    kpis: dict[str, Any] | None
    cash_as_of: date | None
    adjustments: list[SavedAdjustment]
    grants: list[tuple[str, str]]
    staffing: Staffing
    upstream_names: dict[str, str]
    rollups_computed: bool
    # Rows the last rollup recompute left out for their dates, in sentences; and each recompute's
    # state, so a failing one shows instead of figures going quietly stale.
    data_quality: list[str]
    recomputes: dict[str, RecomputeStatus]
    # The stored cloud cost rollups (opsite.kpis.costs), one query.
    costs: CostRollups

    @property
    def failed_recomputes(self) -> list[RecomputeStatus]:
        return [status for status in self.recomputes.values() if status.failed_at is not None]

    @property
    def default_runway(self) -> ScenarioRunway | None:
        for runway in self.runways:
            if runway.scenario.is_default:
                return runway
        return self.runways[0] if self.runways else None

    @property
    def impact_as_of(self) -> date:
        """The day the impact figures are for: the stored KPI block's, else today."""
        if self.kpis:
            return date.fromisoformat(self.kpis["as_of"])
        return self.today


def scenario_runways() -> list[ScenarioRunway]:
    """Every scenario (the default first, then by name) with its latest snapshot: two queries."""
    mine = RunwaySnapshot.objects.filter(scenario=OuterRef("pk"))
    latest = mine.order_by("-computed_at", "-pk").values("pk")[:1]
    first = mine.order_by("computed_at", "pk").values("computed_at")[:1]
    scenarios = list(
        Scenario.objects.annotate(latest_id=Subquery(latest), first_at=Subquery(first)).order_by(
            "-is_default", "name", "pk"
        )
    )
    ids = [scenario.latest_id for scenario in scenarios if scenario.latest_id is not None]
    snapshots = {
        pk: (result, computed_at)
        for pk, result, computed_at in RunwaySnapshot.objects.filter(pk__in=ids).values_list(
            "pk", "result", "computed_at"
        )
    }
    runways = []
    for scenario in scenarios:
        result, computed_at = snapshots.get(scenario.latest_id, (None, None))
        runways.append(
            ScenarioRunway(
                scenario=scenario,
                result=result,
                computed_at=computed_at,
                first_computed_at=scenario.first_at,
            )
        )
    return runways


def stored_rollups() -> tuple[
    dict[str, Any] | None, dict[tuple[str, str], list[dict[str, Any]]], bool, list[str]
]:
    """The KPI block, the chart series and the data-quality notes from the rollup store, in one query.

    Returns (kpis, points by (metric, interval), whether anything was stored, data-quality
    sentences). A series not stored yet comes back empty: the page says so instead of computing
    it while someone waits.
    """
    keys = {series_key(metric, interval): (metric, interval) for metric, interval in SERIES}
    stored = dict(
        Rollup.objects.filter(key__in=[KPIS_LATEST, DATA_QUALITY, *keys]).values_list("key", "value")
    )
    series = {pair: (stored.get(key) or {}).get("points", []) for key, pair in keys.items()}
    quality = data_quality_sentences(stored.pop(DATA_QUALITY, None))
    return stored.get(KPIS_LATEST), series, bool(stored), quality


def latest_cash_position_date() -> date | None:
    # The same cash position the runway starts from: one dated outside the plausible range (a
    # typo stored before the range was checked) is left out, as the runway loader leaves it out.
    return (
        CashPosition.objects.filter(as_of__range=plausible_range())
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first()
    )


def saved_adjustments() -> list[SavedAdjustment]:
    rows = ScenarioAdjustment.objects.order_by("scenario__slug", "start_on", "pk").values_list(
        "pk",
        "scenario__slug",
        "kind",
        "label",
        "amount",
        "recurrence",
        "start_on",
        "end_on",
        "grant__reference",
        "months",
    )
    return [SavedAdjustment(*row) for row in rows]


def delayable_grants() -> list[tuple[str, str]]:
    """(reference, title) of the awarded grants with a disbursement still to come."""
    return list(
        Grant.objects.filter(status=GrantStatus.AWARDED, disbursements__received_on__isnull=True)
        .order_by("reference")
        .values_list("reference", "title")
        .distinct()
    )


def upstream_names() -> dict[str, str]:
    """Each upstream community's name by slug: the charts say "JupyterHub", not "jupyterhub"."""
    return dict(UpstreamCommunity.objects.order_by().values_list("slug", "name"))


def dashboard_data(*, today: date | None = None) -> DashboardData:
    """Everything the dashboard shows, in a fixed number of queries (see the module docstring)."""
    today = today or timezone.localdate()
    kpis, series, computed, quality = stored_rollups()
    # Headcount by team on the same day as the other impact figures, so they agree.
    impact_day = date.fromisoformat(kpis["as_of"]) if kpis else today
    runways = scenario_runways()
    oldest = oldest_snapshot_day([runway.first_computed_at for runway in runways])
    return DashboardData(
        today=today,
        runways=runways,
        history=runway_history(today=today, oldest=oldest),
        series=series,
        kpis=kpis,
        cash_as_of=latest_cash_position_date(),
        adjustments=saved_adjustments(),
        grants=delayable_grants(),
        staffing=staffing_on([impact_day])[impact_day],
        upstream_names=upstream_names(),
        rollups_computed=computed,
        data_quality=quality,
        recomputes=recompute_statuses(),
        costs=cost_rollups(),
    )
