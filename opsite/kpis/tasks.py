"""Project-wide Celery tasks: thin, taking dates (ISO strings), calling the rollups."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from celery import shared_task
from django.utils import timezone

from opsite.celery import IDEMPOTENT_TASK_OPTIONS
from opsite.core.recompute import (
    ROLLUPS,
    enqueue_recompute,
    pending_kinds,
    recompute_failed,
    recompute_started,
    recompute_succeeded,
)

logger = logging.getLogger(__name__)

# Well below the broker's visibility timeout (an hour); the full recompute at ten times the demo's
# size takes about a minute.
ROLLUPS_SOFT_TIME_LIMIT = 15 * 60
ROLLUPS_TIME_LIMIT = 20 * 60

# A request still owed this long after it was made, with no live recompute queued or running for
# it, was lost (broker down, worker killed); the beat runs every minute, so a lost recompute is
# enqueued again within a few minutes.
PENDING_GRACE = timedelta(minutes=1)


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
    started_at = recompute_started(ROLLUPS)
    from opsite.kpis.rollups import recompute_rollups as recompute

    try:
        recompute(as_of=day)
    except Exception as error:
        recompute_failed(ROLLUPS, error=error)
        raise
    recompute_succeeded(ROLLUPS, started_at=started_at)
    return {"kind": ROLLUPS, "as_of": as_of}


@shared_task(name="opsite.kpis.tasks.retry_pending_recomputes", soft_time_limit=60, time_limit=90)
def retry_pending_recomputes() -> list[str]:
    """Enqueue again the recomputes still owed after :data:`PENDING_GRACE` that no live recompute
    will pay (lost while the broker was down, or with a worker killed mid-task). Run by the beat
    every minute; one still queued is never queued twice (``enqueue_recompute`` coalesces)."""
    kinds = pending_kinds(requested_before=timezone.now() - PENDING_GRACE)
    for kind in kinds:
        logger.info("Enqueueing the pending %s recompute again.", kind)
        enqueue_recompute(kind)
    return kinds
