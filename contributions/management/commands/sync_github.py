"""``manage.py sync_github``: merged pull requests of the roster, from GitHub or a saved file."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from contributions.github import pull_requests_sync
from contributions.models import SyncRun


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from None


class Command(BaseCommand):
    help = (
        "Fetch the pull requests that staff (their GitHub handles) merged in the organizations of "
        "the key upstream communities, and upsert them; incremental from the last successful run. "
        "The token comes from the GITHUB_TOKEN environment variable."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", type=_day, help="First merge date (default: incremental).")
        parser.add_argument("--until", type=_day, help="Last merge date (default: today).")
        parser.add_argument(
            "--from-file", metavar="PATH", help="Read a saved search answer instead of calling GitHub."
        )
        parser.add_argument("--save-to", metavar="PATH", help="Also save what was fetched, for --from-file.")

    def handle(self, *args, since, until, from_file, save_to, **options):
        try:
            run = pull_requests_sync(since=since, until=until, from_file=from_file, save_to=save_to)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        window = f"{run.since or '…'} to {run.until or '…'}"
        if run.status == SyncRun.Status.RATE_LIMITED:
            raise CommandError(
                f"Run {run.pk} ({window}) stopped: {run.error} Try again after {run.retry_at:%H:%M} UTC."
            )
        if run.status != SyncRun.Status.SUCCEEDED:
            raise CommandError(f"Run {run.pk} ({window}) failed, nothing written: {run.error}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Run {run.pk} ({window}): {run.fetched} pull requests fetched, {run.created} created, "
                f"{run.updated} updated, {run.bots} by bots, {run.requests} requests."
            )
        )
        if run.unknown_handles:
            self.stdout.write(
                self.style.WARNING(
                    f"GitHub does not know these staff handles: {', '.join(run.unknown_handles)}"
                )
            )
        if run.details.get("unknown_orgs"):
            self.stdout.write(
                self.style.WARNING(
                    f"GitHub cannot search these organizations: {', '.join(run.details['unknown_orgs'])}"
                )
            )
        for warning in run.details.get("warnings", []):
            self.stdout.write(self.style.WARNING(warning))
