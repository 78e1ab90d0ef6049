"""``manage.py send_funder_report_reminders [--today YYYY-MM-DD]``: e-mail the owners of funder reports.

The same service as the daily beat job (``funding.tasks.funder_report_reminders``), for a run by
hand or after an outage: each open report's owner is reminded 35 and 7 days before it is due, each
reminder once, even if this runs beside the beat job (docs/architecture.md "Funder report
reminders"). It prints a count, never an address or a figure.
"""

from __future__ import annotations

from datetime import date
from typing import cast

from django.core.management.base import BaseCommand, CommandError

from funding.reminders import funder_report_reminders_send
from funding.tasks import parse_day


def _day(value: str) -> date:
    # argparse turns a ValueError into "invalid _day value"; a CommandError says what is expected.
    try:
        return cast(date, parse_day(value, "--today"))  # None only for None, and argparse gives a str
    except ValueError as error:
        raise CommandError(str(error)) from None


class Command(BaseCommand):
    help = (
        "E-mail the owners of open funder reports due in 35 or 7 days (only the 7-day reminder inside "
        "the last week); each reminder is sent once, however often this runs."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--today", type=_day, help="Send what is owed on this day (default: today), YYYY-MM-DD."
        )

    def handle(self, *args, today: date | None = None, **options):
        sent = funder_report_reminders_send(today=today)
        self.stdout.write(
            self.style.SUCCESS(f"Sent {len(sent)} funder report reminder{'' if len(sent) == 1 else 's'}.")
        )
