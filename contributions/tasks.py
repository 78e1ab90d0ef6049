"""Celery tasks of the contributions app: thin, taking ISO dates, calling the importer."""

from __future__ import annotations

from datetime import date
from typing import Any

from celery import shared_task

from opsite.celery import IDEMPOTENT_TASK_OPTIONS

# A run may wait out GitHub's search rate limit (30 requests a minute) for up to its wait budget
# (OPSITE_GITHUB_WAIT_BUDGET_SECONDS, 20 minutes by default); both limits stay below the broker's
# visibility timeout (an hour).
SYNC_SOFT_TIME_LIMIT = 30 * 60
SYNC_TIME_LIMIT = 35 * 60
# A rate-limited run is tried again this many times before the next daily run takes over.
SYNC_MAX_RETRIES = 3


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an ISO date such as 2024-12-31, not {value!r}.") from None


@shared_task(
    bind=True,
    name="contributions.tasks.sync_github",
    soft_time_limit=SYNC_SOFT_TIME_LIMIT,
    time_limit=SYNC_TIME_LIMIT,
    max_retries=SYNC_MAX_RETRIES,
    **IDEMPOTENT_TASK_OPTIONS,
)
def sync_github(self, since: str | None = None, until: str | None = None) -> dict[str, Any]:
    """Sync merged pull requests from GitHub (incremental unless ``since`` is given).

    Safe to run twice: the upsert is keyed by (repository, number) and a run lands whole or not
    at all. A run stopped by a long rate limit is retried when GitHub says the limit resets.
    """
    from contributions.github import pull_requests_sync
    from contributions.models import SyncRun

    run = pull_requests_sync(since=_day(since, "since"), until=_day(until, "until"))
    if run.status == SyncRun.Status.RATE_LIMITED and not self.request.is_eager:
        # Eager mode (the embedded default) would retry at once, inline: the next daily run
        # catches up instead.
        countdown = max(60, int((run.retry_at - run.finished_at).total_seconds()))
        raise self.retry(countdown=countdown)
    return {"run": run.pk, "status": run.status, "fetched": run.fetched, "created": run.created}
