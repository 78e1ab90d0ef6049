"""``manage.py import_cloud_costs``: daily cloud costs from the cost-monitoring services, saved answers, or a CSV."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from communities.cost_import import cost_import


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from None


class Command(BaseCommand):
    help = (
        "Import daily cloud costs per hub and component. With no file, ask every enabled cost source "
        "(or --cluster) for the days after its latest cost, the last few again. Files: --from-file "
        "(saved answers of the JupyterHub cost-monitoring service, with --cluster) and --csv "
        "(date,cluster,hub,component,cost,currency). Each cluster and each file is written whole or "
        "not at all; hubs opsite does not know are reported, not written."
    )

    def add_arguments(self, parser):
        parser.add_argument("--cluster", help="Only this cluster (required with --from-file and --save-to).")
        parser.add_argument(
            "--since", type=_day, help="First day (default: after the latest cost, less a few)."
        )
        parser.add_argument("--until", type=_day, help="Last day (default: yesterday).")
        parser.add_argument("--from-file", metavar="PATH", help="Saved answers, instead of the service.")
        parser.add_argument(
            "--save-to", metavar="PATH", help="Also save the service's answers (with --cluster)."
        )
        parser.add_argument(
            "--csv", metavar="PATH", help="A CSV of date,cluster,hub,component,cost,currency."
        )

    def handle(self, *args, **options):
        try:
            report = cost_import(
                cluster=options["cluster"],
                since=options["since"],
                until=options["until"],
                from_file=options["from_file"],
                save_to=options["save_to"],
                csv=options["csv"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        if not report.parts:
            self.stdout.write(self.style.WARNING("No enabled cost source and no file: nothing to import."))
        for part in report.parts:
            style = self.style.ERROR if part.failed else self.style.SUCCESS
            self.stdout.write(style(str(part)))
        if report.failed:
            # The failures again, in the error itself: ``manage.py`` prints it on stderr and exits
            # 1, so a cron job's mail or a CI log shows why without the rest of the output.
            failures = "\n".join(str(part) for part in report.parts if part.failed)
            raise CommandError(f"Some batches failed; the others were written.\n{failures}")
