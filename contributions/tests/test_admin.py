"""The contributions admin, as operations staff use it every day, and who may do what in it."""

from __future__ import annotations

import pytest

from contributions.models import PullRequest, Repository, UpstreamCommunity
from opsite.core.testing import admin_url as url
from opsite.core.testing import changelist_queries
from staff.tests.factories import StaffMemberFactory

from .factories import PullRequestFactory, RepositoryFactory, UpstreamCommunityFactory

pytestmark = pytest.mark.django_db


def pull_request_form(repository, **overrides) -> dict:
    data = {
        "repository": repository.pk,
        "number": "17",
        "title": "Document the spawner",
        "url": "https://github.com/jupyterhub/jupyterhub/pull/17",
        "author_login": "minrk",
        "created_at_0": "2024-03-01",
        "created_at_1": "09:00:00",
        "merged_at_0": "2024-03-02",
        "merged_at_1": "10:30:00",
    }
    data.update(overrides)
    return data


# --- smoke: every page of every ModelAdmin ---------------------------------------------------


@pytest.mark.parametrize(
    ("model", "factory", "search"),
    [
        (
            UpstreamCommunity,
            lambda: UpstreamCommunityFactory(name="Pangeo", github_orgs=["pangeo-data"]),
            "pangeo-data",
        ),
        (Repository, lambda: RepositoryFactory(full_name="pangeo-data/pangeo"), "pangeo"),
        (PullRequest, lambda: PullRequestFactory(title="Speed up zarr reads"), "zarr"),
    ],
)
def test_every_page_of_each_admin_answers(super_client, model, factory, search):
    obj = factory()
    assert super_client.get(url(model, "changelist")).status_code == 200
    found = super_client.get(url(model, "changelist"), {"q": search})
    assert found.status_code == 200
    assert str(obj) in found.content.decode()
    missing = super_client.get(url(model, "changelist"), {"q": "no-such-thing-anywhere"})
    assert str(obj) not in missing.content.decode()
    assert super_client.get(url(model, "add")).status_code == 200
    assert super_client.get(url(model, "change", obj.pk)).status_code == 200


def test_pull_requests_are_found_by_author_name_and_number(super_client):
    person = StaffMemberFactory(name="Min Ragan-Kelley", github="minrk")
    pull_request = PullRequestFactory(author_login="minrk", number=4242)
    assert pull_request.author == person
    by_name = super_client.get(url(PullRequest, "changelist"), {"q": "Ragan"})
    by_number = super_client.get(url(PullRequest, "changelist"), {"q": "4242"})
    assert str(pull_request) in by_name.content.decode()
    assert str(pull_request) in by_number.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"merged": "yes"},
        {"merged": "no"},
        {"by_staff": "yes"},
        {"is_bot__exact": "1"},
        {"merged_at__year": "2024"},
    ],
)
def test_pull_request_filters_answer(super_client, query):
    PullRequestFactory()
    assert super_client.get(url(PullRequest, "changelist"), query).status_code == 200


def test_count_columns_link_to_the_filtered_changelists(super_client):
    repository = RepositoryFactory()
    PullRequestFactory.create_batch(2, repository=repository)
    PullRequestFactory()
    community_page = super_client.get(url(UpstreamCommunity, "changelist")).content.decode()
    assert f"?upstream_community__id__exact={repository.upstream_community.pk}" in community_page
    filtered = super_client.get(url(PullRequest, "changelist"), {"repository__id__exact": repository.pk})
    assert filtered.status_code == 200
    assert len(filtered.context["cl"].result_list) == 2


# --- writes through the admin ----------------------------------------------------------------


def test_an_upstream_community_is_added_with_orgs_typed_on_one_line(super_client):
    loose = RepositoryFactory(full_name="dask/distributed", upstream_community=None)
    response = super_client.post(
        url(UpstreamCommunity, "add"),
        {"name": "Dask", "slug": "dask", "github_orgs": "dask, dask-contrib", "is_key": "on"},
    )
    assert response.status_code == 302
    dask = UpstreamCommunity.objects.get(slug="dask")
    assert dask.github_orgs == ["dask", "dask-contrib"]
    loose.refresh_from_db()
    assert loose.upstream_community == dask


