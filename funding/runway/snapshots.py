"""Computing, keeping and reading runway snapshots; and the dashboard's what-if preview.

Every computed runway is kept as a ``RunwaySnapshot`` (docs/definitions.md), so leadership can see how the
forecast moved. ``result`` is the JSON of docs/api.md "Runway API": ``RunwayResult.as_dict()``, the
Monte Carlo draws of the pipeline under ``"monte_carlo"`` (``montecarlo.py``), the runway of
unrestricted money under ``"unrestricted"`` (``restricted.py``) and ``"scenario"`` (the slug).

Repeated recomputes: a recompute whose result is identical to the scenario's latest snapshot, and
comes less than a minute (``DUPLICATE_WINDOW``) after it, stores nothing and returns that snapshot.
A bulk change fires its recompute once per transaction, but a redelivered task, a "recompute" click
right after the nightly run or two workers racing would otherwise each add the same row; one
minute later an unchanged forecast is stored again, which is how the history shows it held still.
The scenario rows are locked (``SELECT ... FOR UPDATE``) for the duration, so two concurrent
recomputes on PostgreSQL serialize and the second sees the first's snapshot.

Nothing here logs a figure: the runway is sensitive (docs/roles.md).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from ..choices import AdjustmentKind, AdjustmentRecurrence
from ..models import Grant, RunwaySnapshot, Scenario, ScenarioAdjustment
from ..services import runway_snapshot_create
from .engine import RunwayResult, project
from .inputs import Adjustment, RunwayInputs
from .loader import (
    NoCashPosition,
    Records,
    adjustment_from,
    inputs_for,
    load_adjustments,
    load_inputs,
    load_records,
)
from .montecarlo import MonteCarloResult, simulate

logger = logging.getLogger(__name__)

DUPLICATE_WINDOW = timedelta(minutes=1)

# The keys a what-if may carry: a ScenarioAdjustment's fields (the grant by reference).
WHAT_IF_FIELDS = frozenset(
    {"kind", "label", "amount", "benefits_rate", "recurrence", "start_on", "end_on", "grant", "months"}
)


@dataclass(frozen=True, slots=True)
class Forecast:
    """A scenario's projection and its Monte Carlo draws of the pipeline, from the same inputs."""

    result: RunwayResult
    monte_carlo: MonteCarloResult

    def as_dict(self) -> dict[str, Any]:
        """The runway API's JSON without ``"scenario"``."""
        unrestricted = self.result.unrestricted
        return {
            **self.result.as_dict(),
            "monte_carlo": self.monte_carlo.as_dict(),
            "unrestricted": None if unrestricted is None else unrestricted.as_dict(),
        }


def forecast(inputs: RunwayInputs) -> Forecast:
    """Project ``inputs`` and draw their pipeline (``OPSITE_MONTE_CARLO_DRAWS`` draws, seeded with
    ``OPSITE_MONTE_CARLO_SEED``)."""
    return Forecast(
        result=project(inputs),
        monte_carlo=simulate(
            inputs, draws=settings.OPSITE_MONTE_CARLO_DRAWS, seed=settings.OPSITE_MONTE_CARLO_SEED
        ),
    )


def _result_json(scenario: Scenario, computed: Forecast) -> dict[str, Any]:
    return {"scenario": scenario.slug, **computed.as_dict()}


def _latest_by_scenario(scenarios: Sequence[Scenario]) -> dict[int, RunwaySnapshot]:
    """Each scenario's latest snapshot, in two queries however many scenarios."""
    latest_ids = (
        Scenario.objects.filter(pk__in=[scenario.pk for scenario in scenarios])
        .annotate(
            latest_id=Subquery(
                RunwaySnapshot.objects.filter(scenario=OuterRef("pk"))
                .order_by("-computed_at", "-pk")
                .values("pk")[:1]
            )
        )
        .exclude(latest_id=None)
        .values_list("latest_id", flat=True)
    )
    return {
        snapshot.scenario_id: snapshot for snapshot in RunwaySnapshot.objects.filter(pk__in=list(latest_ids))
    }


