"""The contributions CRUD API at /api/v1/contributions/: through the test client and the router."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from contributions.models import PullRequest, Repository, SyncRun, UpstreamCommunity
from staff.tests.factories import StaffMemberFactory

from .factories import BASE_INSTANT, PullRequestFactory, RepositoryFactory, UpstreamCommunityFactory

pytestmark = pytest.mark.django_db


def url(name: str, *args: Any) -> str:
    return reverse(f"contributions-api:{name}", args=args)


def results(response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def post(client, name: str, data: Any, *args: Any):
    return client.post(url(name, *args), data, content_type="application/json")


def patch(client, name: str, data: Any, *args: Any):
    return client.patch(url(name, *args), data, content_type="application/json")


def pr_payload(**overrides: Any) -> dict[str, Any]:
    return {
        "repository": "jupyterhub/repo2docker",
        "number": 1200,
        "title": "Support Python 3.13",
        "url": "https://github.com/jupyterhub/repo2docker/pull/1200",
        "author_login": "ada-gh",
        "created_at": "2024-03-01T10:00:00Z",
        "merged_at": "2024-03-04T16:30:00Z",
        **overrides,
    }


@pytest.fixture
def jupyterhub():
    return UpstreamCommunityFactory(slug="jupyterhub", name="JupyterHub", github_orgs=["jupyterhub"])


# --- upstream communities -----------------------------------------------------------------------


def test_operations_lists_upstream_communities_with_their_figures(operations_client, jupyterhub):
    repository = RepositoryFactory(full_name="jupyterhub/repo2docker", upstream_community=jupyterhub)
    PullRequestFactory(repository=repository)
    PullRequestFactory(repository=repository, merged_at=None)

    rows = results(operations_client.get(url("upstream-community-list")))

    assert rows == [
        {
            "slug": "jupyterhub",
            "name": "JupyterHub",
            "github_orgs": ["jupyterhub"],
            "is_key": True,
            "repository_count": 1,
            "merged_pull_request_count": 1,
            "created_at": rows[0]["created_at"],
            "updated_at": rows[0]["updated_at"],
        }
    ]


def test_an_upstream_community_is_retrieved_by_its_slug(operations_client, jupyterhub):
    assert (
        operations_client.get(url("upstream-community-detail", "jupyterhub")).json()["name"] == "JupyterHub"
    )
    assert operations_client.get(url("upstream-community-detail", "pangeo")).status_code == 404


def test_a_new_upstream_community_takes_the_unassigned_repositories_of_its_orgs(operations_client):
    RepositoryFactory(full_name="pangeo-data/pangeo-docker-images", upstream_community=None)

    response = post(
        operations_client,
        "upstream-community-list",
        {"slug": "pangeo", "name": "Pangeo", "github_orgs": ["pangeo-data"]},
    )

    assert response.status_code == 201, response.content
    assert response.json()["repository_count"] == 1
    assert Repository.objects.get().upstream_community.slug == "pangeo"


def test_an_org_claimed_by_another_upstream_community_is_refused(operations_client, jupyterhub):
    response = post(
        operations_client,
        "upstream-community-list",
        {"slug": "hub2", "name": "Hub two", "github_orgs": ["JupyterHub"]},
    )

    assert response.status_code == 400
    assert "already belongs to the upstream community 'JupyterHub'" in response.json()["github_orgs"][0]
    assert not UpstreamCommunity.objects.filter(slug="hub2").exists()


def test_an_org_that_is_not_a_github_login_is_refused(operations_client):
    response = post(
        operations_client,
        "upstream-community-list",
        {"slug": "x", "name": "X", "github_orgs": ["not an org"]},
    )

    assert response.status_code == 400
    assert "'not an org' is not a GitHub organization login" in response.json()["github_orgs"][0]


def test_operations_updates_and_deletes_an_upstream_community(operations_client, jupyterhub):
    response = patch(operations_client, "upstream-community-detail", {"is_key": False}, "jupyterhub")

    assert response.status_code == 200, response.content
    assert response.json()["is_key"] is False
    assert UpstreamCommunity.objects.get().is_key is False
    assert operations_client.delete(url("upstream-community-detail", "jupyterhub")).status_code == 204
    assert not UpstreamCommunity.objects.exists()


def test_upstream_communities_filter_by_is_key_and_order_by_their_figures(operations_client, jupyterhub):
    UpstreamCommunityFactory(slug="other", name="Other", is_key=False)
    PullRequestFactory(repository=RepositoryFactory(upstream_community=jupyterhub))

    key = results(operations_client.get(url("upstream-community-list"), {"is_key": "false"}))
    ordered = results(
        operations_client.get(url("upstream-community-list"), {"ordering": "-merged_pull_request_count"})
    )

    assert [row["slug"] for row in key] == ["other"]
    assert [row["slug"] for row in ordered] == ["jupyterhub", "other"]


# --- repositories -------------------------------------------------------------------------------


def test_a_repository_is_found_by_its_full_name_in_any_case_dots_included(operations_client, jupyterhub):
    RepositoryFactory(full_name="jupyterhub/jupyterhub.github.io", upstream_community=jupyterhub)

    response = operations_client.get(url("repository-detail", "JupyterHub/JupyterHub.github.io"))

    assert response.status_code == 200, response.content
    assert response.json() | {"created_at": None, "updated_at": None} == {
        "full_name": "jupyterhub/jupyterhub.github.io",
        "org": "jupyterhub",
        "upstream_community": "jupyterhub",
        "pull_request_count": 0,
        "merged_pull_request_count": 0,
        "last_merged_at": None,
        "created_at": None,
        "updated_at": None,
    }
    assert (
        response.request["PATH_INFO"] == "/api/v1/contributions/repositories/JupyterHub/JupyterHub.github.io/"
    )
    assert operations_client.get(url("repository-detail", "jupyterhub/nope")).status_code == 404


def test_a_new_repository_takes_the_upstream_community_of_its_org(operations_client, jupyterhub):
    response = post(operations_client, "repository-list", {"full_name": "jupyterhub/kubespawner"})

    assert response.status_code == 201, response.content
    assert response.json()["upstream_community"] == "jupyterhub"
    assert Repository.objects.get().upstream_community == jupyterhub


def test_a_repository_names_its_upstream_community_by_slug(operations_client, jupyterhub):
    UpstreamCommunityFactory(slug="jupyter", github_orgs=["jupyter"])

    response = post(
        operations_client,
        "repository-list",
        {"full_name": "jupyterhub/nbgitpuller", "upstream_community": "jupyter"},
    )
    unknown = post(
        operations_client, "repository-list", {"full_name": "jupyterhub/other", "upstream_community": "nope"}
    )

    assert response.status_code == 201, response.content
    assert Repository.objects.get(full_name="jupyterhub/nbgitpuller").upstream_community.slug == "jupyter"
    assert unknown.status_code == 400
    assert "nope" in unknown.json()["upstream_community"][0]


def test_a_repository_differing_only_in_case_is_refused_by_the_service(operations_client, jupyterhub):
    RepositoryFactory(full_name="jupyterhub/repo2docker", upstream_community=jupyterhub)

    response = post(operations_client, "repository-list", {"full_name": "JupyterHub/Repo2Docker"})

    assert response.status_code == 400
    assert "The repository 'jupyterhub/repo2docker' already exists" in response.json()["full_name"][0]


def test_a_repository_name_without_an_org_is_refused(operations_client):
    response = post(operations_client, "repository-list", {"full_name": "repo2docker"})

    assert response.status_code == 400
    assert "write it as org/name" in response.json()["full_name"][0]


def test_operations_moves_then_deletes_a_repository(operations_client, jupyterhub):
    UpstreamCommunityFactory(slug="jupyter", github_orgs=["jupyter"])
    RepositoryFactory(full_name="jupyterhub/repo2docker", upstream_community=jupyterhub)

    response = patch(
        operations_client, "repository-detail", {"upstream_community": "jupyter"}, "jupyterhub/repo2docker"
    )

    assert response.status_code == 200, response.content
    assert Repository.objects.get().upstream_community.slug == "jupyter"
    assert operations_client.delete(url("repository-detail", "jupyterhub/repo2docker")).status_code == 204
    assert not Repository.objects.exists()


def test_repositories_filter_by_upstream_community_and_org(operations_client, jupyterhub):
    RepositoryFactory(full_name="jupyterhub/repo2docker", upstream_community=jupyterhub)
    RepositoryFactory(
        full_name="jupyter/notebook", upstream_community=UpstreamCommunityFactory(slug="jupyter")
    )
    RepositoryFactory(full_name="someone/thing", upstream_community=None)

    by_community = results(operations_client.get(url("repository-list"), {"upstream_community": "jupyter"}))
    by_org = results(operations_client.get(url("repository-list"), {"org": "JUPYTERHUB"}))
    unassigned = results(operations_client.get(url("repository-list"), {"unassigned": "true"}))

    assert [row["full_name"] for row in by_community] == ["jupyter/notebook"]
    assert [row["full_name"] for row in by_org] == ["jupyterhub/repo2docker"]
    assert [row["full_name"] for row in unassigned] == ["someone/thing"]


# --- pull requests ------------------------------------------------------------------------------


def test_a_pull_request_is_read_with_its_repository_community_and_staff_author(operations_client, jupyterhub):
    StaffMemberFactory(slug="ada", github="Ada-GH")
    pull_request = PullRequestFactory(
        repository=RepositoryFactory(full_name="jupyterhub/repo2docker", upstream_community=jupyterhub),
        number=7,
        author_login="ada-gh",
        title="Fix",
        url="https://github.com/jupyterhub/repo2docker/pull/7",
        created_at=BASE_INSTANT,
        merged_at=BASE_INSTANT + dt.timedelta(days=1),
    )

    body = operations_client.get(url("pull-request-detail", pull_request.pk)).json()

    assert body == {
        "id": pull_request.pk,
        "repository": "jupyterhub/repo2docker",
        "number": 7,
        "title": "Fix",
        "url": "https://github.com/jupyterhub/repo2docker/pull/7",
        "author_login": "ada-gh",
        "author": "ada",
        "upstream_community": "jupyterhub",
        "created_at": "2024-01-08T09:00:00Z",
        "merged_at": "2024-01-09T09:00:00Z",
        "is_bot": False,
        "recorded_at": body["recorded_at"],
        "updated_at": body["updated_at"],
    }


def test_a_pull_request_is_created_naming_its_repository_in_any_case(operations_client, jupyterhub):
    RepositoryFactory(full_name="jupyterhub/repo2docker", upstream_community=jupyterhub)
    StaffMemberFactory(slug="ada", github="ada-gh")

    # ``author`` is derived: a value sent for it is ignored.
    response = post(
        operations_client, "pull-request-list", pr_payload(repository="JupyterHub/Repo2Docker", author="x")
    )

    assert response.status_code == 201, response.content
    assert (response.json()["repository"], response.json()["author"]) == ("jupyterhub/repo2docker", "ada")
    pull_request = PullRequest.objects.get()
    assert (pull_request.repository.full_name, pull_request.number, pull_request.author.slug) == (
        "jupyterhub/repo2docker",
        1200,
        "ada",
    )


def test_a_pull_request_in_an_unknown_repository_is_a_400_on_repository(operations_client):
    response = post(operations_client, "pull-request-list", pr_payload(repository="nobody/nothing"))

    assert response.status_code == 400
    assert "nobody/nothing" in response.json()["repository"][0]


def test_a_merge_before_creation_is_refused_with_the_services_message(operations_client, jupyterhub):
    RepositoryFactory(full_name="jupyterhub/repo2docker", upstream_community=jupyterhub)

    response = post(operations_client, "pull-request-list", pr_payload(merged_at="2024-02-01T00:00:00Z"))

    assert response.status_code == 400
    assert response.json()["merged_at"] == [
        "The pull request was merged at 2024-02-01T00:00:00+00:00, before it was created at 2024-03-01T10:00:00+00:00."
    ]
    assert not PullRequest.objects.exists()


def test_a_pull_request_number_must_be_unique_in_its_repository(operations_client, jupyterhub):
    PullRequestFactory(repository=RepositoryFactory(full_name="jupyterhub/repo2docker"), number=1200)

    response = post(operations_client, "pull-request-list", pr_payload())

    assert response.status_code == 400
    assert "unique" in response.json()["non_field_errors"][0]


def test_a_bot_login_is_flagged_whatever_is_bot_says(operations_client, jupyterhub):
    RepositoryFactory(full_name="jupyterhub/repo2docker", upstream_community=jupyterhub)

    response = post(
        operations_client, "pull-request-list", pr_payload(author_login="dependabot[bot]", is_bot=False)
    )

    assert response.status_code == 201, response.content
    assert response.json()["is_bot"] is True


def test_operations_updates_and_deletes_a_pull_request_by_id(operations_client):
    StaffMemberFactory(slug="grace", github="grace-gh")
    pull_request = PullRequestFactory(author_login="someone")

    response = patch(operations_client, "pull-request-detail", {"author_login": "GRACE-gh"}, pull_request.pk)

    assert response.status_code == 200, response.content
    assert response.json()["author"] == "grace"
    pull_request.refresh_from_db()
    assert pull_request.author.slug == "grace"
    assert operations_client.delete(url("pull-request-detail", pull_request.pk)).status_code == 204
    assert not PullRequest.objects.exists()


def test_pull_requests_filter_by_natural_keys_and_merge_day_range(operations_client, jupyterhub):
    StaffMemberFactory(slug="ada", github="ada-gh")
    repo2docker = RepositoryFactory(full_name="jupyterhub/repo2docker", upstream_community=jupyterhub)
    day = dt.datetime(2024, 3, 31, 23, 59, tzinfo=dt.UTC)
    in_march = PullRequestFactory(
        repository=repo2docker, author_login="ada-gh", merged_at=day, created_at=day
    )
    PullRequestFactory(repository=repo2docker, merged_at=day + dt.timedelta(minutes=2), created_at=day)
    PullRequestFactory(repository=RepositoryFactory(), merged_at=day, created_at=day)
    PullRequestFactory(repository=repo2docker, merged_at=None)

    def ids(**params: str) -> list[int]:
        return [row["id"] for row in results(operations_client.get(url("pull-request-list"), params))]

    march = {"merged_at_after": "2024-03-01", "merged_at_before": "2024-03-31"}
    assert ids(repository="JUPYTERHUB/repo2docker", **march) == [in_march.pk]
    assert ids(upstream_community="jupyterhub", author="ada") == [in_march.pk]
    assert ids(by_staff="true") == [in_march.pk]
    assert len(ids(merged="false")) == 1
    assert (
        operations_client.get(url("pull-request-list"), {"merged_at_after": "31/03/2024"}).status_code == 400
    )


def test_pull_requests_order_on_the_allow_list_and_ignore_other_fields(operations_client):
    for number in (3, 1, 2):
        PullRequestFactory(number=number, repository=RepositoryFactory(full_name="org/repo"))

    def numbers(ordering: str) -> list[int]:
        rows = results(operations_client.get(url("pull-request-list"), {"ordering": ordering}))
        return [row["number"] for row in rows]

    assert numbers("number") == [1, 2, 3]
    assert numbers("-number") == [3, 2, 1]
    # Not on the allow-list: ignored, and the default order (latest merge first) holds.
    default = numbers("")
    assert numbers("title") == default
    assert numbers("author__slug") == default
    assert numbers("nonsense,-") == default


def test_a_pull_request_page_holds_at_most_1000_rows(operations_client):
    repository = RepositoryFactory()
    PullRequest.objects.bulk_create(
        PullRequest(repository=repository, number=n, author_login="x", created_at=BASE_INSTANT)
        for n in range(1, 1002)
    )

    body = operations_client.get(url("pull-request-list"), {"limit": 5000}).json()
    rest = operations_client.get(url("pull-request-list"), {"limit": 5000, "offset": 1000}).json()

    assert (body["count"], len(body["results"]), len(rest["results"])) == (1001, 1000, 1)
    assert rest["results"][0]["id"] not in {row["id"] for row in body["results"]}


# --- pull requests: batch mode --------------------------------------------------------------------


def test_a_batch_creates_and_updates_pull_requests_and_counts_them(operations_client, jupyterhub):
    StaffMemberFactory(slug="ada", github="ada-gh")
    PullRequestFactory(
        repository=RepositoryFactory(full_name="jupyterhub/repo2docker", upstream_community=jupyterhub),
        number=1,
        title="Old title",
    )
    rows = [
        pr_payload(number=1, title="New title"),
        pr_payload(number=2),
        pr_payload(repository="jupyterhub/oauthenticator", number=3, author_login="stranger"),
    ]

    response = post(operations_client, "pull-request-batch", rows)

    assert response.status_code == 200, response.content
    assert response.json() == {
        "created": 2,
        "updated": 1,
        "unchanged": 0,
        "repositories_created": 1,
        "unknown_logins": ["stranger"],
    }
    assert PullRequest.objects.get(number=1).title == "New title"
    assert PullRequest.objects.get(number=3).repository.upstream_community == jupyterhub
    assert post(operations_client, "pull-request-batch", rows).json()["unchanged"] == 3


def test_a_batch_may_be_sent_to_its_json_suffix_route(operations_client):
    target = reverse("contributions-api:pull-request-batch", kwargs={"format": "json"})

    response = operations_client.post(target, [pr_payload()], content_type="application/json")

    assert (target, response.status_code) == ("/api/v1/contributions/pull-requests/batch.json", 200)
    assert PullRequest.objects.count() == 1


def test_a_batch_with_one_bad_row_writes_nothing_and_names_the_row(operations_client):
    rows = [pr_payload(number=1), pr_payload(number=2, created_at="2024-13-01"), pr_payload(number=3)]

    response = post(operations_client, "pull-request-batch", rows)

    assert response.status_code == 400
    assert response.json() == {"created_at": ["row 1: '2024-13-01' is not an ISO 8601 date and time."]}
    assert not PullRequest.objects.exists()
    assert not Repository.objects.exists()


def test_a_batch_must_be_a_list_of_at_most_10000_rows(operations_client):
    not_a_list = post(operations_client, "pull-request-batch", pr_payload())
    too_many = post(operations_client, "pull-request-batch", [{}] * 10_001)

    assert (not_a_list.status_code, too_many.status_code) == (400, 400)
    assert not_a_list.json() == {"rows": ["Send a JSON list of rows."]}
    assert too_many.json() == {"rows": ["A batch holds at most 10000 rows, not 10001; split it."]}


def test_a_batch_may_be_larger_than_djangos_ceiling_on_form_bodies(operations_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    rows = [pr_payload(number=n) for n in range(1, 11)]

    response = post(operations_client, "pull-request-batch", rows)

    assert response.status_code == 200, response.content
    assert response.json()["created"] == 10


def test_a_batch_body_over_its_own_ceiling_is_a_413(operations_client, settings):
    settings.OPSITE_BATCH_JSON_MAX_BYTES = 1000

    response = post(operations_client, "pull-request-batch", [pr_payload(number=n) for n in range(1, 11)])

    assert response.status_code == 413
    assert response.json() == {"detail": "A batch body holds at most 1,000 bytes of JSON; split it."}
    assert not PullRequest.objects.exists()


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("[{", "JSON parse error"),
        ('[{"number": NaN}]', "JSON parse error"),
        (b"[\xff]", "The body is not UTF-8"),
    ],
)
def test_a_batch_that_is_not_json_is_a_400(operations_client, body, detail):
    response = operations_client.post(url("pull-request-batch"), body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)


def test_leadership_may_not_send_a_batch(leadership_client):
    response = post(leadership_client, "pull-request-batch", [pr_payload()])

    assert response.status_code == 403
    assert not PullRequest.objects.exists()


# --- import runs ----------------------------------------------------------------------------------


def test_sync_runs_are_listed_newest_first_and_cannot_be_written(super_client):
    older = SyncRun.objects.create(started_at=BASE_INSTANT, status=SyncRun.Status.SUCCEEDED, fetched=4)
    newer = SyncRun.objects.create(
        started_at=BASE_INSTANT + dt.timedelta(days=1), status=SyncRun.Status.FAILED
    )

    rows = results(super_client.get(url("sync-run-list")))
    failed = results(super_client.get(url("sync-run-list"), {"status": "failed"}))

    assert [row["id"] for row in rows] == [newer.pk, older.pk]
    assert [row["id"] for row in failed] == [newer.pk]
    assert rows[1]["fetched"] == 4
    assert post(super_client, "sync-run-list", {"status": "running"}).status_code == 405


# --- query counts ---------------------------------------------------------------------------------

# A logged-in list: 1 session, 2 user, 3 the user's permissions, 4 its groups' permissions,
# 5 the page count, 6 the page (relations joined, figures as subqueries).
LIST_QUERIES = 6


@pytest.mark.parametrize(
    ("name", "factory"),
    [
        ("upstream-community-list", UpstreamCommunityFactory),
        ("repository-list", RepositoryFactory),
        ("pull-request-list", PullRequestFactory),
    ],
)
def test_a_list_costs_the_same_queries_for_3_rows_as_for_20(
    operations_client, django_assert_num_queries, name, factory
):
    StaffMemberFactory(github="contributor-1")  # one pull request has a staff author
    for size in (3, 20):
        factory.create_batch(size - factory._meta.model.objects.count())
        with django_assert_num_queries(LIST_QUERIES):
            response = operations_client.get(url(name))
        assert len(response.json()["results"]) == size


# A superuser holds every permission without a query: 1 session, 2 user, 3 count, 4 page.
SUPERUSER_LIST_QUERIES = 4


def test_the_sync_run_list_costs_the_same_queries_for_3_rows_as_for_20(
    super_client, django_assert_num_queries
):
    for size in (3, 20):
        for n in range(SyncRun.objects.count(), size):
            SyncRun.objects.create(started_at=BASE_INSTANT + dt.timedelta(hours=n))
        with django_assert_num_queries(SUPERUSER_LIST_QUERIES):
            response = super_client.get(url("sync-run-list"))
        assert len(response.json()["results"]) == size


# --- roles (docs/roles.md) ---------------------------------------------------------------------------


def test_finance_keeps_contributions_as_operations_does(finance_client, jupyterhub):
    response = post(finance_client, "repository-list", {"full_name": "jupyterhub/kubespawner"})

    assert response.status_code == 201
    assert finance_client.delete(url("repository-detail", "jupyterhub/kubespawner")).status_code == 204


def test_leadership_reads_contributions_but_changes_nothing(leadership_client, jupyterhub):
    pull_request = PullRequestFactory()

    assert leadership_client.get(url("upstream-community-detail", "jupyterhub")).status_code == 200
    assert leadership_client.get(url("pull-request-detail", pull_request.pk)).status_code == 200
    assert post(leadership_client, "repository-list", {"full_name": "jupyterhub/x"}).status_code == 403
    assert (
        patch(leadership_client, "upstream-community-detail", {"is_key": False}, "jupyterhub").status_code
        == 403
    )
    assert leadership_client.delete(url("pull-request-detail", pull_request.pk)).status_code == 403
    assert UpstreamCommunity.objects.get(slug="jupyterhub").is_key is True


def test_anonymous_gets_nothing(client, jupyterhub):
    for name, args in (("upstream-community-list", ()), ("upstream-community-detail", ("jupyterhub",))):
        assert client.get(url(name, *args)).status_code == 401
    assert post(client, "pull-request-batch", [pr_payload()]).status_code == 401
