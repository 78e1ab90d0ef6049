"""``manage.py load_demo [--if-empty] [--today YYYY-MM-DD]``: the demo organization (see opsite.demo)."""

from __future__ import annotations

import contextlib
import re
import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from communities.models import Community
from opsite.demo.dates import demo_end
from opsite.demo.loader import demo_load


def today_from(value: str) -> date:
    """The day ``--today`` names: a real date written YYYY-MM-DD, not after today."""
    day = None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        with contextlib.suppress(ValueError):  # 2026-02-30: not a day
            day = date.fromisoformat(value)
    if day is None:
        raise CommandError(f"--today takes a date written YYYY-MM-DD, such as 2026-12-03; got {value!r}.")
    if day > timezone.localdate():
        raise CommandError(
            f"--today {value} is after today ({timezone.localdate():%Y-%m-%d}): the demo runs to the "
            "last month-end before the day it is loaded for, and that day has not come yet."
        )
    return day


class Command(BaseCommand):
    help = (
        "Load the demo organization, its history continued to the last month-end before today. "
        "Idempotent: rows already there are left as they are."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already has communities (used by `make run`).",
        )
        parser.add_argument(
            "--today",
            metavar="YYYY-MM-DD",
            help="Load the demo as if today were this day (default: today). The same day always "
            "gives the same rows.",
        )

    def handle(self, *args, if_empty: bool = False, today: str | None = None, **options):
        day = today_from(today) if today is not None else timezone.localdate()
        if if_empty and Community.objects.exists():
            self.stdout.write("The database already has communities: demo data not loaded.")
            return
        started = time.monotonic()
        created = demo_load(today=day)
        seconds = time.monotonic() - started
        if not sum(created.values()):
            self.stdout.write(f"Demo data already loaded: nothing to add ({seconds:.1f} s).")
            return
        for label, count in sorted(created.items()):
            if count and options["verbosity"] > 1:
                self.stdout.write(f"  {label}: {count}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded to {demo_end(day):%Y-%m-%d}: {sum(created.values())} rows in {seconds:.1f} s."
            )
        )
