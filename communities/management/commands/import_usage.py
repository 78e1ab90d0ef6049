"""``manage.py import_usage``: daily active users from Prometheus, saved answers, or the CSVs."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from communities.prometheus import usage_import


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from None


class Command(BaseCommand):
    help = (
        "Import hubs' active users. With no file, ask every enabled Prometheus source (or --cluster) "
        "for the days it is missing. Files: --from-file (a saved query_range answer, with --cluster), "
        "--hub-csv (date,hub,users,cluster: 30-day active users per hub) and --cluster-csv "
        "(date,cluster,unique_users). Each cluster and each file is written whole or not at all."
    )

    def add_arguments(self, parser):
        parser.add_argument("--cluster", help="Only this cluster (required with --from-file).")
        parser.add_argument("--since", type=_day, help="First day (default: after the latest count).")
        parser.add_argument("--until", type=_day, help="Last day (default: yesterday).")
        parser.add_argument(
            "--from-file", metavar="PATH", help="A saved Prometheus answer, instead of the server."
        )
        parser.add_argument(
            "--save-to", metavar="PATH", help="Also save the server's answers (with --cluster)."
        )
        parser.add_argument("--hub-csv", metavar="PATH", help="The per-hub usage CSV.")
        parser.add_argument("--cluster-csv", metavar="PATH", help="The per-cluster unique users CSV.")

    def handle(self, *args, **options):
        try:
            report = usage_import(
                cluster=options["cluster"],
                since=options["since"],
                until=options["until"],
                from_file=options["from_file"],
                save_to=options["save_to"],
                hub_csv=options["hub_csv"],
                cluster_csv=options["cluster_csv"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        if not report.clusters and not report.files:
            self.stdout.write(
                self.style.WARNING("No enabled Prometheus source and no file: nothing to import.")
            )
        for part in [*report.clusters, *report.files]:
            style = self.style.ERROR if part.failed else self.style.SUCCESS
            self.stdout.write(style(str(part)))
        if report.failed:
            # The failures again, in the error itself: ``manage.py`` prints it on stderr and exits
            # 1, so a cron job's mail or a CI log shows why without the rest of the output.
            failures = "\n".join(str(part) for part in [*report.clusters, *report.files] if part.failed)
            raise CommandError(f"Some batches failed; the others were written.\n{failures}")
