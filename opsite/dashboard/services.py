"""Keeping a what-if: previewed adjustments become the scenario's saved adjustments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from funding.models import Grant, Scenario, ScenarioAdjustment
from funding.runway.snapshots import runway_preview
from funding.services import scenario_adjustment_create, scenario_adjustment_delete


@dataclass(frozen=True)
class SavedWhatIfs:
    created: list[ScenarioAdjustment]
    removed: int


@transaction.atomic
def scenario_what_ifs_save(*, scenario: Scenario, what_ifs: Sequence[Mapping[str, Any]]) -> SavedWhatIfs:
    """Save what-ifs to ``scenario``: create the added adjustments, delete the ones left out.

    The what-ifs are checked first exactly as the preview checked them (``runway_preview``, which
    writes nothing), so what was previewed is what is saved, or nothing is: one bad entry raises
    ``ValidationError`` before any row is written. Rows are created and deleted by the funding
    services; the saved rows ask for the runway recompute themselves (model signals, after the
    commit).
    """
    runway_preview(scenario=scenario, adjustments=what_ifs)
    removals = [item["remove"] for item in what_ifs if "remove" in item]
    additions = [item for item in what_ifs if "remove" not in item]
    references = {item["grant"] for item in additions if item.get("grant")}
    grants = {grant.reference: grant for grant in Grant.objects.filter(reference__in=references)}
    created = [
        scenario_adjustment_create(
            scenario=scenario,
            **{
                key: (grants[value] if key == "grant" else value)
                for key, value in item.items()
                if key
                in (
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
            },
        )
        for item in additions
    ]
    removed = 0
    # Through the service, one by one: a what-if removed here is removed as the admin and the API
    # remove one (the runway recompute it asks for is collapsed into one after the commit).
    for adjustment in ScenarioAdjustment.objects.filter(scenario=scenario, pk__in=removals).order_by("pk"):
        scenario_adjustment_delete(scenario_adjustment=adjustment)
        removed += 1
    return SavedWhatIfs(created=created, removed=removed)
