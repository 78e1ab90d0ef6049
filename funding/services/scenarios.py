"""Scenarios, their what-ifs, and the runway snapshots computed from them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from opsite.core import recompute
from opsite.core.money import ZERO
from opsite.core.services import assign

from ..choices import AdjustmentKind, AdjustmentRecurrence, Pipeline
from ..models import Grant, RunwaySnapshot, Scenario, ScenarioAdjustment
from ._base import create_checked, save_checked

# --- scenarios ----------------------------------------------------------------------------------

SCENARIO_FIELDS = ("slug", "name", "pipeline", "reserve", "horizon_months", "is_default")


def scenario_validate(scenario: Scenario) -> None:
    """The default scenario stays the default until another one takes over.

    Unticking it would leave the runway API without a scenario to answer with; choosing another
    default (``scenario_set_default``) unticks this one.
    """
    if (
        scenario.pk is not None
        and not scenario.is_default
        and Scenario.objects.filter(pk=scenario.pk, is_default=True).exists()
    ):
        raise ValidationError(
            {
                "is_default": f"Scenario {scenario.slug} is the default; make another scenario the "
                "default instead, and this one stops being it."
            }
        )


@transaction.atomic
def scenario_save(*, scenario: Scenario) -> Scenario:
    """Validate and save a scenario built in memory (the admin form, an import row).

    A scenario that asks to be the default takes over from the current one; the first scenario
    becomes the default whatever it asks, so there is always exactly one.
    """
    scenario_validate(scenario)
    # The one-default constraint is kept below by unticking the other default first; checking
    # it here would refuse exactly the switch this function performs.
    scenario.full_clean(exclude=["is_default"])
    _lock_scenarios()
    others = Scenario.objects.filter(is_default=True).exclude(pk=scenario.pk)
    if scenario.is_default:
        others.update(is_default=False, updated_at=timezone.now())
    elif not others.exists():
        scenario.is_default = True
    scenario.save()
    return scenario


def _lock_scenarios() -> None:
    # Two concurrent switches of the default serialize here rather than one of them failing on
    # the partial unique index.
    list(Scenario.objects.select_for_update().values_list("pk", flat=True))


@transaction.atomic
def scenario_create(
    *,
    slug: str,
    name: str,
    pipeline: str = Pipeline.WEIGHTED,
    reserve: Decimal = ZERO,
    horizon_months: int = 60,
    is_default: bool = False,
) -> Scenario:
    return scenario_save(
        scenario=Scenario(
            slug=slug,
            name=name,
            pipeline=pipeline,
            reserve=reserve,
            horizon_months=horizon_months,
            is_default=is_default,
        )
    )


@transaction.atomic
def scenario_update(*, scenario: Scenario, data: Mapping[str, Any]) -> Scenario:
    assign(scenario, data, SCENARIO_FIELDS)
    return scenario_save(scenario=scenario)


@transaction.atomic
def scenario_set_default(*, scenario: Scenario) -> Scenario:
    """Make ``scenario`` the one default, atomically: never zero, never two."""
    _lock_scenarios()
    now = timezone.now()
    # Untick first: the partial unique index is checked per statement.
    Scenario.objects.filter(is_default=True).exclude(pk=scenario.pk).update(is_default=False, updated_at=now)
    Scenario.objects.filter(pk=scenario.pk, is_default=False).update(is_default=True, updated_at=now)
    # QuerySet.update sends no signal: ask for the recompute a saved scenario asks for.
    recompute.request_recompute(recompute.RUNWAY)
    scenario.is_default = True
    return scenario


@transaction.atomic
def scenario_delete(*, scenario: Scenario) -> None:
    """Delete a scenario (its adjustments and snapshots go with it); the next one by name
    becomes the default when it was the default."""
    was_default = Scenario.objects.filter(pk=scenario.pk, is_default=True).exists()
    scenario.delete()
    if was_default:
        successor = Scenario.objects.order_by("name", "pk").first()
        if successor is not None:
            scenario_set_default(scenario=successor)


# --- scenario adjustments -----------------------------------------------------------------------

SCENARIO_ADJUSTMENT_FIELDS = (
    "scenario",
    "kind",
    "label",
    "amount",
    "benefits_rate",
    "recurrence",
    "start_on",
    "end_on",
    "grant",
    "months",
)

# The kinds whose amount is the money that moves; a hire's salary is checked by the model itself.
AMOUNT_KINDS = (AdjustmentKind.INFLOW, AdjustmentKind.OUTFLOW)


def scenario_adjustment_amount_problem(*, kind: str | None, amount: Any) -> str | None:
    """Why ``amount`` will not do for an adjustment of ``kind``, or None when it will.

    An inflow or an outflow carries its amount: a positive figure, never a silent 0.00. The column
    defaults to 0 (a delay moves money and has none of its own), so an inflow left without an
    amount would otherwise be saved as 0.00 and change nothing while looking planned. A value that
    is not a number is left to the field's own check.
    """
    if kind not in AMOUNT_KINDS:
        return None
    if amount is None or amount == "":
        got = "nothing"
    elif isinstance(amount, Decimal | int):
        if amount > 0:
            return None
        got = f"{Decimal(amount):.2f}"
    else:
        return None
    return f"An {kind} needs its amount as a positive figure (each month when monthly); got {got}."


def scenario_adjustment_validate(scenario_adjustment: ScenarioAdjustment) -> None:
    """The rules of an adjustment beyond its model's own checks, for every door: the admin,
    imports, the API and the dashboard's what-if planner (which asks
    :func:`scenario_adjustment_amount_problem` of the amount it was given, none included)."""
    amount = scenario_adjustment.amount
    if amount is None:
        return  # the column's own check says it is required
    problem = scenario_adjustment_amount_problem(kind=scenario_adjustment.kind, amount=amount)
    if problem:
        raise ValidationError({"amount": problem})


@transaction.atomic
def scenario_adjustment_create(
    *,
    scenario: Scenario,
    kind: str,
    label: str,
    start_on: date,
    amount: Decimal = ZERO,
    benefits_rate: Decimal = ZERO,
    recurrence: str | None = None,
    end_on: date | None = None,
    grant: Grant | None = None,
    months: int | None = None,
) -> ScenarioAdjustment:
    """Add a what-if; ``recurrence`` defaults to ``annual_salary`` for a hire, else ``once``."""
    if recurrence is None:
        recurrence = (
            AdjustmentRecurrence.ANNUAL_SALARY if kind == AdjustmentKind.HIRE else AdjustmentRecurrence.ONCE
        )
    return create_checked(
        ScenarioAdjustment(
            scenario=scenario,
            kind=kind,
            label=label,
            amount=amount,
            benefits_rate=benefits_rate,
            recurrence=recurrence,
            start_on=start_on,
            end_on=end_on,
            grant=grant,
            months=months,
        ),
        scenario_adjustment_validate,
    )


@transaction.atomic
def scenario_adjustment_update(
    *, scenario_adjustment: ScenarioAdjustment, data: Mapping[str, Any]
) -> ScenarioAdjustment:
    assign(scenario_adjustment, data, SCENARIO_ADJUSTMENT_FIELDS)
    return save_checked(scenario_adjustment, scenario_adjustment_validate)


@transaction.atomic
def scenario_adjustment_delete(*, scenario_adjustment: ScenarioAdjustment) -> None:
    """Remove a what-if from its scenario (its deletion asks for the runway recompute)."""
    scenario_adjustment.delete()


# --- runway snapshots ---------------------------------------------------------------------------

RUNWAY_SNAPSHOT_FIELDS = ("scenario", "as_of", "computed_at", "months", "cash_out_on", "result")


@transaction.atomic
def runway_snapshot_create(
    *,
    scenario: Scenario,
    as_of: date,
    months: Decimal | None,
    cash_out_on: date | None,
    result: dict[str, Any],
    computed_at: datetime | None = None,
) -> RunwaySnapshot:
    """Keep one computed runway. A new computation is a new snapshot, never an update."""
    return create_checked(
        RunwaySnapshot(
            scenario=scenario,
            as_of=as_of,
            computed_at=computed_at or timezone.now(),
            months=months,
            cash_out_on=cash_out_on,
            result=result,
        )
    )


@transaction.atomic
def runway_snapshot_update(*, runway_snapshot: RunwaySnapshot, data: Mapping[str, Any]) -> RunwaySnapshot:
    """Rewrite a stored snapshot: only a restore from a backup (an import) does this.

    The runway never updates a snapshot: they are the record of what was forecast, and a new
    computation is a new snapshot (``runway_snapshot_create``).
    """
    assign(runway_snapshot, data, RUNWAY_SNAPSHOT_FIELDS)
    return save_checked(runway_snapshot)
