"""Celery tasks of the runway: recompute snapshots, prune the old ones, and the daily alert to Leadership;
and the daily reminders to the owners of funder reports (``funding.reminders``).

Thin: each takes ids or ISO dates and calls a service (``funding.runway.snapshots``,
``funding.runway.retention``, ``funding.services.alerts``).
The runway's figures are sensitive (docs/roles.md "What is sensitive"): nothing here logs a
figure, only scenarios, snapshots and counts.
"""

from __future__ import annotations

import logging
from datetime import date

from celery import shared_task

from opsite.celery import IDEMPOTENT_TASK_OPTIONS
from opsite.core.recompute import RUNWAY, recompute_failed, recompute_started, recompute_succeeded

from .models import Scenario
from .services.alerts import runway_alert_send

logger = logging.getLogger(__name__)

# Both well below the broker's visibility timeout (an hour): three scenarios over 60 months take
# well under a second at ten times the demo's size; sending one e-mail takes seconds.
RUNWAY_SOFT_TIME_LIMIT = 4 * 60
RUNWAY_TIME_LIMIT = 5 * 60
ALERT_SOFT_TIME_LIMIT = 60
ALERT_TIME_LIMIT = 2 * 60
# A daily prune deletes a day's worth of snapshots in one statement; the first prune of years of
# history reads tens of thousands of small rows and deletes them in batches, in seconds.
PRUNE_SOFT_TIME_LIMIT = 4 * 60
PRUNE_TIME_LIMIT = 5 * 60
# A day's reminders are a handful of e-mails, each claimed before it is sent.
REMINDERS_SOFT_TIME_LIMIT = 4 * 60
REMINDERS_TIME_LIMIT = 5 * 60


def parse_day(value: str | None, name: str) -> date | None:
    """A task's date argument: ``None`` or an ISO date string (tasks take JSON, not dates)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an ISO date such as 2024-12-31, not {value!r}.") from None


@shared_task(
    name="funding.tasks.recompute_runway",
    soft_time_limit=RUNWAY_SOFT_TIME_LIMIT,
    time_limit=RUNWAY_TIME_LIMIT,
    **IDEMPOTENT_TASK_OPTIONS,
)
def recompute_runway(scenario_id: int | None = None) -> list[int]:
    """Recompute the runway of one scenario, or of every scenario; returns the snapshots' ids.

    A scenario deleted between enqueue and run is not an error: there is nothing left to compute.
    """
    from funding.runway.snapshots import runway_recompute, runway_recompute_all

    if scenario_id is None:
        # Only a recompute of every scenario pays off a pending "runway" request.
        started_at = recompute_started(RUNWAY)
        try:
            snapshots = runway_recompute_all()
        except Exception as error:
            recompute_failed(RUNWAY, error=error)
            raise
        recompute_succeeded(RUNWAY, started_at=started_at)
        return [snapshot.pk for snapshot in snapshots]
    scenario = Scenario.objects.filter(pk=scenario_id).first()
    if scenario is None:
        logger.info("Scenario %s no longer exists; no runway to recompute.", scenario_id)
        return []
    return [runway_recompute(scenario=scenario).pk]


@shared_task(
    name="funding.tasks.prune_runway_snapshots",
    soft_time_limit=PRUNE_SOFT_TIME_LIMIT,
    time_limit=PRUNE_TIME_LIMIT,
    **IDEMPOTENT_TASK_OPTIONS,
)
def prune_runway_snapshots(today: str | None = None) -> int:
    """Delete the snapshots the retention policy no longer keeps as of ``today`` (an ISO date,
    default today); returns how many. Safe to run twice: the second run deletes nothing."""
    from funding.runway import retention

    return retention.prune_snapshots(today=parse_day(today, "today"))


@shared_task(
    name="funding.tasks.runway_alert",
    soft_time_limit=ALERT_SOFT_TIME_LIMIT,
    time_limit=ALERT_TIME_LIMIT,
    **IDEMPOTENT_TASK_OPTIONS,
)
def runway_alert() -> int | None:
    """Alert Leadership when the default scenario's runway needs attention; returns the alert's id."""
    alert = runway_alert_send()
    return alert.pk if alert else None


@shared_task(
    name="funding.tasks.funder_report_reminders",
    soft_time_limit=REMINDERS_SOFT_TIME_LIMIT,
    time_limit=REMINDERS_TIME_LIMIT,
    **IDEMPOTENT_TASK_OPTIONS,
)
def funder_report_reminders(today: str | None = None) -> int:
    """E-mail the owners of funder reports due in 35 or 7 days (``today`` an ISO date, default today);
    returns how many were sent. Safe to run twice or to redeliver: each reminder is claimed in the
    database before it is sent, so a second run sends nothing already sent."""
    from funding.reminders import funder_report_reminders_send

    return len(funder_report_reminders_send(today=parse_day(today, "today")))
