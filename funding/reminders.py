"""Reminders to the owners of funder reports, 35 and 7 days before a report is due.

The daily task (``funding.tasks.funder_report_reminders``) and ``manage.py
send_funder_report_reminders`` only call :func:`funder_report_reminders_send`.

Each reminder goes out at most once, however many workers run the job and however often: its
``reminded_*_at`` column is the claim, taken with a conditional ``UPDATE ... WHERE reminded_*_at IS
NULL`` that only one run can win (as healthchecks' ``sendalerts`` claims a check). The claim is
committed before the e-mail leaves, so this must run outside a transaction; if sending fails the
claim is released for the next run, and if the process dies in between the reminder is lost rather
than sent twice. Changing a report's ``due_on`` (``funder_report_update``) clears both claims: a
new deadline gets its own reminders.

The mails and log lines carry no money figure; log lines name reports by id, never an address.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .models import FunderReport

logger = logging.getLogger(__name__)

EARLY_DAYS = 35
LATE_DAYS = 7
# The claim column of each reminder.
CLAIM_FIELDS = {EARLY_DAYS: "reminded_35_at", LATE_DAYS: "reminded_7_at"}


@dataclass(frozen=True)
class Reminder:
    """A reminder sent: which report, which reminder (35 or 7 days before), how many days were left."""

    report_id: int
    days_before: int
    days_left: int


def reminder_candidates(*, today: date) -> QuerySet[FunderReport]:
    """Open reports due from ``today`` to ``today + 35 days`` that still owe a reminder to an active
    owner with an e-mail: one query, on the ``funding_report_open_due`` index (``submitted_on`` null,
    ``due_on`` in range). Reports already late get none: the dashboard lists them as late."""
    return (
        FunderReport.objects.filter(
            submitted_on__isnull=True,
            due_on__gte=today,
            due_on__lte=today + timedelta(days=EARLY_DAYS),
            owner__is_active=True,
        )
        .filter(Q(reminded_35_at__isnull=True) | Q(reminded_7_at__isnull=True))
        .exclude(owner__email="")
        .select_related("grant", "owner")
        .order_by("due_on", "id")
    )


def reminder_due(report: FunderReport, *, today: date) -> int | None:
    """Which reminder ``report`` is owed on ``today`` (35 or 7), or ``None``.

    Inside the last 7 days only the 7-day one is owed, even when the 35-day one never went out (the
    report was created late, or the job was down): one mail, not two at once.
    """
    days_left = (report.due_on - today).days
    if days_left < 0 or days_left > EARLY_DAYS:
        return None
    if days_left <= LATE_DAYS:
        return LATE_DAYS if report.reminded_7_at is None else None
    return EARLY_DAYS if report.reminded_35_at is None else None


def reminder_claim(*, report: FunderReport, days_before: int, now: datetime) -> bool:
    """Claim a reminder for this run; ``True`` only for the one run whose update matched the row.

    The update also requires the ``due_on`` read and no submission, so a report moved or submitted
    since the candidates were read is not reminded on stale figures. Claiming the 7-day reminder
    marks the 35-day one too (superseded) unless it was sent already, keeping its time.
    """
    field = CLAIM_FIELDS[days_before]
    values: dict[str, object] = {field: now}
    if days_before == LATE_DAYS:
        values["reminded_35_at"] = Coalesce(F("reminded_35_at"), now)
    claimed = FunderReport.objects.filter(
        pk=report.pk, due_on=report.due_on, submitted_on__isnull=True, **{f"{field}__isnull": True}
    ).update(**values)
    return claimed == 1


def reminder_release(*, report: FunderReport, days_before: int, now: datetime) -> None:
    """Give back a claim whose e-mail failed, so the next run tries again.

    Only columns still holding this run's ``now`` are cleared: a claim another run or a new deadline
    set since is not ours to release.
    """
    for field in {CLAIM_FIELDS[days_before], CLAIM_FIELDS[EARLY_DAYS]}:
        FunderReport.objects.filter(pk=report.pk, **{field: now}).update(**{field: None})


def reminder_link(report: FunderReport) -> str:
    """The report's page in the admin, absolute when ``OPSITE_SITE_URL`` is set."""
    path = reverse("admin:funding_funderreport_change", args=[report.pk])
    return f"{settings.OPSITE_SITE_URL.rstrip('/')}{path}"


def reminder_message(*, report: FunderReport, days_before: int, today: date) -> EmailMessage:
    """The e-mail to the report's owner: the grant, kind, period, due date, days left and a link.

    No money figure: the owner may be anyone, and a mailbox is not a dashboard.
    """
    context = {
        "report": report,
        "grant": report.grant,
        "kind": report.get_kind_display(),
        "days_before": days_before,
        "days_left": (report.due_on - today).days,
        "link": reminder_link(report),
    }
    # A subject is one line, whatever the template's final newline.
    subject = " ".join(render_to_string("funding/email/funder_report_reminder_subject.txt", context).split())
    return EmailMessage(
        subject=subject,
        body=render_to_string("funding/email/funder_report_reminder_body.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[report.owner.email],
    )


def funder_report_reminders_send(*, today: date | None = None) -> list[Reminder]:
    """Send the reminders owed on ``today`` (default: today, UTC); returns those sent.

    One query reads the candidates; each reminder is then claimed (committed), sent, and released
    if sending raised. A failure is logged and does not stop the others. Not atomic on purpose: a
    claim must be committed before its e-mail leaves, or a second run could not see it.
    """
    today = today or timezone.localdate()
    sent: list[Reminder] = []
    for report in reminder_candidates(today=today):
        days_before = reminder_due(report, today=today)
        if days_before is None:
            continue
        now = timezone.now()
        if not reminder_claim(report=report, days_before=days_before, now=now):
            logger.info(
                "The %d-day reminder of funder report %s was claimed by another run.", days_before, report.pk
            )
            continue
        try:
            reminder_message(report=report, days_before=days_before, today=today).send()
        except Exception as error:
            reminder_release(report=report, days_before=days_before, now=now)
            # The error's class only: an SMTP error's text may quote the owner's address.
            logger.warning(
                "The %d-day reminder of funder report %s failed (%s); the next run retries it.",
                days_before,
                report.pk,
                type(error).__name__,
            )
            continue
        days_left = (report.due_on - today).days
        logger.info(
            "Sent the %d-day reminder of funder report %s (%d days left).", days_before, report.pk, days_left
        )
        sent.append(Reminder(report_id=report.pk, days_before=days_before, days_left=days_left))
    return sent
