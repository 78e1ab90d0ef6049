"""Counted upstream contributions (docs/definitions.md "Counted upstream contribution")."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from contributions.models import PullRequest
from contributions.rollups import (
    EVERYWHERE,
    RECENT_DAYS,
    ContributionFact,
    FactsRead,
    by_period,
    contribution_facts,
    contributions_first_day,
    contributions_incremental,
    contributions_last_day,
    contributions_series,
    contributions_total,
    counted_pull_requests,
    extend_series,
    extend_totals,
    facts_between,
    inputs_signature,
    pull_request_marks,
    pull_requests_changed_from,
)
from contributions.tests.factories import PullRequestFactory, RepositoryFactory, UpstreamCommunityFactory
from opsite.core.periods import periods_between
from staff.tests.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def jupyterhub():
    return UpstreamCommunityFactory(slug="jupyterhub", github_orgs=["jupyterhub"], is_key=True)


@pytest.fixture
def person():
    return StaffMemberFactory(github="octo", start_on=date(2024, 3, 1), end_on=date(2024, 6, 30))


def merged(author, when, *, repository=None, **extra):
    repository = repository or RepositoryFactory(upstream_community=UpstreamCommunityFactory(slug="jupyter"))
    return PullRequestFactory(
        repository=repository,
        author_login=author.github if hasattr(author, "github") else author,
        created_at=when - timedelta(days=1),
        merged_at=when,
        **extra,
    )


def counted_ids():
    return set(counted_pull_requests().values_list("pk", flat=True))


def at_noon(day):
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def test_a_pull_request_merged_the_day_before_its_author_started_is_not_counted(person):
    before = merged(person, at_noon(date(2024, 2, 29)))
    first_day = merged(person, at_noon(date(2024, 3, 1)))

    assert counted_ids() == {first_day.pk}
    assert before.author == person


def test_a_pull_request_merged_on_the_day_its_author_left_is_counted_and_the_next_day_not(person):
    last_day = merged(person, datetime(2024, 6, 30, 23, 59, tzinfo=UTC))
    after = merged(person, datetime(2024, 7, 1, 0, 0, tzinfo=UTC))

    assert counted_ids() == {last_day.pk}
    assert after.author == person


def test_a_pull_request_by_a_bot_is_not_counted_even_with_a_staff_author(person):
    merged(person, at_noon(date(2024, 4, 2)), is_bot=True)
    merged("dependabot[bot]", at_noon(date(2024, 4, 2)))

    assert counted_ids() == set()


def test_a_pull_request_in_a_repository_of_a_community_that_is_not_key_is_not_counted(person, jupyterhub):
    elsewhere = RepositoryFactory(upstream_community=UpstreamCommunityFactory(slug="elsewhere", is_key=False))
    unknown_org = RepositoryFactory(full_name="random-org/tool", upstream_community=None)
    key = merged(
        person, at_noon(date(2024, 4, 2)), repository=RepositoryFactory(upstream_community=jupyterhub)
    )
    merged(person, at_noon(date(2024, 4, 2)), repository=elsewhere)
    merged(person, at_noon(date(2024, 4, 2)), repository=unknown_org)

    assert counted_ids() == {key.pk}


def test_an_open_pull_request_and_one_by_someone_not_on_staff_are_not_counted(person):
    open_one = merged(person, at_noon(date(2024, 4, 2)))
    open_one.merged_at = None
    open_one.save()
    merged("a-volunteer", at_noon(date(2024, 4, 2)))

    assert counted_ids() == set()


def test_the_merge_date_is_the_utc_date_whatever_time_zone_is_active(person):
    merged(person, datetime(2024, 3, 31, 23, 30, tzinfo=UTC))
    merged(person, datetime(2024, 4, 1, 0, 30, tzinfo=UTC))

    with timezone.override("America/Los_Angeles"):
        series = contributions_series(interval="quarter", start=date(2024, 1, 1), as_of=date(2024, 6, 30))

    assert [(row.period.label, row.merged_pull_requests) for row in series] == [
        ("2024-Q1", 1),
        ("2024-Q2", 1),
    ]


def test_quarters_count_by_upstream_community_with_distinct_repositories(person, jupyterhub):
    hub_repository = RepositoryFactory(upstream_community=jupyterhub)
    jupyter_repository = RepositoryFactory(upstream_community=UpstreamCommunityFactory(slug="jupyter"))
    for day in (date(2024, 4, 2), date(2024, 4, 3), date(2024, 5, 9)):
        merged(person, at_noon(day), repository=hub_repository)
    merged(person, at_noon(date(2024, 6, 1)), repository=jupyter_repository)
    merged(person, at_noon(date(2024, 3, 5)), repository=jupyter_repository)

    q1, q2 = contributions_series(interval="quarter", start=date(2024, 1, 1), as_of=date(2024, 6, 30))

    assert (q1.merged_pull_requests, q1.repositories, q1.by_community) == (1, 1, {"jupyter": 1})
    assert (q2.merged_pull_requests, q2.repositories) == (4, 2)
    assert q2.by_community == {"jupyter": 1, "jupyterhub": 3}


def test_the_current_quarter_counts_up_to_the_as_of_day_only(person):
    merged(person, at_noon(date(2024, 4, 2)))
    merged(person, at_noon(date(2024, 4, 20)))

    (q2,) = contributions_series(interval="quarter", start=date(2024, 4, 1), as_of=date(2024, 4, 10))

    assert q2.merged_pull_requests == 1


def test_the_total_runs_from_the_contributions_since_setting_to_the_as_of_day(person, settings):
    settings.OPSITE_CONTRIBUTIONS_SINCE = "2024-04-01"
    repository = RepositoryFactory()
    merged(person, at_noon(date(2024, 3, 30)), repository=repository)
    merged(person, at_noon(date(2024, 4, 1)), repository=repository)
    merged(person, at_noon(date(2024, 4, 5)), repository=repository)
    merged(person, at_noon(date(2024, 4, 6)))
    merged(person, at_noon(date(2024, 5, 1)))

    totals = contributions_total(as_of=date(2024, 4, 30))

    assert (totals.since, totals.merged_pull_requests, totals.repositories) == (date(2024, 4, 1), 3, 2)


def test_facts_take_one_query_for_3_or_30_pull_requests(person, django_assert_num_queries):
    repository = RepositoryFactory()
    for offset in range(3):
        merged(person, at_noon(date(2024, 4, 1) + timedelta(days=offset)), repository=repository)
    with django_assert_num_queries(1):
        small = contribution_facts()
    for offset in range(27):
        merged(person, at_noon(date(2024, 5, 1) + timedelta(days=offset % 5)), repository=repository)
    with django_assert_num_queries(1):
        large = contribution_facts()

    assert (sum(fact.merged for fact in small), sum(fact.merged for fact in large)) == (3, 30)


def test_facts_already_read_serve_a_range_they_cover_and_only_then(person, django_assert_num_queries):
    repository = RepositoryFactory()
    for day in (date(2024, 3, 31), date(2024, 4, 1), date(2024, 4, 30), date(2024, 5, 1)):
        merged(person, at_noon(day), repository=repository)
    read = FactsRead(start=None, end=date(2024, 4, 30), facts=contribution_facts(end=date(2024, 4, 30)))

    with django_assert_num_queries(0):
        april = facts_between(date(2024, 4, 1), date(2024, 4, 30), read=read)
    with django_assert_num_queries(1):
        beyond = facts_between(date(2024, 4, 1), date(2024, 5, 1), read=read)
    with django_assert_num_queries(1):
        before = facts_between(
            date(2024, 3, 1), date(2024, 4, 30), read=FactsRead(date(2024, 4, 1), date(2024, 4, 30), [])
        )

    assert [fact.day for fact in april] == [date(2024, 4, 1), date(2024, 4, 30)]
    assert april == contribution_facts(start=date(2024, 4, 1), end=date(2024, 4, 30))
    assert [fact.day for fact in beyond] == [date(2024, 4, 1), date(2024, 4, 30), date(2024, 5, 1)]
    assert [fact.day for fact in before] == [date(2024, 3, 31), date(2024, 4, 1), date(2024, 4, 30)]


def test_first_and_last_days_are_those_of_counted_contributions(person):
    merged(person, at_noon(date(2024, 2, 1)))
    merged(person, at_noon(date(2024, 3, 2)))
    merged(person, at_noon(date(2024, 5, 6)))

    assert (contributions_first_day(), contributions_last_day()) == (date(2024, 3, 2), date(2024, 5, 6))


# --- the incremental form: pure functions over facts -----------------------------------------


FACTS = [
    ContributionFact(date(2024, 1, 5), 1, "jupyter", 2),
    ContributionFact(date(2024, 2, 10), 2, "jupyterhub", 1),
    ContributionFact(date(2024, 3, 30), 1, "jupyter", 1),
    ContributionFact(date(2024, 4, 2), 3, "pangeo", 4),
    ContributionFact(date(2024, 4, 9), 1, "jupyter", 1),
    ContributionFact(date(2024, 7, 1), 2, "jupyterhub", 1),
]


@pytest.mark.parametrize("interval", ["month", "quarter", "year"])
@pytest.mark.parametrize("split", [date(2024, 1, 4), date(2024, 3, 30), date(2024, 4, 5), date(2024, 6, 30)])
def test_extending_a_series_gives_the_same_points_as_computing_it_at_once(interval, split):
    as_of = date(2024, 7, 3)
    whole = by_period(FACTS, periods_between(date(2024, 1, 5), as_of, interval), as_of=as_of)

    before, open_repositories = extend_series(
        [], (), FACTS, periods=periods_between(date(2024, 1, 5), split, interval), as_of=split
    )
    later = [fact for fact in FACTS if fact.day > split]
    extended, _ = extend_series(
        before,
        open_repositories,
        later,
        periods=periods_between(date(2024, 1, 5), as_of, interval),
        as_of=as_of,
    )

    assert extended == whole


def test_a_fact_in_a_period_already_closed_is_refused():
    periods = periods_between(date(2024, 1, 1), date(2024, 2, 15), "month")
    before, open_repositories = extend_series([], (), FACTS[:1], periods=periods, as_of=date(2024, 2, 15))

    with pytest.raises(ValueError, match="2024-01-20"):
        extend_series(
            before,
            open_repositories,
            [ContributionFact(date(2024, 1, 20), 9, "jupyter", 1)],
            periods=periods,
            as_of=date(2024, 2, 20),
        )


def test_extending_totals_adds_merged_counts_and_new_repositories_only():
    merged_count, repositories = extend_totals(
        3, {1}, FACTS[3:5], since=date(2024, 1, 1), as_of=date(2024, 12, 31)
    )

    assert (merged_count, repositories) == (8, {1, 3})


# --- what the incremental recompute trusts: the small inputs' signature, the pull requests' marks --


def test_the_inputs_signature_is_stable_and_changes_with_each_small_input(person, jupyterhub, settings):
    repository = RepositoryFactory(upstream_community=jupyterhub)
    merged(person, at_noon(date(2024, 4, 2)), repository=repository)
    signature = inputs_signature()
    assert inputs_signature() == signature

    # Pull requests are followed by watermark, not in the signature: a new one leaves it.
    merged(person, at_noon(date(2024, 4, 3)), repository=repository)
    assert inputs_signature() == signature
    RepositoryFactory(upstream_community=jupyterhub)
    after_new_repository = inputs_signature()
    person.end_on = date(2024, 5, 31)
    person.save()
    after_staff_change = inputs_signature()
    jupyterhub.is_key = False
    jupyterhub.save()
    after_key_change = inputs_signature()
    settings.OPSITE_CONTRIBUTIONS_SINCE = "2022-01-01"

    signatures = [signature, after_new_repository, after_staff_change, after_key_change, inputs_signature()]
    assert len(set(signatures)) == 5


@pytest.fixture
def clock():
    with time_machine.travel(datetime(2024, 6, 1, 12, tzinfo=UTC), tick=False) as traveller:
        yield traveller


def later(clock) -> datetime:
    """Two hours on, and the watermark of a run starting then (an hour before it): past every
    write so far, as a nightly run's is past the writes of the night before."""
    clock.shift(timedelta(hours=2))
    return timezone.now() - timedelta(hours=1)


