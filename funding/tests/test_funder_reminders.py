"""The reminders to the owners of funder reports (funding.reminders), their task and their command.

The factory's report is an interim report on the first half of 2024, due 2024-07-30: its 35-day
reminder is owed from 2024-06-25 (July 30 less 30 days is June 30, less 5 more is June 25), its
7-day one from 2024-07-23.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from datetime import date, timedelta

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.core.management import CommandError, call_command
from django.db import connection

from funding import reminders
from funding.models import FunderReport
from funding.reminders import Reminder, funder_report_reminders_send
from funding.services import funder_report_update
from funding.tasks import funder_report_reminders

from .factories import FunderReportFactory, GrantFactory, UserFactory

DUE = date(2024, 7, 30)
DAY_35 = date(2024, 6, 25)
DAY_7 = date(2024, 7, 23)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def reload(report: FunderReport) -> FunderReport:
    return FunderReport.objects.get(pk=report.pk)


@pytest.fixture
def failing_mail(monkeypatch):
    """Every e-mail fails as an SMTP server refusing the recipient would (its text names them)."""

    def refuse(self, messages):
        raise smtplib.SMTPRecipientsRefused({messages[0].to[0]: (550, b"mailbox unavailable")})

    monkeypatch.setattr(EmailBackend, "send_messages", refuse)
    return monkeypatch


# --- once each, on the right days ------------------------------------------------------------


@pytest.mark.django_db
def test_a_report_gets_its_35_day_and_7_day_reminders_once_each_on_their_days():
    report = FunderReportFactory(due_on=DUE)
    sent_on: dict[date, list[Reminder]] = {}

    for day in days(DUE - timedelta(days=40), DUE + timedelta(days=5)):
        sent = funder_report_reminders_send(today=day)
        if sent:
            sent_on[day] = sent

    assert sent_on == {
        DAY_35: [Reminder(report_id=report.pk, days_before=35, days_left=35)],
        DAY_7: [Reminder(report_id=report.pk, days_before=7, days_left=7)],
    }
    assert len(mail.outbox) == 2
    assert [message.to for message in mail.outbox] == [[report.owner.email]] * 2
    report = reload(report)
    assert report.reminded_35_at is not None
    assert report.reminded_7_at is not None


@pytest.mark.django_db
def test_running_twice_the_same_day_sends_nothing_new():
    FunderReportFactory(due_on=DUE)

    assert len(funder_report_reminders_send(today=DAY_35)) == 1
    assert funder_report_reminders_send(today=DAY_35) == []
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_job_down_on_the_35th_day_catches_up_the_next_day():
    report = FunderReportFactory(due_on=DUE)

    sent = funder_report_reminders_send(today=DAY_35 + timedelta(days=3))

    assert sent == [Reminder(report_id=report.pk, days_before=35, days_left=32)]


@pytest.mark.django_db
def test_a_submitted_report_gets_no_reminder():
    report = FunderReportFactory(due_on=DUE, submitted_on=date(2024, 6, 20))

    for day in days(DAY_35, DUE):
        assert funder_report_reminders_send(today=day) == []

    assert mail.outbox == []
    assert reload(report).reminded_35_at is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "owner",
    [
        pytest.param(lambda: None, id="no-owner"),
        pytest.param(lambda: UserFactory(username="no-mail", email=""), id="owner-without-email"),
        pytest.param(lambda: UserFactory(username="gone", is_active=False), id="owner-inactive"),
    ],
)
def test_a_report_without_an_owner_to_mail_gets_no_reminder_and_no_claim(owner):
    report = FunderReportFactory(due_on=DUE, owner=owner())

    for day in (DAY_35, DAY_7):
        assert funder_report_reminders_send(today=day) == []

    assert mail.outbox == []
    report = reload(report)
    assert (report.reminded_35_at, report.reminded_7_at) == (None, None)


@pytest.mark.django_db
def test_a_report_created_inside_7_days_gets_only_the_7_day_reminder():
    report = FunderReportFactory(due_on=DUE)

    sent = funder_report_reminders_send(today=DUE - timedelta(days=4))
    for day in days(DUE - timedelta(days=3), DUE + timedelta(days=2)):
        sent += funder_report_reminders_send(today=day)

    assert sent == [Reminder(report_id=report.pk, days_before=7, days_left=4)]
    assert len(mail.outbox) == 1
    report = reload(report)
    # The 35-day reminder is marked as superseded, at the same instant.
    assert report.reminded_35_at == report.reminded_7_at is not None


@pytest.mark.django_db
def test_the_7_day_claim_keeps_the_time_the_35_day_reminder_went_out():
    report = FunderReportFactory(due_on=DUE)
    funder_report_reminders_send(today=DAY_35)
    first = reload(report).reminded_35_at

    funder_report_reminders_send(today=DAY_7)

    report = reload(report)
    assert report.reminded_35_at == first
    assert report.reminded_7_at > first


@pytest.mark.django_db
def test_a_late_report_gets_no_reminder_but_one_due_today_does():
    late = FunderReportFactory(due_on=DUE - timedelta(days=1))
    today = FunderReportFactory(due_on=DUE)

    sent = funder_report_reminders_send(today=DUE)

    assert sent == [Reminder(report_id=today.pk, days_before=7, days_left=0)]
    assert "today" in mail.outbox[0].subject
    assert reload(late).reminded_7_at is None


@pytest.mark.django_db
def test_the_candidates_are_read_in_one_query_whatever_their_number(django_assert_num_queries):
    for offset in (0, 10, 30):
        FunderReportFactory(due_on=DAY_35 + timedelta(days=offset))
    FunderReportFactory(due_on=DAY_35 + timedelta(days=60))  # not yet

    # 1. SELECT the open reports due within 35 days, with their grants and owners (one JOIN)
    # 2-4. UPDATE ... WHERE reminded_*_at IS NULL: one claim per reminder sent
    with django_assert_num_queries(4):
        sent = funder_report_reminders_send(today=DAY_35)

    assert sorted(reminder.days_before for reminder in sent) == [7, 35, 35]


# --- the e-mail ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_mail_names_the_grant_kind_period_due_date_days_left_and_links_the_admin(settings):
    settings.OPSITE_SITE_URL = "https://ops.example.org/"
    grant = GrantFactory(reference="nsf-cssi-2024", title="Research & Education Hubs")
    report = FunderReportFactory(grant=grant, kind="final", due_on=DUE)

    funder_report_reminders_send(today=DAY_35)

    (message,) = mail.outbox
    assert message.subject == "[opsite] Final report for nsf-cssi-2024 due 2024-07-30 (in 35 days)"
    assert message.to == [report.owner.email]
    body = message.body
    assert "final report for nsf-cssi-2024 (Research & Education Hubs)" in body  # not &amp;
    assert "Period: 2024-01-01 to 2024-06-30" in body
    assert "Due on: 2024-07-30" in body
    assert "in 35 days" in body
    assert f"https://ops.example.org/admin/funding/funderreport/{report.pk}/change/" in body
    assert "A last reminder follows 7 days before it is due." in body


@pytest.mark.django_db
def test_the_mail_carries_no_money_figure():
    grant = GrantFactory(amount="123456.78")
    FunderReportFactory(grant=grant, due_on=DUE)

    funder_report_reminders_send(today=DAY_7)

    (message,) = mail.outbox
    for text in (message.subject, message.body):
        assert not any(figure in text for figure in ("123456", "123,456", "123 456", "123.456"))
        assert grant.currency not in text
    assert "This is the last reminder." in message.body


@pytest.mark.django_db
def test_without_a_site_url_the_link_is_the_admin_path(settings):
    settings.OPSITE_SITE_URL = ""
    report = FunderReportFactory(due_on=DUE)

    funder_report_reminders_send(today=DAY_7 + timedelta(days=6))

    (message,) = mail.outbox
    assert f"Open the report: /admin/funding/funderreport/{report.pk}/change/\n" in message.body
    assert "(tomorrow)" in message.subject


# --- failures --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_failed_send_releases_the_claim_and_the_next_run_sends_it(failing_mail, caplog):
    report = FunderReportFactory(due_on=DUE)

    with caplog.at_level(logging.INFO, logger="funding.reminders"):
        assert funder_report_reminders_send(today=DAY_35) == []

    assert mail.outbox == []
    assert reload(report).reminded_35_at is None
    assert f"funder report {report.pk} failed (SMTPRecipientsRefused)" in caplog.text
    assert report.owner.email not in caplog.text

    failing_mail.undo()
    sent = funder_report_reminders_send(today=DAY_35 + timedelta(days=1))

    assert sent == [Reminder(report_id=report.pk, days_before=35, days_left=34)]
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_failed_7_day_send_releases_the_superseded_35_day_claim_too(failing_mail):
    report = FunderReportFactory(due_on=DUE)

    assert funder_report_reminders_send(today=DAY_7) == []

    report = reload(report)
    assert (report.reminded_35_at, report.reminded_7_at) == (None, None)


@pytest.mark.django_db
def test_a_failed_7_day_send_keeps_the_35_day_reminder_already_sent(monkeypatch):
    report = FunderReportFactory(due_on=DUE)
    funder_report_reminders_send(today=DAY_35)
    first = reload(report).reminded_35_at

    monkeypatch.setattr(EmailBackend, "send_messages", lambda self, messages: 1 / 0)
    assert funder_report_reminders_send(today=DAY_7) == []

    report = reload(report)
    assert (report.reminded_35_at, report.reminded_7_at) == (first, None)


@pytest.mark.django_db
def test_one_failing_mail_does_not_stop_the_others(monkeypatch):
    refused = UserFactory(username="refused")
    FunderReportFactory(due_on=DUE, owner=refused)
    other = FunderReportFactory(due_on=DUE)
    send_messages = EmailBackend.send_messages

    def refuse_one(self, messages):
        if messages[0].to == [refused.email]:
            raise smtplib.SMTPRecipientsRefused({refused.email: (550, b"no")})
        return send_messages(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", refuse_one)

    sent = funder_report_reminders_send(today=DAY_35)

    assert sent == [Reminder(report_id=other.pk, days_before=35, days_left=35)]
    assert [message.to for message in mail.outbox] == [[other.owner.email]]


# --- a new deadline --------------------------------------------------------------------------


@pytest.mark.django_db
def test_moving_the_due_date_clears_the_claims_and_the_new_deadline_is_reminded():
    report = FunderReportFactory(due_on=DUE)
    funder_report_reminders_send(today=DAY_35)
    funder_report_reminders_send(today=DAY_7)

    report = funder_report_update(funder_report=reload(report), data={"due_on": date(2024, 9, 30)})

    assert (report.reminded_35_at, report.reminded_7_at) == (None, None)
    # September 30 less 35 days: August 26 (30 days back is August 31, 5 more is August 26).
    assert funder_report_reminders_send(today=date(2024, 8, 25)) == []
    sent = funder_report_reminders_send(today=date(2024, 8, 26))
    assert sent == [Reminder(report_id=report.pk, days_before=35, days_left=35)]
    assert len(mail.outbox) == 3


@pytest.mark.django_db
def test_an_update_that_keeps_the_due_date_keeps_the_claims():
    report = FunderReportFactory(due_on=DUE)
    funder_report_reminders_send(today=DAY_35)
    claimed = reload(report).reminded_35_at

    report = funder_report_update(funder_report=reload(report), data={"kind": "financial"})

    assert reload(report).reminded_35_at == claimed
    assert funder_report_reminders_send(today=DAY_35 + timedelta(days=1)) == []


@pytest.mark.django_db
def test_a_report_moved_between_reading_and_claiming_is_not_claimed_on_the_stale_date(monkeypatch):
    report = FunderReportFactory(due_on=DUE)
    claim = reminders.reminder_claim

    def moved_meanwhile(**kwargs):
        FunderReport.objects.filter(pk=report.pk).update(due_on=DUE + timedelta(days=60))
        return claim(**kwargs)

    monkeypatch.setattr(reminders, "reminder_claim", moved_meanwhile)

    assert funder_report_reminders_send(today=DAY_35) == []
    assert reload(report).reminded_35_at is None


# --- two workers at once (PostgreSQL) --------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_each_reminder_once_on_postgresql(monkeypatch):
    if connection.vendor != "postgresql":
        # Two threads need a server: CI runs the suite again on PostgreSQL, where this one runs.
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://user:password@host:port/name")
    early = FunderReportFactory(due_on=DAY_35 + timedelta(days=35))  # owes its 35-day reminder
    late = FunderReportFactory(due_on=DAY_35 + timedelta(days=5))  # owes only its 7-day one

    both_read = threading.Barrier(2)
    claim = reminders.reminder_claim
    claims: list[tuple[int, int, bool]] = []
    lock = threading.Lock()

    def claim_together(**kwargs):
        # Both runs have read the same candidates before either claims one.
        both_read.wait(timeout=10)
        won = claim(**kwargs)
        with lock:
            claims.append((kwargs["report"].pk, kwargs["days_before"], won))
        return won

    monkeypatch.setattr(reminders, "reminder_claim", claim_together)
    results: dict[str, object] = {}

    def run(name: str) -> None:
        try:
            results[name] = funder_report_reminders_send(today=DAY_35)
        except Exception as exc:  # a crash is a result the test reports
            results[name] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not any(isinstance(result, Exception) for result in results.values()), results
    # Each reminder was tried by both runs and won by exactly one.
    assert sorted(claims) == sorted(
        [(early.pk, 35, True), (early.pk, 35, False), (late.pk, 7, True), (late.pk, 7, False)]
    )
    sent = [reminder for result in results.values() for reminder in result]
    assert sorted((r.report_id, r.days_before) for r in sent) == sorted([(early.pk, 35), (late.pk, 7)])
    assert sorted(message.to[0] for message in mail.outbox) == sorted([early.owner.email, late.owner.email])


# --- the task and the command ----------------------------------------------------------------


@pytest.mark.django_db
def test_the_task_sends_what_is_owed_on_its_iso_date_and_returns_how_many():
    FunderReportFactory(due_on=DUE)
    FunderReportFactory(due_on=DAY_7 + timedelta(days=35))

    assert funder_report_reminders.apply(kwargs={"today": DAY_7.isoformat()}).get() == 2
    assert funder_report_reminders.apply(kwargs={"today": DAY_7.isoformat()}).get() == 0
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_the_task_refuses_a_malformed_date_naming_it():
    FunderReportFactory(due_on=DUE)

    with pytest.raises(ValueError, match="not '25/06/2024'"):
        funder_report_reminders.apply(kwargs={"today": "25/06/2024"}).get()
    assert mail.outbox == []


@pytest.mark.django_db
def test_the_command_sends_what_is_owed_on_its_day_and_prints_how_many(capsys):
    FunderReportFactory(due_on=DUE)

    call_command("send_funder_report_reminders", "--today", "2024-06-25")
    call_command("send_funder_report_reminders", "--today", "2024-06-25")

    assert capsys.readouterr().out.splitlines() == [
        "Sent 1 funder report reminder.",
        "Sent 0 funder report reminders.",
    ]
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_command_refuses_a_malformed_date_with_a_clear_error():
    with pytest.raises(
        CommandError, match=r"--today must be an ISO date such as 2024-12-31, not '2024-13-01'"
    ):
        call_command("send_funder_report_reminders", "--today", "2024-13-01")
