"""factory_boy factories for upstream work. Deterministic: sequences, fixed instants."""

from __future__ import annotations

import datetime as dt

import factory

from contributions.models import PullRequest, Repository, UpstreamCommunity
from contributions.services import pull_request_derive

# GitHub reports instants to the second, in UTC.
BASE_INSTANT = dt.datetime(2024, 1, 8, 9, 0, tzinfo=dt.UTC)


class UpstreamCommunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UpstreamCommunity
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"upstream-{n}")
    name = factory.Sequence(lambda n: f"Upstream {n:03d}")
    github_orgs = factory.LazyAttribute(lambda o: [f"{o.slug}-org"])
    is_key = True


class RepositoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Repository
        django_get_or_create = ("full_name",)

    upstream_community = factory.SubFactory(UpstreamCommunityFactory)
    full_name = factory.LazyAttributeSequence(
        lambda o, n: (
            f"{o.upstream_community.github_orgs[0] if o.upstream_community else 'other-org'}/repo-{n}"
        )
    )


class PullRequestFactory(factory.django.DjangoModelFactory):
    """A pull request whose ``author`` and ``is_bot`` are derived as the services derive them.

    Saved without the services' validation, so that tests of the database's own constraints
    still reach the database.
    """

    class Meta:
        model = PullRequest

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        pull_request = model_class(*args, **kwargs)
        pull_request_derive(pull_request)
        pull_request.save(force_insert=True)
        return pull_request

    repository = factory.SubFactory(RepositoryFactory)
    number = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Fix issue {n}")
    url = factory.LazyAttribute(lambda o: f"https://github.com/{o.repository.full_name}/pull/{o.number}")
    author_login = factory.Sequence(lambda n: f"contributor-{n}")
    created_at = factory.Sequence(lambda n: BASE_INSTANT + dt.timedelta(hours=n))
    merged_at = factory.LazyAttribute(lambda o: o.created_at + dt.timedelta(days=2))
    is_bot = False