def test_the_marks_tell_nothing_written_a_pull_request_merged_later_or_a_deletion(person, clock):
    old = merged(person, at_noon(date(2024, 4, 2)))
    marks = pull_request_marks(later(clock))
    assert pull_requests_changed_from(marks) is None

    merged(person, at_noon(date(2024, 5, 30)))
    assert pull_requests_changed_from(marks) == date(2024, 5, 30)
    old.is_bot = True
    old.save()
    assert pull_requests_changed_from(marks) == date(2024, 4, 2)
    old.delete()
    assert pull_requests_changed_from(marks) == EVERYWHERE


def test_an_unmerged_pull_request_written_since_is_harmless_if_new_unknown_if_it_existed(person, clock):
    existing = PullRequestFactory(author_login=person.github, merged_at=None)
    marks = pull_request_marks(later(clock))
    PullRequestFactory(author_login=person.github, merged_at=None)
    assert pull_requests_changed_from(marks) is None
    existing.title = "retitled"
    existing.save()
    assert pull_requests_changed_from(marks) == EVERYWHERE


def test_a_deletion_rolled_back_leaves_no_trace(person, clock):
    pull_request = merged(person, at_noon(date(2024, 4, 2)))
    marks = pull_request_marks(later(clock))
    with transaction.atomic():
        pull_request.delete()
        transaction.set_rollback(True)
    assert pull_requests_changed_from(marks) is None


