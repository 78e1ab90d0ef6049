"""The runway snapshots' retention policy: which snapshots a prune keeps, at what cost, by which door.

The small case below is checked by hand: two scenarios, snapshots at every age that matters, and
the day the prune runs pinned with time_machine (30 Jun 2025: every snapshot of 1 Apr 2025 or later
is kept, the last of each day back to 30 Jun 2024, the last of each ISO week before).
"""

from __future__ import annotations

import logging
import math
import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from funding.models import RunwayAlert, RunwaySnapshot, Scenario
from funding.runway import retention
from funding.runway.retention import DELETE_BATCH, prune_snapshots
from funding.tasks import prune_runway_snapshots

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2025, 6, 30)

# name: (scenario slug, computed at, kept by the prune of TODAY)
CASE = {
    "a1 today": ("base", datetime(2025, 6, 30, 3, 30, tzinfo=UTC), True),
    # 90 days ago: the first day kept whole.
    "a2 1 Apr, early": ("base", datetime(2025, 4, 1, 0, 30, tzinfo=UTC), True),
    "a3 1 Apr, late": ("base", datetime(2025, 4, 1, 20, tzinfo=UTC), True),
    # Before it, the last of each day...
    "a4 31 Mar, early": ("base", datetime(2025, 3, 31, 9, tzinfo=UTC), False),
    "a5 31 Mar, late": ("base", datetime(2025, 3, 31, 21, tzinfo=UTC), True),
    "a6 30 Mar, alone": ("base", datetime(2025, 3, 30, 10, tzinfo=UTC), True),
    # ... an alerted snapshot whatever it is ...
    "a17 10 Jan, alerted": ("base", datetime(2025, 1, 10, 8, tzinfo=UTC), True),
    "a18 10 Jan, later": ("base", datetime(2025, 1, 10, 9, tzinfo=UTC), True),
    # ... back to 365 days ago, Sunday 30 Jun 2024, the last day kept by day.
    "a7 Sun 30 Jun 2024, early": ("base", datetime(2024, 6, 30, 6, tzinfo=UTC), False),
    "a8 Sun 30 Jun 2024, late": ("base", datetime(2024, 6, 30, 7, tzinfo=UTC), True),
    # Before it, the last of each ISO week; this one (24-30 Jun) is cut by that day.
    "a9 Sat 29 Jun 2024": ("base", datetime(2024, 6, 29, 12, tzinfo=UTC), True),
    "a10 Mon 24 Jun 2024": ("base", datetime(2024, 6, 24, 12, tzinfo=UTC), False),
    "a15 Tue 5 Mar 2024, alerted": ("base", datetime(2024, 3, 5, 10, tzinfo=UTC), True),
    "a16 Wed 6 Mar 2024": ("base", datetime(2024, 3, 6, 10, tzinfo=UTC), True),
    "a13 Mon 8 Jan 2024, midnight": ("base", datetime(2024, 1, 8, 0, tzinfo=UTC), True),
    "a12 Sun 7 Jan 2024, last minute": ("base", datetime(2024, 1, 7, 23, 59, tzinfo=UTC), True),
    "a11 Mon 1 Jan 2024": ("base", datetime(2024, 1, 1, 9, tzinfo=UTC), False),
    "a14 Sun 31 Dec 2023 (2023-W52)": ("base", datetime(2023, 12, 31, 12, tzinfo=UTC), True),
    # A scenario no longer recomputed: its latest is two years old, and kept.
    "b2 Wed 3 May 2023, its latest": ("full", datetime(2023, 5, 3, 10, tzinfo=UTC), True),
    "b1 Mon 1 May 2023": ("full", datetime(2023, 5, 1, 10, tzinfo=UTC), False),
}
ALERTED = ("a15 Tue 5 Mar 2024, alerted", "a17 10 Jan, alerted")


def _store(name: str, slug: str, computed_at: datetime) -> RunwaySnapshot:
    return RunwaySnapshot.objects.create(
        scenario=Scenario.objects.get(slug=slug),
        as_of=computed_at.date() - timedelta(days=5),
        computed_at=computed_at,
        months=Decimal("14.20"),
        cash_out_on=computed_at.date() + timedelta(days=430),
        result={"scenario": slug, "note": name},
    )


@pytest.fixture
def case() -> dict[str, int]:
    """The snapshots of CASE, by name: their ids; two of them alerted on."""
    ids = {name: _store(name, slug, moment).pk for name, (slug, moment, _) in CASE.items()}
    for name in ALERTED:
        snapshot = RunwaySnapshot.objects.get(pk=ids[name])
        RunwayAlert.objects.create(scenario=snapshot.scenario, snapshot=snapshot, reason="moved")
    return ids


def _left(ids: dict[str, int]) -> set[str]:
    stored = set(RunwaySnapshot.objects.values_list("pk", flat=True))
    return {name for name, pk in ids.items() if pk in stored}


def _on(day: date):
    return time_machine.travel(datetime.combine(day, time(4, 15), tzinfo=UTC), tick=False)


# --- the rule -------------------------------------------------------------------------------------


