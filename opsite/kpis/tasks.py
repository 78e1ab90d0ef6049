"""Project-wide Celery tasks: thin, taking dates (ISO strings), calling the rollups."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from celery import shared_task
from django.utils import timezone

from opsite.celery import IDEMPOTENT_TASK_OPTIONS
from opsite.core.recompute import ROLLUPS, enqueue_recompute, pending_kinds, recompute_succeeded

logger = logging.getLogger(__name__)

# Well below the broker's visibility timeout (an hour); the full recompute at ten times the demo's
# size takes about a minute.
ROLLUPS_SOFT_TIME_LIMIT = 15 * 60
ROLLUPS_TIME_LIMIT = 20 * 60

# A request older than this that is still pending was lost (broker down), not merely queued.
PENDING_GRACE = timedelta(minutes=10)


def parse_as_of(as_of: str | None) -> date | None:
    """The ``as_of`` argument of a task: ``None`` or an ISO date string (tasks take JSON, not dates)."""
    if as_of is None:
        return None
    try:
        return date.fromisoformat(as_of)
    except (TypeError, ValueError):
        raise ValueError(f"as_of must be an ISO date such as 2024-12-31, not {as_of!r}.") from None


@shared_task(
    name="opsite.kpis.tasks.recompute_rollups",
    soft_time_limit=ROLLUPS_SOFT_TIME_LIMIT,
    time_limit=ROLLUPS_TIME_LIMIT,
    **IDEMPOTENT_TASK_OPTIONS,
)
def recompute_rollups(as_of: str | None = None) -> dict[str, Any]:
    """Recompute every stored impact rollup as of ``as_of`` (default: the rollups' own choice).

    Safe to run twice, or twice at once: the rollup store upserts by key and only rewrites a row
    whose value changed.
    """
    day = parse_as_of(as_of)
    started_at = timezone.now()
    from opsite.kpis.rollups import recompute_rollups as recompute

    recompute(as_of=day)
    recompute_succeeded(ROLLUPS, started_at=started_at)
    return {"kind": ROLLUPS, "as_of": as_of}


@shared_task(name="opsite.kpis.tasks.retry_pending_recomputes", soft_time_limit=60, time_limit=90)
def retry_pending_recomputes() -> list[str]:
    """Enqueue again the recomputes still pending after :data:`PENDING_GRACE` (lost while the
    broker was down). Run by the beat; a duplicate of one still queued is harmless (idempotent)."""
    kinds = pending_kinds(requested_before=timezone.now() - PENDING_GRACE)
    for kind in kinds:
        logger.info("Enqueueing the pending %s recompute again.", kind)
        enqueue_recompute(kind)
    return kinds
