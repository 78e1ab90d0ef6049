"""``manage.py demo_superuser``: the demo logins, one superuser and one user per role."""

from __future__ import annotations

import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from funding.models import FunderReport
from funding.services import funder_report_update
from opsite.core.roles import FINANCE, LEADERSHIP, OPERATIONS

DEFAULT_PASSWORD = "opsite-demo"
# username: the role group it belongs to (None: a superuser, who needs none).
DEMO_USERS = {"admin": None, "operations": OPERATIONS, "finance": FINANCE, "leadership": LEADERSHIP}
REPORTS_OWNER = "finance"


class Command(BaseCommand):
    help = (
        "Create or update the demo logins: superuser `admin` and one user per role "
        "(password from OPSITE_DEMO_PASSWORD, default opsite-demo). Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/admin/", help="The login URL to print.")

    @transaction.atomic
    def handle(self, *args, url: str, **options):
        password = os.environ.get("OPSITE_DEMO_PASSWORD")
        # A well-known password is only acceptable on a development server.
        if not password and not settings.DEBUG:
            raise CommandError("DEBUG is off: set OPSITE_DEMO_PASSWORD to choose the demo password.")
        password = password or DEFAULT_PASSWORD
        User = get_user_model()
        for username, role in DEMO_USERS.items():
            user, created = User.objects.get_or_create(
                username=username, defaults={"email": f"{username}@example.org"}
            )
            wanted = {"is_active": True, "is_staff": True, "is_superuser": role is None}
            changed = [name for name, value in wanted.items() if getattr(user, name) != value]
            for name in changed:
                setattr(user, name, wanted[name])
            # Only re-hash when the password differs, so a second run leaves the row as it was.
            if created or not user.check_password(password):
                user.set_password(password)
                changed.append("password")
            if changed:
                user.save()
            groups = [Group.objects.get(name=role)] if role else []
            if {g.pk for g in user.groups.all()} != {g.pk for g in groups}:
                user.groups.set(groups)
        # The demo's funder reports are written by whoever keeps the books: the reminders go there.
        owner = User.objects.get(username=REPORTS_OWNER)
        for report in FunderReport.objects.filter(owner__isnull=True):
            funder_report_update(funder_report=report, data={"owner": owner})
        self.stdout.write(self.style.SUCCESS(f"Log in at {url}"))
        for username, role in DEMO_USERS.items():
            self.stdout.write(f"  {username:<11} {role or 'superuser'}")
        self.stdout.write(f"  password:   {password}")
