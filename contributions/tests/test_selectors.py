"""The reads behind the contributions admin and API: right figures, stable order, few queries."""

from __future__ import annotations

import datetime as dt

import pytest

from contributions.selectors import pull_request_list, repository_list, upstream_community_list
from staff.tests.factories import StaffMemberFactory

from .factories import PullRequestFactory, RepositoryFactory, UpstreamCommunityFactory

pytestmark = pytest.mark.django_db


def at(day: int) -> dt.datetime:
    return dt.datetime(2024, 3, day, 12, 0, tzinfo=dt.UTC)


def test_upstream_communities_count_their_repositories_and_merged_pull_requests():
    jupyter = UpstreamCommunityFactory(name="Jupyter")
    dask = UpstreamCommunityFactory(name="Dask")
    notebook, lab = RepositoryFactory.create_batch(2, upstream_community=jupyter)
    PullRequestFactory.create_batch(2, repository=notebook)
    PullRequestFactory(repository=lab)
    PullRequestFactory(repository=lab, merged_at=None)
    PullRequestFactory(repository=RepositoryFactory(upstream_community=None))

    figures = {c.name: (c.repository_count, c.merged_pull_request_count) for c in upstream_community_list()}

    assert figures == {"Dask": (0, 0), "Jupyter": (2, 3)}
    assert [c.name for c in upstream_community_list()] == ["Dask", "Jupyter"]
    assert dask.pk in {c.pk for c in upstream_community_list()}


def test_repositories_show_their_pull_requests_and_last_merge(django_assert_num_queries):
    busy = RepositoryFactory(full_name="jupyter/notebook")
    PullRequestFactory(repository=busy, created_at=at(1), merged_at=at(2))
    PullRequestFactory(repository=busy, created_at=at(1), merged_at=at(9))
    PullRequestFactory(repository=busy, created_at=at(1), merged_at=None)
    RepositoryFactory(full_name="dask/dask")

    with django_assert_num_queries(1):  # one SELECT: figures in subqueries, community joined
        rows = [
            (
                r.full_name,
                r.upstream_community.slug,
                r.pull_request_count,
                r.merged_pull_request_count,
                r.last_merged_at,
            )
            for r in repository_list()
        ]

    assert rows[0][0] == "dask/dask"
    assert rows[0][2:] == (0, 0, None)
    assert rows[1][2:] == (3, 2, at(9))


def test_pull_requests_list_the_latest_merge_first_and_open_ones_last(django_assert_num_queries):
    person = StaffMemberFactory(github="minrk")
    older = PullRequestFactory(created_at=at(1), merged_at=at(3), author_login="minrk")
    still_open = PullRequestFactory(created_at=at(1), merged_at=None)
    newer = PullRequestFactory(created_at=at(1), merged_at=at(5))

    with django_assert_num_queries(1):  # one SELECT joining repository, community and author
        listed = list(pull_request_list())
        names = [(pr.pk, pr.repository.upstream_community.slug, pr.author) for pr in listed]

    assert [pk for pk, _, _ in names] == [newer.pk, older.pk, still_open.pk]
    assert names[1][2] == person