def run(state, as_of, watermark):
    return contributions_incremental(state, as_of=as_of, watermark=watermark)


def from_scratch(as_of):
    fresh = run(None, as_of, timezone.now())
    return fresh.totals, fresh.series


@pytest.fixture
def counted(person, jupyterhub, clock):
    """A state counted to 2024-05-20 over pull requests in April and May."""
    repository = RepositoryFactory(upstream_community=jupyterhub)
    for day in (date(2024, 4, 2), date(2024, 4, 20), date(2024, 5, 10), date(2024, 5, 19)):
        merged(person, at_noon(day), repository=repository)
    first = run(None, date(2024, 5, 20), later(clock))
    assert first.reused is False
    return {"state": first.state, "repository": repository}


def test_a_pull_request_merged_after_the_state_s_day_is_added_to_it(person, counted, clock):
    watermark = later(clock)
    merged(person, at_noon(date(2024, 5, 25)), repository=counted["repository"])

    again = run(counted["state"], date(2024, 5, 31), watermark)

    assert again.reused is True
    assert again.totals.merged_pull_requests == 5
    assert (again.totals, again.series) == from_scratch(date(2024, 5, 31))


def test_the_last_days_written_again_unchanged_keep_the_state(person, counted, clock):
    # The importer writes the last days' pull requests again at every sync.
    watermark = later(clock)
    for pull_request in PullRequest.objects.filter(merged_at__gte=at_noon(date(2024, 5, 10))):
        pull_request.save()

    again = run(counted["state"], date(2024, 5, 31), watermark)

    assert again.reused is True
    assert (again.totals, again.series) == from_scratch(date(2024, 5, 31))


