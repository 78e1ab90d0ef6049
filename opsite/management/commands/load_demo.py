"""``manage.py load_demo [--if-empty]``: the deterministic demo organization (see opsite.demo)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from communities.models import Community
from opsite.demo.loader import demo_load


class Command(BaseCommand):
    help = "Load the demo organization. Idempotent: rows already there are left as they are."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already has communities (used by `make run`).",
        )

    def handle(self, *args, if_empty: bool = False, **options):
        if if_empty and Community.objects.exists():
            self.stdout.write("The database already has communities: demo data not loaded.")
            return
        started = time.monotonic()
        created = demo_load()
        seconds = time.monotonic() - started
        if not sum(created.values()):
            self.stdout.write(f"Demo data already loaded: nothing to add ({seconds:.1f} s).")
            return
        for label, count in sorted(created.items()):
            if count and options["verbosity"] > 1:
                self.stdout.write(f"  {label}: {count}")
        self.stdout.write(
            self.style.SUCCESS(f"Demo data loaded: {sum(created.values())} rows in {seconds:.1f} s.")
        )
