"""``manage.py prune_runway_snapshots [--today YYYY-MM-DD]``: apply the snapshots' retention policy.

The same service as the daily beat job (``funding.tasks.prune_runway_snapshots``), for a first prune
after an upgrade or by hand: every snapshot of the last ``OPSITE_RUNWAY_KEEP_ALL_DAYS`` days is kept,
then the last of each day until ``OPSITE_RUNWAY_KEEP_DAILY_DAYS``, then the last of each week; never
a scenario's latest, nor one an alert references (docs/definitions.md "Runway snapshots"). It prints
a count, never a figure of the runway.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from funding.runway import retention


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from None


class Command(BaseCommand):
    help = (
        "Delete the runway snapshots the retention policy no longer keeps: all are kept for "
        "OPSITE_RUNWAY_KEEP_ALL_DAYS days, then the last of each day until OPSITE_RUNWAY_KEEP_DAILY_DAYS, "
        "then the last of each ISO week; never a scenario's latest, nor one a runway alert references."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--today", type=_day, help="Apply the policy as on this day (default: today), YYYY-MM-DD."
        )

    def handle(self, *args, today: date | None = None, **options):
        deleted = retention.prune_snapshots(today=today)
        self.stdout.write(
            self.style.SUCCESS(
                f"Deleted {deleted} runway snapshot{'' if deleted == 1 else 's'}; every one of the last "
                f"{settings.OPSITE_RUNWAY_KEEP_ALL_DAYS} days is kept, then one a day until "
                f"{settings.OPSITE_RUNWAY_KEEP_DAILY_DAYS} days, then one a week."
            )
        )
