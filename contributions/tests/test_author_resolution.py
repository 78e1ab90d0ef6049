"""A roster change re-resolves which pull requests are ours, after the change commits.

The staff services announce ``ROSTER_CHANGED`` (``opsite/core/events.py``); this app subscribes
:func:`contributions.services.pull_request_authors_resolve` to it. The roster is written here
through the staff services, as every door writes it: no model signal does the work any more.
"""

from datetime import date

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from contributions.apps import _roster_changed
from contributions.models import PullRequest
from contributions.tests.factories import PullRequestFactory
from opsite.core.events import ROSTER_CHANGED, subscribers
from staff.choices import Team
from staff.services import staff_member_create, staff_member_update
from staff.tests.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db


def test_a_corrected_github_handle_claims_the_pull_requests_of_that_login(django_capture_on_commit_callbacks):
    pr = PullRequestFactory(author_login="MinRK")
    assert pr.author is None
    person = StaffMemberFactory(github="someone-else")

    with django_capture_on_commit_callbacks(execute=True):
        staff_member_update(staff_member=person, data={"github": "minrk"})

    assert PullRequest.objects.get(pk=pr.pk).author == person


def test_a_removed_handle_releases_the_pull_requests_it_had_claimed(django_capture_on_commit_callbacks):
    person = StaffMemberFactory(github="choldgraf")
    pr = PullRequestFactory(author_login="choldgraf")
    assert PullRequest.objects.get(pk=pr.pk).author == person

    with django_capture_on_commit_callbacks(execute=True):
        staff_member_update(staff_member=person, data={"github": None})

    assert PullRequest.objects.get(pk=pr.pk).author is None


def test_a_new_staff_member_claims_the_pull_requests_of_their_login(django_capture_on_commit_callbacks):
    pr = PullRequestFactory(author_login="Carreau")

    with django_capture_on_commit_callbacks(execute=True):
        person = staff_member_create(
            slug="matthias",
            name="Matthias",
            team=Team.ENGINEERING,
            start_on=date(2021, 1, 4),
            github="carreau",
        )

    assert PullRequest.objects.get(pk=pr.pk).author == person


def resolutions(queries) -> int:
    """How many times the authors were re-resolved: each run is two UPDATEs of the pull requests."""
    updates = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "contributions_pullrequest"')]
    assert len(updates) % 2 == 0, updates
    return len(updates) // 2


def test_one_transaction_changing_many_staff_members_re_resolves_once(django_capture_on_commit_callbacks):
    people = StaffMemberFactory.create_batch(3)
    prs = [PullRequestFactory(author_login=f"new-{index}") for index in range(3)]

    # Left in reverse order: the transaction ends, then its on-commit work runs.
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
    ):
        for index, person in enumerate(people):
            staff_member_update(staff_member=person, data={"github": f"new-{index}"})
        assert resolutions(queries) == 0, "re-resolved before the commit"

    assert resolutions(queries) == 1
    assert [PullRequest.objects.get(pk=pr.pk).author for pr in prs] == people


def test_a_rolled_back_roster_change_re_resolves_nothing(django_capture_on_commit_callbacks):
    person = StaffMemberFactory(github="someone")
    pr = PullRequestFactory(author_login="other")

    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        staff_member_update(staff_member=person, data={"github": "other"})
        raise RuntimeError("rolled back")

    assert resolutions(queries) == 0
    assert PullRequest.objects.get(pk=pr.pk).author is None


def test_the_app_subscribes_once_to_roster_changes_and_no_signal_does_the_work(
    django_capture_on_commit_callbacks,
):
    assert subscribers(ROSTER_CHANGED).count(_roster_changed) == 1
    person = StaffMemberFactory(github="someone")
    pr = PullRequestFactory(author_login="other")

    # A bare save is no door: nothing but the staff services announces a roster change.
    with django_capture_on_commit_callbacks(execute=True):
        person.github = "other"
        person.save()

    assert PullRequest.objects.get(pk=pr.pk).author is None