def test_the_prune_keeps_every_recent_snapshot_then_one_a_day_then_one_a_week(case):
    with _on(TODAY):
        deleted = prune_snapshots()

    assert _left(case) == {name for name, (_, _, kept) in CASE.items() if kept}
    assert deleted == sum(not kept for _, _, kept in CASE.values()) == 5


def test_a_second_prune_the_same_day_deletes_nothing(case):
    with _on(TODAY):
        prune_snapshots()
        left = _left(case)
        assert prune_snapshots() == 0
    assert _left(case) == left


def test_a_week_cut_by_the_daily_limit_keeps_only_its_last_once_past_it_whole(case):
    with _on(TODAY):
        prune_snapshots()
    with _on(TODAY + timedelta(days=7)):
        deleted = prune_snapshots()
    # 24-30 Jun 2024 is now a year and a week old: only Sunday's last snapshot is left of it. And
    # 1 Apr 2025 is now more than 90 days old: only its last is left.
    assert deleted == 2
    assert not {"a9 Sat 29 Jun 2024", "a2 1 Apr, early"} & _left(case)
    assert {"a8 Sun 30 Jun 2024, late", "a3 1 Apr, late", "a5 31 Mar, late", "a6 30 Mar, alone"} <= _left(
        case
    )


def test_each_scenarios_latest_is_kept_however_old(case):
    with _on(date(2040, 1, 1)):
        prune_snapshots()
    latest = {
        slug: RunwaySnapshot.objects.filter(scenario__slug=slug).latest().pk for slug in ("base", "full")
    }
    assert latest == {"base": case["a1 today"], "full": case["b2 Wed 3 May 2023, its latest"]}


def test_alerted_snapshots_are_kept_and_their_alerts_still_name_them(case):
    with _on(date(2040, 1, 1)):
        prune_snapshots()
    assert set(RunwayAlert.objects.values_list("snapshot_id", flat=True)) == {case[name] for name in ALERTED}
    assert set(ALERTED) <= _left(case)


def test_the_delete_itself_refuses_a_latest_or_an_alerted_snapshot(case):
    # Even ids handed to it by mistake, or alerted on between the read and the delete, stay.
    RunwayAlert.objects.create(
        scenario=Scenario.objects.get(slug="base"), snapshot_id=case["a4 31 Mar, early"], reason="moved"
    )
    ids = [case["a1 today"], case["b2 Wed 3 May 2023, its latest"], case["a4 31 Mar, early"]]
    assert retention._delete(sorted(ids)) == 0
    assert retention._delete([case["b1 Mon 1 May 2023"]]) == 1


def test_the_settings_choose_the_ages(case):
    with override_settings(OPSITE_RUNWAY_KEEP_ALL_DAYS=1, OPSITE_RUNWAY_KEEP_DAILY_DAYS=1), _on(TODAY):
        prune_snapshots()
    # Kept whole: today and yesterday; before that, by ISO week only.
    assert "a3 1 Apr, late" in _left(case)
    assert "a2 1 Apr, early" not in _left(case)
    assert "a18 10 Jan, later" in _left(case) and "a17 10 Jan, alerted" in _left(case)
    assert "a5 31 Mar, late" not in _left(case)  # Monday: 1 Apr (Tuesday) is the last of its week


@pytest.mark.parametrize(
    ("keep_all", "keep_daily", "named"),
    [
        (0, 365, "OPSITE_RUNWAY_KEEP_ALL_DAYS"),
        ("90", 365, "OPSITE_RUNWAY_KEEP_ALL_DAYS"),
        (90, 30, "OPSITE_RUNWAY_KEEP_DAILY_DAYS"),
        (90, 40_000, "OPSITE_RUNWAY_KEEP_DAILY_DAYS"),
    ],
)
def test_a_bad_retention_setting_is_refused_naming_it(keep_all, keep_daily, named):
    with (
        override_settings(OPSITE_RUNWAY_KEEP_ALL_DAYS=keep_all, OPSITE_RUNWAY_KEEP_DAILY_DAYS=keep_daily),
        pytest.raises(ImproperlyConfigured, match=named),
    ):
        prune_snapshots(today=TODAY)


# --- what it costs --------------------------------------------------------------------------------


def _statements(captured: CaptureQueriesContext) -> list[str]:
    """The statements run, without the savepoints of the atomic block inside the test's transaction."""
    sqls = [query["sql"].split(None, 1)[0].upper() for query in captured.captured_queries]
    return [sql for sql in sqls if sql not in ("SAVEPOINT", "RELEASE", "ROLLBACK")]


def test_a_daily_prune_is_one_read_and_one_delete(case):
    with _on(TODAY), CaptureQueriesContext(connection) as captured:
        assert prune_snapshots() == 5
    assert _statements(captured) == ["SELECT", "DELETE"]