def _store(
    *, scenario: Scenario, records: Records, adjustments: Sequence[Adjustment], latest: RunwaySnapshot | None
) -> RunwaySnapshot:
    computed = forecast(inputs_for(records=records, scenario=scenario, adjustments=adjustments))
    result = computed.result
    data = _result_json(scenario, computed)
    now = timezone.now()
    if (
        latest is not None
        and latest.result == data
        and latest.as_of == result.as_of
        and now - latest.computed_at < DUPLICATE_WINDOW
    ):
        logger.info("Runway of %s unchanged since snapshot %s; not stored again.", scenario.slug, latest.pk)
        return latest
    snapshot = runway_snapshot_create(
        scenario=scenario,
        as_of=result.as_of,
        months=result.months,
        cash_out_on=result.cash_out_on,
        result=data,
        computed_at=now,
    )
    snapshot.scenario = scenario
    return snapshot


def _lock(scenarios: Sequence[Scenario]) -> None:
    # Serializes concurrent recomputes of the same scenarios (a no-op on SQLite, whose writers are
    # serialized anyway), so the duplicate check below sees the other one's snapshot.
    list(
        Scenario.objects.select_for_update()
        .filter(pk__in=[scenario.pk for scenario in scenarios])
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def runway_recompute(*, scenario: Scenario) -> RunwaySnapshot:
    """Compute ``scenario``'s runway from the latest cash position and keep it as a snapshot.

    Raises ``NoCashPosition`` when no cash position is recorded, ``MissingExchangeRate`` when an
    amount cannot be converted.
    """
    _lock([scenario])
    records = load_records()
    adjustments = load_adjustments(scenarios=[scenario])[scenario.pk]
    latest = _latest_by_scenario([scenario]).get(scenario.pk)
    return _store(scenario=scenario, records=records, adjustments=adjustments, latest=latest)


@transaction.atomic
def runway_recompute_all(*, as_of: date | None = None) -> list[RunwaySnapshot]:
    """Recompute every scenario in one transaction, reading the records once; by scenario slug.

    ``as_of`` starts from the latest cash position on or before that date (default: the latest).
    Before any cash position is recorded there is nothing to compute: it returns ``[]`` (a fresh
    install's nightly run is not an error).
    """
    scenarios = list(Scenario.objects.order_by("slug"))
    if not scenarios:
        return []
    _lock(scenarios)
    try:
        records = load_records(as_of_cash=as_of)
    except NoCashPosition:
        logger.info("No cash position recorded yet; no runway to compute.")
        return []
    adjustments = load_adjustments(scenarios=scenarios)
    latest = _latest_by_scenario(scenarios)
    return [
        _store(
            scenario=scenario,
            records=records,
            adjustments=adjustments[scenario.pk],
            latest=latest.get(scenario.pk),
        )
        for scenario in scenarios
    ]


def runway_scenario(*, scenario_slug: str | None = None) -> Scenario | None:
    """The scenario named by ``scenario_slug``, or the default one; None when there is none."""
    scenarios = Scenario.objects.all()
    if scenario_slug is None:
        return scenarios.filter(is_default=True).first()
    return scenarios.filter(slug=scenario_slug).first()


def runway_latest(*, scenario_slug: str | None = None) -> RunwaySnapshot | None:
    """The latest snapshot of the named scenario (the default one when None), in one query.

    None when the scenario does not exist or has no snapshot yet.
    """
    snapshots = RunwaySnapshot.objects.select_related("scenario")
    if scenario_slug is None:
        snapshots = snapshots.filter(scenario__is_default=True)
    else:
        snapshots = snapshots.filter(scenario__slug=scenario_slug)
    return snapshots.order_by("-computed_at", "-pk").first()


# --- what-if preview ------------------------------------------------------------------------------


def runway_preview(*, scenario: Scenario, adjustments: Sequence[Mapping[str, Any]]) -> Forecast:
    """The runway of ``scenario`` with what-ifs added to or removed from its adjustments; writes nothing.

    Each item of ``adjustments`` is either

    - a what-if to add, with a ``ScenarioAdjustment``'s fields: ``kind`` (``hire``, ``inflow``,
      ``outflow``, ``delay``), ``label``, ``amount``, ``benefits_rate``, ``recurrence`` (default
      ``annual_salary`` for a hire, else ``once``), ``start_on``, ``end_on``, ``grant`` (a grant's
      reference, for a delay) and ``months``; values as Python objects or as the strings of a
      JSON body (``"120000.00"``, ``"2025-01-01"``); or
    - ``{"remove": <id>}``: leave out one of the scenario's saved adjustments.

    A what-if is checked by the same rules as a saved adjustment; a bad one raises
    ``ValidationError`` with ``{field: [message, ...]}``, each message saying which what-if (by
    position, from 1) it is about. The computation runs in a transaction that is always rolled
    back, so even a write slipped in by mistake could not reach the database.
    """
    extra, removed = _parse_what_ifs(scenario, adjustments)
    with transaction.atomic():
        inputs = load_inputs(scenario=scenario, extra_adjustments=extra, without_adjustments=removed)
        transaction.set_rollback(True)
    return forecast(inputs)


def _parse_what_ifs(
    scenario: Scenario, items: Sequence[Mapping[str, Any]]
) -> tuple[list[Adjustment], set[int]]:
    errors: dict[str, list[str]] = {}
    extra: list[Adjustment] = []
    removed: set[int] = set()
    own_ids = set(scenario.adjustments.values_list("pk", flat=True))

    def fail(field: str, number: int, message: str) -> None:
        errors.setdefault(field, []).append(f"What-if {number}: {message}")

    for number, item in enumerate(items, start=1):
        if not isinstance(item, Mapping):
            fail("adjustments", number, "expected an object with an adjustment's fields, or {'remove': id}.")
            continue
        if "remove" in item:
            target = item["remove"]
            if len(item) > 1:
                fail("remove", number, "a removal takes only 'remove' (the id of the adjustment).")
            elif isinstance(target, bool) or not isinstance(target, int) or target not in own_ids:
                fail("remove", number, f"scenario {scenario.slug} has no adjustment {target!r} to remove.")
            else:
                removed.add(target)
            continue
        unknown = sorted(set(item) - WHAT_IF_FIELDS)
        if unknown:
            fail("adjustments", number, f"unknown field(s) {', '.join(unknown)}.")
            continue
        try:
            extra.append(adjustment_from(_what_if_row(scenario, item, number)))
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                for message in messages:
                    fail("adjustments" if field == "__all__" else field, number, message)
    if errors:
        raise ValidationError(errors)
    return extra, removed


def _what_if_row(scenario: Scenario, item: Mapping[str, Any], number: int) -> ScenarioAdjustment:
    """An unsaved ScenarioAdjustment from a what-if, cleaned like one saved through the admin."""
    kind = item.get("kind")
    recurrence = item.get("recurrence") or (
        AdjustmentRecurrence.ANNUAL_SALARY if kind == AdjustmentKind.HIRE else AdjustmentRecurrence.ONCE
    )
    grant = None
    reference = item.get("grant")
    if reference not in (None, ""):
        grant = Grant.objects.filter(reference=reference).first()
        if grant is None:
            raise ValidationError({"grant": f"no grant has the reference {reference!r}."})
    fields = {
        key: item[key] for key in ("amount", "benefits_rate", "start_on", "end_on", "months") if key in item
    }
    row = ScenarioAdjustment(
        scenario=scenario,
        kind=kind,
        label=item.get("label") or f"What-if {number}",
        recurrence=recurrence,
        grant=grant,
        **fields,
    )
    if isinstance(row.amount, float) or isinstance(row.benefits_rate, float):
        # A float has already lost the cents it claims to have: refuse it rather than round it.
        raise ValidationError({"amount": "give money as a decimal string such as '1200.00', not a float."})
    # clean_fields turns the JSON strings into Decimals and dates (refusing a third decimal place);
    # only then can the rules of a saved adjustment (ScenarioAdjustment.clean()) compare
    # them, so it runs first, on its own.
    row.clean_fields(exclude=["scenario"])
    row.full_clean(exclude=["scenario"])
    return row
