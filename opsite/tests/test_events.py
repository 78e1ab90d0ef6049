"""Announcing what happened to the apps above (``opsite.core.events``): once per transaction, after it."""

from __future__ import annotations

import pytest
from django.db import transaction

from opsite.core import events
from opsite.core.events import ROSTER_CHANGED, announce, subscribe, subscribers


@pytest.fixture
def runs(monkeypatch) -> list[str]:
    """A test-only handler of ROSTER_CHANGED, alone: the apps' own handlers are put back after."""
    monkeypatch.setattr(events, "_handlers", {})
    seen: list[str] = []
    subscribe(ROSTER_CHANGED, lambda: seen.append(ROSTER_CHANGED))
    return seen


def test_outside_a_transaction_the_handlers_run_at_once(runs):
    announce(ROSTER_CHANGED)
    assert runs == [ROSTER_CHANGED]

    announce(ROSTER_CHANGED)
    assert runs == [ROSTER_CHANGED, ROSTER_CHANGED]


@pytest.mark.django_db
def test_many_announcements_in_one_transaction_run_each_handler_once_after_the_commit(
    runs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            for _ in range(100):
                announce(ROSTER_CHANGED)
        assert runs == []

    assert len(callbacks) == 1
    assert runs == [ROSTER_CHANGED]


@pytest.mark.django_db
def test_each_transaction_runs_the_handlers_once(runs, django_capture_on_commit_callbacks):
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            announce(ROSTER_CHANGED)
            announce(ROSTER_CHANGED)

    assert runs == [ROSTER_CHANGED, ROSTER_CHANGED]


@pytest.mark.django_db
def test_nothing_runs_for_a_transaction_that_rolls_back(runs, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        announce(ROSTER_CHANGED)
        raise RuntimeError("abandon the change")

    assert callbacks == []
    assert runs == []


@pytest.mark.django_db
def test_an_announcement_after_a_rolled_back_savepoint_still_runs_once(
    runs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            announce(ROSTER_CHANGED)
            raise RuntimeError("abandon the first change")
        announce(ROSTER_CHANGED)
        announce(ROSTER_CHANGED)

    assert len(callbacks) == 1
    assert runs == [ROSTER_CHANGED]


def test_subscribing_twice_runs_the_handler_once(runs):
    handler = subscribers(ROSTER_CHANGED)[0]
    subscribe(ROSTER_CHANGED, handler)

    announce(ROSTER_CHANGED)

    assert subscribers(ROSTER_CHANGED) == (handler,)
    assert runs == [ROSTER_CHANGED]


@pytest.mark.parametrize("call", [announce, lambda event: subscribe(event, print), subscribers])
def test_an_unknown_event_is_refused(runs, call):
    with pytest.raises(ValueError, match=r"Unknown event 'staff\.roster_changd'"):
        call("staff.roster_changd")
    assert runs == []