def test_an_org_claimed_twice_is_refused_on_the_orgs_field(super_client):
    UpstreamCommunityFactory(slug="jupyter", name="Jupyter", github_orgs=["jupyter"])
    response = super_client.post(
        url(UpstreamCommunity, "add"),
        {"name": "Other", "slug": "other", "github_orgs": "Jupyter", "is_key": "on"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "github_orgs": [
            "The GitHub organization 'Jupyter' already belongs to the upstream community 'Jupyter' (jupyter)."
        ]
    }
    assert not UpstreamCommunity.objects.filter(slug="other").exists()


def test_the_orgs_field_shows_the_stored_list_as_one_line(super_client):
    community = UpstreamCommunityFactory(github_orgs=["jupyter", "jupyterlab"])
    page = super_client.get(url(UpstreamCommunity, "change", community.pk)).content.decode()
    assert 'value="jupyter, jupyterlab"' in page


def test_a_repository_added_without_community_takes_its_orgs(super_client):
    pangeo = UpstreamCommunityFactory(slug="pangeo", github_orgs=["pangeo-data"])
    response = super_client.post(
        url(Repository, "add"), {"full_name": "pangeo-data/climpred", "upstream_community": ""}
    )
    assert response.status_code == 302
    assert Repository.objects.get(full_name="pangeo-data/climpred").upstream_community == pangeo


def test_a_repository_name_in_another_case_is_refused_on_its_field(super_client):
    RepositoryFactory(full_name="jupyter/notebook")
    response = super_client.post(
        url(Repository, "add"), {"full_name": "Jupyter/Notebook", "upstream_community": ""}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "full_name": [
            "The repository 'jupyter/notebook' already exists (repository names are case-insensitive, "
            "so 'Jupyter/Notebook' is the same one)."
        ]
    }


def test_a_pull_request_added_in_the_admin_gets_its_author_from_the_login(super_client):
    person = StaffMemberFactory(github="MinRK")
    repository = RepositoryFactory()
    response = super_client.post(url(PullRequest, "add"), pull_request_form(repository))
    assert response.status_code == 302
    pull_request = PullRequest.objects.get(repository=repository, number=17)
    assert pull_request.author == person


def test_a_merge_before_creation_is_refused_on_the_merged_field(super_client):
    response = super_client.post(
        url(PullRequest, "add"), pull_request_form(RepositoryFactory(), merged_at_0="2024-02-01")
    )
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["merged_at"]
    assert not PullRequest.objects.exists()


def test_a_pull_request_changed_in_the_admin_re_resolves_its_author(super_client):
    person = StaffMemberFactory(github="choldgraf")
    pull_request = PullRequestFactory(author_login="someone")
    data = pull_request_form(
        pull_request.repository, number=str(pull_request.number), author_login="CHoldgraf"
    )
    response = super_client.post(url(PullRequest, "change", pull_request.pk), data)
    assert response.status_code == 302
    pull_request.refresh_from_db()
    assert pull_request.author == person


# --- query counts ----------------------------------------------------------------------------


# Each changelist: the session, the user, then
#   upstream communities: the key values in use (its filter), the paginator's count, the page;
#   repositories: the key values in use, the upstream communities of the filter and whether some
#   row has none (its "empty" choice), the count, the page;
#   pull requests: the bot values in use, the key values in use, the upstream communities of the
#   filter and whether some row has none, the count, the page, the first and last merge of the
#   date hierarchy, the days within them.
@pytest.mark.parametrize(
    ("model", "make", "expected"),
    [
        (UpstreamCommunity, lambda n: UpstreamCommunityFactory.create_batch(n), 5),
        (
            Repository,
            lambda n: [PullRequestFactory(repository=r) for r in RepositoryFactory.create_batch(n)],
            7,
        ),
        (
            PullRequest,
            lambda n: PullRequestFactory.create_batch(n, author_login=StaffMemberFactory().github),
            10,
        ),
    ],
)
def test_a_changelist_costs_the_same_queries_for_3_and_15_rows(super_client, model, make, expected):
    make(3)
    with_3 = changelist_queries(super_client, model)
    make(12)
    with_15 = changelist_queries(super_client, model)
    assert model.objects.count() >= 15
    assert with_3 == with_15 == expected


# --- roles -----------------------------------------------------------------------------------


def test_operations_may_add_and_change_repositories_and_pull_requests(operations_client):
    response = operations_client.post(
        url(Repository, "add"), {"full_name": "jupyter/notebook", "upstream_community": ""}
    )
    assert response.status_code == 302
    repository = Repository.objects.get(full_name="jupyter/notebook")
    response = operations_client.post(url(PullRequest, "add"), pull_request_form(repository))
    assert response.status_code == 302
    pull_request = PullRequest.objects.get()
    data = pull_request_form(repository, title="Better title")
    assert operations_client.post(url(PullRequest, "change", pull_request.pk), data).status_code == 302
    pull_request.refresh_from_db()
    assert pull_request.title == "Better title"


def test_operations_may_add_upstream_communities(operations_client):
    response = operations_client.post(
        url(UpstreamCommunity, "add"), {"name": "Dask", "slug": "dask", "github_orgs": "dask", "is_key": "on"}
    )
    assert response.status_code == 302
    assert UpstreamCommunity.objects.filter(slug="dask").exists()


@pytest.mark.parametrize("model", [UpstreamCommunity, Repository, PullRequest])
def test_leadership_may_view_but_not_add(leadership_client, model):
    assert leadership_client.get(url(model, "changelist")).status_code == 200
    assert leadership_client.get(url(model, "add")).status_code == 403


def test_leadership_cannot_import_but_may_export(leadership_client):
    assert leadership_client.get(url(PullRequest, "import")).status_code == 403
    assert leadership_client.get(url(PullRequest, "export")).status_code == 200
