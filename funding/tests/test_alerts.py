"""The daily runway alert to Leadership (funding.tasks.runway_alert)."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.utils import timezone

from funding.models import RunwayAlert, RunwaySnapshot, Scenario
from funding.services.alerts import runway_alert_decide, runway_alert_send
from funding.tasks import runway_alert
from opsite.core.roles import LEADERSHIP

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenario():
    # The default scenarios may come from a data migration; the alert reads whichever is default.
    return Scenario.objects.filter(is_default=True).first() or Scenario.objects.create(
        slug="base", name="Base", is_default=True
    )


_clock = {"at": timezone.now() - timedelta(days=30)}


def snapshot(scenario: Scenario, months: str | None, *, cash_out_on: date | None = None) -> RunwaySnapshot:
    """A snapshot computed a little after the previous one (the latest is the alert's)."""
    _clock["at"] += timedelta(hours=1)
    return RunwaySnapshot.objects.create(
        scenario=scenario,
        as_of=date(2024, 12, 31),
        computed_at=_clock["at"],
        months=None if months is None else Decimal(months),
        cash_out_on=cash_out_on,
        result={"scenario": scenario.slug},
    )


@pytest.fixture
def leaders(leadership_user, django_user_model):
    group = Group.objects.get(name=LEADERSHIP)
    second = django_user_model.objects.create_user(username="chair", email="chair@example.org")
    second.groups.add(group)
    no_email = django_user_model.objects.create_user(username="silent", email="")
    no_email.groups.add(group)
    former = django_user_model.objects.create_user(
        username="former", email="former@example.org", is_active=False
    )
    former.groups.add(group)
    return [leadership_user, second]


@pytest.fixture(autouse=True)
def comfort_floor(settings):
    settings.OPSITE_RUNWAY_COMFORT_MONTHS = 12
    settings.OPSITE_LEADERSHIP_ALERT_EMAILS = []


def test_a_runway_below_the_comfort_floor_is_mailed_to_leadership_only(
    scenario, leaders, operations_user, finance_user, superuser, settings
):
    settings.OPSITE_LEADERSHIP_ALERT_EMAILS = ["board@example.org", "LEAD@example.org"]
    snap = snapshot(scenario, "9.40", cash_out_on=date(2025, 10, 12))

    alert_id = runway_alert.apply().get()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    # Active Leadership members with an address, plus the configured ones, each once.
    assert sorted(message.recipients()) == ["board@example.org", "chair@example.org", "lead@example.org"]
    for outsider in (operations_user, finance_user, superuser):
        assert outsider.email not in message.recipients()
    assert "9.40 months" in message.subject
    assert "fell below the comfort floor of 12 months" in message.body
    assert "2025-10-12" in message.body
    alert = RunwayAlert.objects.get(pk=alert_id)
    assert (alert.snapshot, alert.months, alert.reason, alert.recipients) == (
        snap,
        Decimal("9.40"),
        RunwayAlert.Reason.BELOW_FLOOR,
        3,
    )
    assert alert.sent_at is not None


def test_a_runway_above_the_floor_with_no_earlier_alert_sends_nothing(scenario, leaders):
    snapshot(scenario, "18.00")

    assert runway_alert.apply().get() is None

    assert mail.outbox == []
    assert not RunwayAlert.objects.exists()


def test_a_runway_that_moved_by_more_than_a_month_since_the_last_alert_is_mailed(scenario, leaders):
    snapshot(scenario, "9.40")
    runway_alert_send()
    snapshot(scenario, "10.41")

    alert = runway_alert_send()

    assert len(mail.outbox) == 2
    assert alert.reason == RunwayAlert.Reason.MOVED
    assert "moved from 9.40 months to 10.41 months" in mail.outbox[1].body


def test_a_runway_that_moved_by_exactly_a_month_is_not_news(scenario, leaders):
    snapshot(scenario, "9.40")
    runway_alert_send()
    snapshot(scenario, "8.40")

    assert runway_alert_send() is None
    assert len(mail.outbox) == 1


def test_an_unchanged_runway_below_the_floor_is_not_mailed_again_when_recomputed(scenario, leaders):
    snapshot(scenario, "9.40")
    runway_alert_send()
    snapshot(scenario, "9.40")
    snapshot(scenario, "9.90")

    assert runway_alert_send() is None
    assert len(mail.outbox) == 1
    assert RunwayAlert.objects.count() == 1


def test_small_moves_add_up_against_the_last_alert_not_the_last_snapshot(scenario, leaders):
    snapshot(scenario, "11.00")
    runway_alert_send()
    for months in ("10.60", "10.20"):
        snapshot(scenario, months)
        assert runway_alert_send() is None
    snapshot(scenario, "9.90")

    assert runway_alert_send().reason == RunwayAlert.Reason.MOVED
    assert len(mail.outbox) == 2


def test_the_same_snapshot_is_never_mailed_twice(scenario, leaders):
    snapshot(scenario, "9.40")

    first = runway_alert.apply().get()
    second = runway_alert.apply().get()

    assert first is not None
    assert second is None
    assert len(mail.outbox) == 1
    assert RunwayAlert.objects.count() == 1


def test_a_run_that_loses_the_race_for_the_snapshot_sends_nothing(scenario, leaders, monkeypatch):
    """Two runs at once: both decide to alert; the unique claim lets exactly one send."""
    snap = snapshot(scenario, "9.40")
    RunwayAlert.objects.create(scenario=scenario, snapshot=snap, months=snap.months, reason="below_floor")
    # The other run has claimed the snapshot after this one looked.
    real_filter = RunwayAlert.objects.filter

    def filter_missing_the_claim(*args, **kwargs):
        queryset = real_filter(*args, **kwargs)
        return queryset.none() if "snapshot" in kwargs else queryset

    monkeypatch.setattr(RunwayAlert.objects, "filter", filter_missing_the_claim)

    assert runway_alert_send() is None
    assert mail.outbox == []
    assert RunwayAlert.objects.count() == 1


def test_a_failed_send_withdraws_the_claim_so_a_later_run_retries(scenario, leaders, monkeypatch):
    snapshot(scenario, "9.40")

    def refuse(self, fail_silently=False):
        raise ConnectionRefusedError("mail server down")

    with monkeypatch.context() as patch:
        patch.setattr("django.core.mail.EmailMessage.send", refuse)
        with pytest.raises(ConnectionRefusedError):
            runway_alert_send()
    assert not RunwayAlert.objects.exists()

    assert runway_alert_send() is not None
    assert len(mail.outbox) == 1


def test_a_runway_beyond_the_horizon_after_an_alert_counts_as_a_move(scenario, leaders):
    snapshot(scenario, "9.40")
    runway_alert_send()
    snapshot(scenario, None)

    alert = runway_alert_send()

    assert alert.reason == RunwayAlert.Reason.MOVED
    assert alert.months is None
    assert "to beyond the horizon" in mail.outbox[1].body


def test_no_default_scenario_or_no_snapshot_sends_nothing(leaders):
    Scenario.objects.filter(is_default=True).update(is_default=False)
    assert runway_alert_send() is None
    Scenario.objects.create(slug="empty", name="Empty", is_default=True)
    assert runway_alert_send() is None
    assert mail.outbox == []


def test_other_scenarios_do_not_trigger_the_alert(scenario, leaders):
    other = Scenario.objects.create(slug="gloomy", name="Gloomy")
    snapshot(other, "2.00")

    assert runway_alert_send() is None
    assert mail.outbox == []


def test_without_any_leadership_address_nothing_is_claimed(scenario):
    snapshot(scenario, "9.40")

    assert runway_alert_send() is None
    assert not RunwayAlert.objects.exists()


def test_log_lines_carry_no_runway_figures(scenario, leaders, caplog):
    snapshot(scenario, "9.40", cash_out_on=date(2025, 10, 12))

    with caplog.at_level(logging.DEBUG, logger="funding.tasks"):
        runway_alert_send()

    assert "sent to 2 recipients" in caplog.text
    assert "9.40" not in caplog.text
    assert "2025-10-12" not in caplog.text


@pytest.mark.parametrize(
    ("months", "last", "reason"),
    [
        ("11.99", None, "below_floor"),
        ("12.00", None, None),
        ("11.00", "12.00", "below_floor"),
        ("11.50", "11.00", None),
        ("13.50", "11.00", "moved"),
        (None, None, None),
        ("30.00", "beyond", "moved"),
    ],
)
def test_the_alert_decision_table(scenario, months, last, reason):
    last_alert = None
    if last is not None:
        last_alert = RunwayAlert(
            scenario=scenario, months=None if last == "beyond" else Decimal(last), reason="moved"
        )

    decision = runway_alert_decide(months=None if months is None else Decimal(months), last_alert=last_alert)

    assert decision.reason == reason