def test_a_change_in_the_last_days_counts_everything_again(person, counted, clock):
    watermark = later(clock)
    recent = PullRequest.objects.get(merged_at=at_noon(date(2024, 5, 19)))
    recent.is_bot = True
    recent.save()

    again = run(counted["state"], date(2024, 5, 31), watermark)

    assert again.reused is False
    assert again.totals.merged_pull_requests == 3
    assert (again.totals, again.series) == from_scratch(date(2024, 5, 31))


def test_an_older_pull_request_written_again_or_one_deleted_counts_everything_again(counted, clock):
    watermark = later(clock)
    PullRequest.objects.get(merged_at=at_noon(date(2024, 4, 2))).save()  # beyond the recent days
    assert run(counted["state"], date(2024, 5, 31), watermark).reused is False

    PullRequest.objects.get(merged_at=at_noon(date(2024, 5, 19))).delete()
    again = run(counted["state"], date(2024, 5, 31), watermark)
    assert again.reused is False
    assert (again.totals, again.series) == from_scratch(date(2024, 5, 31))


def test_the_state_keeps_the_facts_of_its_last_days_only(counted):
    # The 31 days up to the 20th of May: from the 20th of April.
    assert [row[0] for row in counted["state"]["recent"]] == ["2024-04-20", "2024-05-10", "2024-05-19"]
    assert RECENT_DAYS == 31