def test_years_of_history_are_read_once_and_deleted_a_batch_at_a_time():
    base = Scenario.objects.get(slug="base")
    rows = [
        RunwaySnapshot(
            scenario=base,
            as_of=date(2022, 1, 1),
            computed_at=datetime(2022, 7, 1, tzinfo=UTC) + timedelta(hours=6 * n),
            months=Decimal("10.00"),
        )
        for n in range(3 * 365 * 4)
    ]
    RunwaySnapshot.objects.bulk_create(rows)
    with _on(date(2025, 7, 1)), CaptureQueriesContext(connection) as captured:
        deleted = prune_snapshots()
    # 90 days of four a day kept, 275 days of one a day, about 104 weeks of one a week.
    left = RunwaySnapshot.objects.count()
    assert 90 * 4 + 275 + 100 <= left <= 91 * 4 + 275 + 106
    assert deleted == len(rows) - left
    assert _statements(captured) == ["SELECT"] + ["DELETE"] * math.ceil(deleted / DELETE_BATCH)
    with _on(date(2025, 7, 1)):
        assert prune_snapshots() == 0


def test_the_log_says_how_many_and_never_a_figure(case, caplog):
    with caplog.at_level(logging.INFO, logger="funding.runway.retention"), _on(TODAY):
        prune_snapshots()
    assert [record.getMessage() for record in caplog.records] == [
        "Runway snapshots pruned as of 2025-06-30: 5 deleted (every one kept for 90 days, one a day for 365)."
    ]


# --- the doors: the task and the command call the same service ------------------------------------


@pytest.fixture
def calls(monkeypatch) -> list:
    seen: list = []

    def prune(*, today=None):
        seen.append(today)
        return 7

    monkeypatch.setattr(retention, "prune_snapshots", prune)
    return seen


def test_the_task_and_the_command_call_the_same_service(calls, capsys):
    assert prune_runway_snapshots.apply(kwargs={"today": "2025-06-30"}).get() == 7
    assert prune_runway_snapshots.apply().get() == 7
    call_command("prune_runway_snapshots", "--today", "2025-06-30")
    call_command("prune_runway_snapshots")
    assert calls == [TODAY, None, TODAY, None]
    assert "Deleted 7 runway snapshots" in capsys.readouterr().out


def test_the_task_refuses_a_malformed_date_naming_it(calls):
    with pytest.raises(ValueError, match="today must be an ISO date"):
        prune_runway_snapshots.apply(kwargs={"today": "30/06/2025"}).get()
    assert calls == []


def test_the_command_refuses_a_malformed_date(calls):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="is not a date"):
        call_command("prune_runway_snapshots", "--today", "30/06/2025")
    assert calls == []


def test_the_command_prunes_for_real(case, capsys):
    with _on(TODAY):
        call_command("prune_runway_snapshots")
    assert "Deleted 5 runway snapshots;" in capsys.readouterr().out
    assert len(_left(case)) == len(CASE) - 5


def test_the_beat_prunes_daily_after_the_runway_recompute():
    def minutes(task: str) -> int:
        entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == task)
        (hour,), (minute,) = entry["schedule"].hour, entry["schedule"].minute
        return hour * 60 + minute

    entry = next(
        e
        for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "funding.tasks.prune_runway_snapshots"
    )
    assert entry["options"]["expires"] <= 24 * 3600
    assert minutes("funding.tasks.recompute_runway") < minutes("funding.tasks.prune_runway_snapshots")
    assert prune_runway_snapshots.soft_time_limit < prune_runway_snapshots.time_limit
    assert prune_runway_snapshots.acks_late is True


# --- the settings, at start ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "refused"),
    [
        ({}, None),
        ({"OPSITE_RUNWAY_KEEP_ALL_DAYS": "30", "OPSITE_RUNWAY_KEEP_DAILY_DAYS": "30"}, None),
        ({"OPSITE_RUNWAY_KEEP_ALL_DAYS": "0"}, "OPSITE_RUNWAY_KEEP_ALL_DAYS"),
        ({"OPSITE_RUNWAY_KEEP_ALL_DAYS": "ninety"}, "OPSITE_RUNWAY_KEEP_ALL_DAYS"),
        ({"OPSITE_RUNWAY_KEEP_DAILY_DAYS": "-1"}, "OPSITE_RUNWAY_KEEP_DAILY_DAYS"),
        ({"OPSITE_RUNWAY_KEEP_DAILY_DAYS": "60"}, "OPSITE_RUNWAY_KEEP_DAILY_DAYS"),
    ],
)
def test_the_settings_refuse_a_bad_retention_at_start_up(env, refused):
    base = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "SYSTEMROOT") if key in os.environ}
    base |= {"DJANGO_SETTINGS_MODULE": "opsite.settings.test", **env}
    probe = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.OPSITE_RUNWAY_KEEP_ALL_DAYS, s.OPSITE_RUNWAY_KEEP_DAILY_DAYS)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=base, capture_output=True, text=True, timeout=120
    )
    if refused:
        assert result.returncode != 0
        assert "ImproperlyConfigured" in result.stderr and refused in result.stderr
    else:
        assert result.returncode == 0, result.stderr
        expected = (
            env.get("OPSITE_RUNWAY_KEEP_ALL_DAYS", "90"),
            env.get("OPSITE_RUNWAY_KEEP_DAILY_DAYS", "365"),
        )
        assert result.stdout.split() == list(expected)
