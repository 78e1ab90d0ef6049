"""The rows the rollup recompute leaves out for a date outside the plausible range, as the
dashboard reports them.

Each app's rollups skip rows dated outside the plausible range (``opsite.core.dates``: stored
before the range was checked, or by raw SQL). The recompute counts them by table
(:func:`implausible_rows`) and stores the counts as the ``data-quality`` rollup
(:func:`data_quality_value`); the dashboard reads them back as sentences
(:func:`data_quality_issues`). Moved out of :mod:`opsite.kpis.rollups`, which still names them.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps

from communities import cost_rollups
from communities import rollups as usage_rollups
from contracts import rollups as contract_rollups
from contributions import rollups as contribution_rollups
from funding import rollups as funding_rollups
from opsite.core.dates import plausible_range
from staff import rollups as staff_rollups

from .models import Rollup

DATA_QUALITY = "data-quality"


def implausible_rows() -> dict[str, int]:
    """Rows each app's rollups leave out for a date outside the plausible range, by model label
    (only tables with some): seven count queries, whatever the number of rows."""
    counts: dict[str, int] = {}
    for app in (usage_rollups, staff_rollups, contribution_rollups, funding_rollups, contract_rollups):
        counts.update(app.implausible_rows())
    counts.update(cost_rollups.implausible_rows())
    return {label: count for label, count in sorted(counts.items()) if count}


def data_quality_value(skipped: dict[str, int]) -> dict[str, Any]:
    """The value of the ``data-quality`` rollup for the rows ``skipped``, by model label."""
    # No timestamp: the row keeps its version (and computed_at) while nothing changes.
    first, last = plausible_range()
    return {"range": [first.isoformat(), last.isoformat()], "skipped": skipped}


def data_quality_issues() -> list[str]:
    """What the last rollup recompute left out, as sentences for the dashboard (one query).

    Empty when nothing was left out (or before the first recompute). A sentence names the table
    and the number of rows, never a row's values.
    """
    stored = Rollup.objects.filter(key=DATA_QUALITY).values_list("value", flat=True).first()
    return data_quality_sentences(stored)


def data_quality_sentences(stored: dict[str, Any] | None) -> list[str]:
    """The sentences of a stored ``data-quality`` rollup value (for a reader that has it already)."""
    if not stored:
        return []
    first, last = stored["range"]
    issues = []
    # Sorted here: PostgreSQL's jsonb does not keep the stored order of an object's keys.
    for label, count in sorted(stored["skipped"].items()):
        try:
            meta = apps.get_model(label)._meta
            name = meta.verbose_name if count == 1 else meta.verbose_name_plural
        except LookupError:
            name = "rows"
        issues.append(
            f"{count} {name} ({label}) {'is' if count == 1 else 'are'} dated outside {first} to {last} "
            "and left out of the impact figures; correct the dates or delete the rows."
        )
    return issues
