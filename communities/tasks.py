"""Celery tasks of the communities app: thin, calling the usage and cloud cost importers."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from opsite.celery import IDEMPOTENT_TASK_OPTIONS

# Three range queries per cluster over the missing days take seconds; the limits leave room for
# many clusters and a slow server (each request has its own timeout), below the broker's
# visibility timeout (an hour).
IMPORT_SOFT_TIME_LIMIT = 15 * 60
IMPORT_TIME_LIMIT = 20 * 60


@shared_task(
    name="communities.tasks.import_usage",
    soft_time_limit=IMPORT_SOFT_TIME_LIMIT,
    time_limit=IMPORT_TIME_LIMIT,
    **IDEMPOTENT_TASK_OPTIONS,
)
def import_usage(cluster: str | None = None) -> dict[str, Any]:
    """Import the missing days of active users from every enabled Prometheus source (or one).

    Safe to run twice: counts are upserted by (hub, date, period), each cluster in one
    transaction. A cluster whose server fails is reported and retried by the next run, which
    starts again from that cluster's latest count.
    """
    from communities.prometheus import usage_import

    report = usage_import(cluster=cluster)
    return {"written": report.written, "failed": report.failed, "report": report.lines()}


@shared_task(
    name="communities.tasks.import_cloud_costs",
    soft_time_limit=IMPORT_SOFT_TIME_LIMIT,
    time_limit=IMPORT_TIME_LIMIT,
    **IDEMPOTENT_TASK_OPTIONS,
)
def import_cloud_costs(cluster: str | None = None) -> dict[str, Any]:
    """Import the new days of cloud costs (and the last few again) from every enabled cost source.

    Safe to run twice: costs are upserted by (date, cluster, hub, component), each cluster in one
    transaction, and an unchanged answer changes nothing. A cluster whose service fails is reported
    and retried by the next run, which starts again from that cluster's latest cost.
    """
    from communities.cost_import import cost_import

    report = cost_import(cluster=cluster)
    return {
        "written": report.written,
        "failed": report.failed,
        "unknown_hubs": report.unknown_hubs,
        "report": report.lines(),
    }
