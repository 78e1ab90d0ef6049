"""Thinning the stored runway snapshots as they age: the retention policy (docs/definitions.md).

A snapshot is stored at every recompute, about four a day, and read mostly while recent: the
dashboard's history draws a point a day for the last weeks and coarser before. Kept whole, the
table would only grow. The policy, as of ``today``, with the settings' defaults:

- every snapshot computed in the last ``OPSITE_RUNWAY_KEEP_ALL_DAYS`` days (90) is kept: one
  computed on ``today - 90 days`` or later;
- before that, until ``OPSITE_RUNWAY_KEEP_DAILY_DAYS`` days (365), the last snapshot of each
  scenario's day;
- before that, the last snapshot of each scenario's ISO week (Monday to Sunday). A week cut by that
  day keeps its last snapshot on each side until it is past it whole.

Whatever its age, a snapshot is never deleted while it is its scenario's latest (it is the last of
its day or week, and the delete checks that a later one exists), nor while a ``RunwayAlert``
references it: the alert's ``on_delete`` is ``SET_NULL``, which would keep the alert but lose which
forecast it was about. Days are read in the site's time zone (``TIME_ZONE``, UTC). A second run on
the same day deletes nothing.

Queries, whatever the number of snapshots: one read of the candidates' id, scenario, time and
alert (no ``result``), then one ``DELETE`` per :data:`DELETE_BATCH` snapshots deleted (one on a
daily run; the first prune of years of history takes a few).

Nothing here logs a figure: the runway is sensitive (docs/roles.md); only counts are logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from ..models import RunwayAlert, RunwaySnapshot

logger = logging.getLogger(__name__)

# Ids per DELETE: well under the 999 parameters of the oldest SQLite builds.
DELETE_BATCH = 500

# (id, scenario id, computed at, referenced by an alert)
Row = tuple[int, int, datetime, bool]


def retention_days() -> tuple[int, int]:
    """(``OPSITE_RUNWAY_KEEP_ALL_DAYS``, ``OPSITE_RUNWAY_KEEP_DAILY_DAYS``), checked again here: the
    start refuses bad values, but a settings override (a test, a shell) skips the start."""
    keep_all, keep_daily = settings.OPSITE_RUNWAY_KEEP_ALL_DAYS, settings.OPSITE_RUNWAY_KEEP_DAILY_DAYS
    if not isinstance(keep_all, int) or isinstance(keep_all, bool) or not 1 <= keep_all <= 36_500:
        raise ImproperlyConfigured(
            f"OPSITE_RUNWAY_KEEP_ALL_DAYS must be a whole number of days from 1 to 36500; got {keep_all!r}."
        )
    if (
        not isinstance(keep_daily, int)
        or isinstance(keep_daily, bool)
        or not keep_all <= keep_daily <= 36_500
    ):
        raise ImproperlyConfigured(
            f"OPSITE_RUNWAY_KEEP_DAILY_DAYS must be a whole number of days from OPSITE_RUNWAY_KEEP_ALL_DAYS "
            f"({keep_all}) to 36500; got {keep_daily!r}."
        )
    return keep_all, keep_daily


def snapshots_to_delete(rows: Iterable[Row], *, keep_daily_from: date) -> list[int]:
    """The ids among ``rows`` (snapshots older than the keep-all days) the policy deletes, sorted.

    Pure. A snapshot computed on ``keep_daily_from`` or later is kept if it is the last of its
    scenario's day, an older one if it is the last of its scenario's ISO week; one an alert
    references is kept whatever it is, and still counts as the last of its day or week.
    """
    last: dict[tuple, tuple[datetime, int]] = {}
    candidates: list[int] = []
    for pk, scenario_id, computed_at, alerted in rows:
        day = timezone.localtime(computed_at).date()
        period = (day,) if day >= keep_daily_from else tuple(day.isocalendar()[:2])
        key = (scenario_id, *period)
        if key not in last or (computed_at, pk) > last[key]:
            last[key] = (computed_at, pk)
        if not alerted:
            candidates.append(pk)
    kept = {pk for _, pk in last.values()}
    return sorted(pk for pk in candidates if pk not in kept)


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _delete(ids: list[int]) -> int:
    """Delete ``ids``, a batch at a time, each only if a later snapshot of its scenario exists and no
    alert references it (checked in the ``DELETE`` itself, so a snapshot stored or alerted on since
    the read is safe)."""
    later = RunwaySnapshot.objects.filter(scenario=OuterRef("scenario")).filter(
        Q(computed_at__gt=OuterRef("computed_at"))
        | Q(computed_at=OuterRef("computed_at"), pk__gt=OuterRef("pk"))
    )
    alerted = RunwayAlert.objects.filter(snapshot=OuterRef("pk"))
    deleted = 0
    for start in range(0, len(ids), DELETE_BATCH):
        doomed = RunwaySnapshot.objects.filter(
            Exists(later), ~Exists(alerted), pk__in=ids[start : start + DELETE_BATCH]
        )
        # A plain DELETE: QuerySet.delete() would first read every row it deletes (``result``
        # included, tens of kilobytes each) to set the alerts' snapshot to NULL, though the
        # condition above leaves no alert to update, then delete them a hundred at a time.
        deleted += doomed._raw_delete(doomed.db)
    return deleted


@transaction.atomic
def prune_snapshots(*, today: date | None = None) -> int:
    """Delete the snapshots the retention policy no longer keeps as of ``today`` (default: today).

    Returns how many were deleted. Idempotent: run again the same day, it deletes nothing. Called
    by the daily task (``funding.tasks.prune_runway_snapshots``) and ``manage.py
    prune_runway_snapshots``.
    """
    today = today or timezone.localdate()
    keep_all, keep_daily = retention_days()
    keep_all_from = today - timedelta(days=keep_all)
    rows = RunwaySnapshot.objects.filter(computed_at__lt=_midnight(keep_all_from)).values_list(
        "pk", "scenario_id", "computed_at", "alert"
    )
    ids = snapshots_to_delete(
        ((pk, scenario_id, computed_at, alert is not None) for pk, scenario_id, computed_at, alert in rows),
        keep_daily_from=today - timedelta(days=keep_daily),
    )
    deleted = _delete(ids) if ids else 0
    logger.info(
        "Runway snapshots pruned as of %s: %d deleted (every one kept for %d days, one a day for %d).",
        today,
        deleted,
        keep_all,
        keep_daily,
    )
    return deleted
