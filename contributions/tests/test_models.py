"""The database itself refuses what the contributions tables must never hold."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from contributions.models import PullRequest, Repository, UpstreamCommunity

from .factories import PullRequestFactory, RepositoryFactory, UpstreamCommunityFactory

pytestmark = pytest.mark.django_db


def _refused(callable_) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        callable_()


def test_upstream_community_slugs_are_unique():
    UpstreamCommunityFactory(slug="jupyter")
    _refused(lambda: UpstreamCommunity.objects.create(slug="jupyter", name="Jupyter again"))


def test_repository_names_are_unique_whatever_their_case():
    RepositoryFactory(full_name="jupyterhub/jupyterhub")
    _refused(lambda: Repository.objects.create(full_name="JupyterHub/JupyterHub"))
    assert Repository.objects.count() == 1


def test_a_repository_name_without_an_org_is_refused():
    _refused(lambda: Repository.objects.create(full_name="no-org-here"))


def test_a_pull_request_number_is_unique_within_its_repository():
    first = PullRequestFactory(number=7)
    _refused(lambda: PullRequestFactory(repository=first.repository, number=7))
    other = PullRequestFactory(number=7)
    assert other.repository != first.repository


def test_a_pull_request_number_cannot_be_negative():
    repository = RepositoryFactory()
    pull_request = PullRequestFactory.build(repository=repository, number=-1)
    _refused(lambda: PullRequest.objects.bulk_create([pull_request]))


def test_deleting_a_repository_deletes_its_pull_requests():
    pull_request = PullRequestFactory()
    pull_request.repository.delete()
    assert not PullRequest.objects.filter(pk=pull_request.pk).exists()


def test_deleting_an_upstream_community_keeps_its_repositories():
    repository = RepositoryFactory()
    repository.upstream_community.delete()
    repository.refresh_from_db()
    assert repository.upstream_community is None


def test_a_pull_request_reads_as_repository_and_number():
    pull_request = PullRequestFactory(repository=RepositoryFactory(full_name="jupyter/notebook"), number=42)
    assert str(pull_request) == "jupyter/notebook#42"
    assert pull_request.repository.org == "jupyter"
