"""A roster change re-resolves which pull requests are ours, after the change commits."""

import pytest

from contributions.models import PullRequest
from contributions.tests.factories import PullRequestFactory
from staff.tests.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db


def test_a_corrected_github_handle_claims_the_pull_requests_of_that_login(django_capture_on_commit_callbacks):
    pr = PullRequestFactory(author_login="MinRK")
    assert pr.author is None
    person = StaffMemberFactory(github="someone-else")

    with django_capture_on_commit_callbacks(execute=True):
        person.github = "minrk"
        person.save()

    assert PullRequest.objects.get(pk=pr.pk).author == person


def test_a_removed_handle_releases_the_pull_requests_it_had_claimed(django_capture_on_commit_callbacks):
    person = StaffMemberFactory(github="choldgraf")
    pr = PullRequestFactory(author_login="choldgraf")
    assert PullRequest.objects.get(pk=pr.pk).author == person

    with django_capture_on_commit_callbacks(execute=True):
        person.github = None
        person.save()

    assert PullRequest.objects.get(pk=pr.pk).author is None
