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
    removed: list[str]  # the labels of the adjustments removed


def _quoted(labels: Sequence[str]) -> str:
    quoted = [f"“{label}”" for label in labels]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def saved_message(*, scenario: Scenario, saved: SavedWhatIfs) -> str:
    """What was saved where, in one sentence: ``Saved the hire “Data engineer” to scenario Base.``"""
    parts = []
    created = saved.created
    if created:
        # The kinds' values are nouns already: hire, inflow, outflow, delay.
        noun = f"the {created[0].kind}" if len(created) == 1 else f"{len(created)} adjustments"
        parts.append(f"Saved {noun} {_quoted([item.label for item in created])} to scenario {scenario.name}")
    if saved.removed:
        verb = "removed" if parts else "Removed"
        parts.append(f"{verb} {_quoted(saved.removed)} from scenario {scenario.name}")
    return ("; ".join(parts) or f"Nothing was changed in scenario {scenario.name}") + "."


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
    removed = []
    # Through the service, one by one: a what-if removed here is removed as the admin and the API
    # remove one (the runway recompute it asks for is collapsed into one after the commit).
    for adjustment in ScenarioAdjustment.objects.filter(scenario=scenario, pk__in=removals).order_by("pk"):
        scenario_adjustment_delete(scenario_adjustment=adjustment)
        removed.append(adjustment.label)
    return SavedWhatIfs(created=created, removed=removed)
