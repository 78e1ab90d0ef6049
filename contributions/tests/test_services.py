"""The rules that guard upstream communities, repositories and pull requests, and their messages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from contributions.models import PullRequest, Repository, UpstreamCommunity
from contributions.services import (
    pull_request_authors_resolve,
    pull_request_create,
    pull_request_update,
    pull_requests_upsert,
    repository_create,
    repository_update,
    upstream_community_create,
    upstream_community_update,
)
from staff.tests.factories import StaffMemberFactory

from .factories import BASE_INSTANT, PullRequestFactory, RepositoryFactory, UpstreamCommunityFactory

pytestmark = pytest.mark.django_db


def messages(error: ValidationError) -> dict[str, list[str]]:
    return error.value.message_dict


# --- upstream communities --------------------------------------------------------------------


def test_an_upstream_community_is_created_with_its_orgs():
    community = upstream_community_create(
        slug="jupyter", name="Jupyter", github_orgs=["jupyter", "jupyterlab"]
    )
    assert community.github_orgs == ["jupyter", "jupyterlab"]
    assert community.is_key is True


def test_github_orgs_must_be_a_list():
    with pytest.raises(ValidationError) as error:
        upstream_community_create(slug="jupyter", name="Jupyter", github_orgs="jupyter")
    assert messages(error) == {"github_orgs": ["Enter a list of GitHub organization logins, not str."]}


@pytest.mark.parametrize(
    ("org", "message"),
    [
        ("", "'' is not a GitHub organization login: each entry must be non-empty text."),
        (7, "7 is not a GitHub organization login: each entry must be non-empty text."),
        (
            "jupyter lab",
            "'jupyter lab' is not a GitHub organization login (letters, digits and hyphens, "
            "at most 39 characters).",
        ),
    ],
)
def test_each_github_org_must_be_a_github_login(org, message):
    with pytest.raises(ValidationError) as error:
        upstream_community_create(slug="jupyter", name="Jupyter", github_orgs=["jupyter", org])
    assert messages(error) == {"github_orgs": [message]}


def test_an_org_cannot_be_listed_twice_in_one_community():
    with pytest.raises(ValidationError) as error:
        upstream_community_create(slug="jupyter", name="Jupyter", github_orgs=["jupyter", "Jupyter"])
    assert messages(error) == {"github_orgs": ["The GitHub organization 'Jupyter' is listed twice."]}


def test_an_org_belongs_to_one_upstream_community_at_most_whatever_its_case():
    UpstreamCommunityFactory(slug="jupyter", name="Jupyter", github_orgs=["jupyter", "jupyterlab"])
    with pytest.raises(ValidationError) as error:
        upstream_community_create(slug="lab", name="Lab", github_orgs=["JupyterLab"])
    assert messages(error) == {
        "github_orgs": [
            "The GitHub organization 'JupyterLab' already belongs to the upstream community 'Jupyter' (jupyter)."
        ]
    }


def test_an_upstream_community_may_keep_its_own_orgs_when_updated():
    community = UpstreamCommunityFactory(slug="jupyter", github_orgs=["jupyter"])
    upstream_community_update(upstream_community=community, data={"name": "Project Jupyter"})
    community.refresh_from_db()
    assert community.name == "Project Jupyter"


def test_updating_with_an_unknown_field_is_a_programming_error():
    community = UpstreamCommunityFactory()
    with pytest.raises(TypeError, match="cannot be updated with colour"):
        upstream_community_update(upstream_community=community, data={"colour": "red"})


def test_a_new_org_attaches_the_repositories_that_had_no_community():
    loose = RepositoryFactory(full_name="pangeo-data/pangeo", upstream_community=None)
    chosen = UpstreamCommunityFactory(slug="other")
    kept = RepositoryFactory(full_name="pangeo-data/climpred", upstream_community=chosen)
    RepositoryFactory(full_name="pangeo-datax/other", upstream_community=None)
    pangeo = upstream_community_create(slug="pangeo", name="Pangeo", github_orgs=["Pangeo-Data"])
    loose.refresh_from_db()
    kept.refresh_from_db()
    assert loose.upstream_community == pangeo
    assert kept.upstream_community == chosen
    assert Repository.objects.get(full_name="pangeo-datax/other").upstream_community is None


# --- repositories ----------------------------------------------------------------------------


def test_a_repository_takes_the_upstream_community_of_its_org():
    jupyter = UpstreamCommunityFactory(slug="jupyter", github_orgs=["jupyter", "jupyterlab"])
    repository = repository_create(full_name="JupyterLab/jupyterlab-git")
    assert repository.upstream_community == jupyter


def test_a_repository_of_an_unknown_org_has_no_upstream_community():
    assert repository_create(full_name="someone/something").upstream_community is None


def test_a_repository_keeps_an_upstream_community_chosen_by_hand():
    UpstreamCommunityFactory(slug="jupyter", github_orgs=["jupyter"])
    other = UpstreamCommunityFactory(slug="other")
    repository = repository_create(full_name="jupyter/notebook", upstream_community="other")
    assert repository.upstream_community == other


def test_a_repository_names_an_unknown_upstream_community_slug():
    with pytest.raises(ValidationError) as error:
        repository_create(full_name="jupyter/notebook", upstream_community="nope")
    assert messages(error) == {"upstream_community": ["No upstream community with slug 'nope'."]}


@pytest.mark.parametrize(
    "full_name", ["notebook", "jupyter/", "/notebook", "jupyter/note/book", "ju pyter/x"]
)
def test_a_repository_name_must_be_org_slash_name(full_name):
    with pytest.raises(ValidationError) as error:
        repository_create(full_name=full_name)
    assert messages(error) == {
        "full_name": [
            f"{full_name!r} is not a GitHub repository: write it as org/name, "
            "e.g. jupyterhub/zero-to-jupyterhub-k8s."
        ]
    }


def test_a_repository_name_is_trimmed():
    assert repository_create(full_name="  jupyter/notebook ").full_name == "jupyter/notebook"


def test_a_repository_name_that_differs_only_in_case_is_the_same_repository():
    RepositoryFactory(full_name="jupyter/notebook")
    with pytest.raises(ValidationError) as error:
        repository_create(full_name="Jupyter/Notebook")
    assert messages(error) == {
        "full_name": [
            "The repository 'jupyter/notebook' already exists (repository names are case-insensitive, "
            "so 'Jupyter/Notebook' is the same one)."
        ]
    }


def test_a_repository_may_be_renamed_to_a_new_case():
    repository = RepositoryFactory(full_name="jupyter/notebook")
    repository_update(repository=repository, data={"full_name": "Jupyter/Notebook"})
    repository.refresh_from_db()
    assert repository.full_name == "Jupyter/Notebook"


# --- pull requests ---------------------------------------------------------------------------


def test_a_pull_request_author_is_resolved_from_the_staff_handle_whatever_its_case():
    person = StaffMemberFactory(github="MinRK")
    pull_request = pull_request_create(
        repository=RepositoryFactory(full_name="jupyter/notebook"),
        number=1,
        author_login="minrk",
        created_at=BASE_INSTANT,
    )
    assert pull_request.author == person
    assert pull_request.is_bot is False


def test_a_pull_request_by_someone_outside_the_staff_has_no_author():
    StaffMemberFactory(github="minrk")
    pull_request = PullRequestFactory(author_login="minrk-fan")
    assert pull_request.author is None


def test_a_pull_request_is_created_from_a_repository_name():
    RepositoryFactory(full_name="jupyter/notebook")
    pull_request = pull_request_create(
        repository="Jupyter/Notebook", number=3, author_login="someone", created_at=BASE_INSTANT
    )
    assert pull_request.repository.full_name == "jupyter/notebook"


def test_a_pull_request_names_an_unknown_repository():
    with pytest.raises(ValidationError) as error:
        pull_request_create(repository="no/where", number=3, author_login="someone", created_at=BASE_INSTANT)
    assert messages(error) == {"repository": ["No repository named 'no/where'."]}


def test_a_bot_login_marks_the_pull_request_as_a_bot():
    assert PullRequestFactory(author_login="dependabot[bot]").is_bot is True


def test_an_explicit_bot_flag_is_kept_for_a_login_without_the_suffix():
    assert PullRequestFactory(author_login="renovate", is_bot=True).is_bot is True


def test_a_pull_request_cannot_be_merged_before_it_was_created():
    with pytest.raises(ValidationError) as error:
        pull_request_create(
            repository=RepositoryFactory(),
            number=9,
            author_login="someone",
            created_at=dt.datetime(2024, 3, 2, 12, 0, tzinfo=dt.UTC),
            merged_at=dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC),
        )
    assert messages(error) == {
        "merged_at": [
            "The pull request was merged at 2024-03-01T12:00:00+00:00, "
            "before it was created at 2024-03-02T12:00:00+00:00."
        ]
    }


def test_a_pull_request_number_starts_at_1():
    with pytest.raises(ValidationError) as error:
        pull_request_create(
            repository=RepositoryFactory(), number=0, author_login="someone", created_at=BASE_INSTANT
        )
    assert messages(error) == {
        "number": ["The pull request number must be a whole number of at least 1, not 0."]
    }


def test_a_pull_request_author_login_must_be_a_github_login():
    with pytest.raises(ValidationError) as error:
        pull_request_create(
            repository=RepositoryFactory(), number=1, author_login="a b", created_at=BASE_INSTANT
        )
    assert messages(error) == {"author_login": ["'a b' is not a GitHub login."]}


def test_updating_the_login_re_resolves_the_author():
    person = StaffMemberFactory(github="choldgraf")
    pull_request = PullRequestFactory(author_login="someone")
    pull_request_update(pull_request=pull_request, data={"author_login": "CHoldgraf"})
    pull_request.refresh_from_db()
    assert pull_request.author == person


def test_the_author_cannot_be_set_directly():
    pull_request = PullRequestFactory()
    with pytest.raises(TypeError, match="cannot be updated with author"):
        pull_request_update(pull_request=pull_request, data={"author": StaffMemberFactory()})


def test_authors_are_re_resolved_when_a_handle_changes(django_assert_num_queries):
    alice = StaffMemberFactory(github="alice")
    bob = StaffMemberFactory(github="bob-old")
    by_alice = PullRequestFactory.create_batch(2, author_login="alice")
    by_bob = PullRequestFactory(author_login="Bob-New")
    by_stranger = PullRequestFactory(author_login="stranger")
    assert by_bob.author is None
    # The handles change without the pull requests being saved: alice's is now bob's.
    type(alice).objects.filter(pk=alice.pk).update(github="alice-2")
    type(bob).objects.filter(pk=bob.pk).update(github="bob-new")

    # a savepoint; unlink the stale authors; link the new matches; release the savepoint
    with django_assert_num_queries(4):
        changed = pull_request_authors_resolve()

    assert changed == 3
    for pull_request in [*by_alice, by_bob, by_stranger]:
        pull_request.refresh_from_db()
    assert [pr.author for pr in by_alice] == [None, None]
    assert by_bob.author == bob
    assert by_stranger.author is None
    assert pull_request_authors_resolve() == 0


def test_a_login_moved_to_another_person_moves_its_pull_requests():
    alice = StaffMemberFactory(github="shared")
    pull_request = PullRequestFactory(author_login="shared")
    type(alice).objects.filter(pk=alice.pk).update(github=None)
    carol = StaffMemberFactory(github="SHARED")
    pull_request_authors_resolve()
    pull_request.refresh_from_db()
    assert pull_request.author == carol


# --- bulk upsert -----------------------------------------------------------------------------


def row(**overrides):
    values = {
        "repository": "jupyterhub/jupyterhub",
        "number": 1,
        "title": "Fix the spawner",
        "url": "https://github.com/jupyterhub/jupyterhub/pull/1",
        "author_login": "minrk",
        "created_at": dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC),
        "merged_at": dt.datetime(2024, 3, 2, 9, 0, tzinfo=dt.UTC),
        "is_bot": False,
    }
    values.update(overrides)
    return values


def test_the_upsert_creates_pull_requests_repositories_and_resolves_authors():
    jupyterhub = UpstreamCommunityFactory(slug="jupyterhub", github_orgs=["jupyterhub"])
    minrk = StaffMemberFactory(github="MinRK")
    result = pull_requests_upsert(
        rows=[
            row(),
            row(number=2, author_login="dependabot[bot]"),
            row(repository="someone/else", number=1, author_login="stranger", merged_at=None),
        ]
    )
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    assert result.repositories_created == 2
    assert result.bots == 1
    assert result.unknown_logins == ["stranger"]
    first = PullRequest.objects.get(repository__full_name="jupyterhub/jupyterhub", number=1)
    assert first.author == minrk
    assert first.repository.upstream_community == jupyterhub
    assert PullRequest.objects.get(number=2).is_bot is True
    assert Repository.objects.get(full_name="someone/else").upstream_community is None


def test_the_upsert_updates_changed_rows_and_skips_unchanged_ones():
    pull_requests_upsert(rows=[row(), row(number=2)])
    before = PullRequest.objects.get(number=2).updated_at
    result = pull_requests_upsert(rows=[row(title="Fix the spawner, really"), row(number=2)])
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    assert PullRequest.objects.get(number=1).title == "Fix the spawner, really"
    assert PullRequest.objects.get(number=2).updated_at == before
    assert PullRequest.objects.count() == 2


def test_the_upsert_matches_repositories_whatever_their_case():
    RepositoryFactory(full_name="jupyterhub/jupyterhub")
    result = pull_requests_upsert(rows=[row(repository="JupyterHub/JupyterHub")])
    assert result.repositories_created == 0
    assert Repository.objects.count() == 1


def test_the_upsert_accepts_iso_8601_text_for_instants():
    pull_requests_upsert(rows=[row(created_at="2024-03-01T09:00:00Z", merged_at="2024-03-02T09:00:00Z")])
    assert PullRequest.objects.get().merged_at == dt.datetime(2024, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_the_upsert_is_all_or_nothing_and_names_every_bad_row_and_field():
    with pytest.raises(ValidationError) as error:
        pull_requests_upsert(
            rows=[
                row(),
                row(number=2, merged_at=dt.datetime(2024, 2, 1, tzinfo=dt.UTC)),
                row(number=3, repository="not-a-repository"),
                row(number=4, created_at=dt.datetime(2024, 3, 1, 9, 0)),
                row(number=5, author_login=""),
                row(number=1),
            ]
        )
    assert messages(error) == {
        "merged_at": [
            "row 1: The pull request was merged at 2024-02-01T00:00:00+00:00, "
            "before it was created at 2024-03-01T09:00:00+00:00."
        ],
        "repository": [
            "row 2: 'not-a-repository' is not a GitHub repository: write it as org/name, "
            "e.g. jupyterhub/zero-to-jupyterhub-k8s."
        ],
        "created_at": ["row 3: 2024-03-01T09:00:00 has no time zone; give one, e.g. 2024-03-01T12:00:00Z."],
        "author_login": ["row 4: author_login is required."],
        "rows": ["row 5: repeats row 0 (jupyterhub/jupyterhub#1); send each pull request once."],
    }
    assert not PullRequest.objects.exists()
    assert not Repository.objects.exists()


def test_the_upsert_refuses_unknown_fields_and_non_objects():
    with pytest.raises(ValidationError) as error:
        pull_requests_upsert(rows=[row(colour="red"), ["not", "a", "row"]])
    fields = "repository, number, title, url, author_login, created_at, merged_at, is_bot"
    assert messages(error) == {
        "colour": [f"row 0: unknown field 'colour'; expected {fields}."],
        "rows": [f"row 1: expected an object with {fields}, not list."],
    }


def test_the_upsert_resolves_authors_with_a_bounded_number_of_queries(django_assert_num_queries):
    StaffMemberFactory(github="minrk")
    UpstreamCommunityFactory(slug="jupyterhub", github_orgs=["jupyterhub"])
    rows = [row(repository=f"jupyterhub/repo-{n % 7}", number=n + 1) for n in range(60)]
    # repositories found, upstream communities, repositories created, repositories re-read,
    # staff handles, existing pull requests, one insert; the savepoint pair of the transaction
    with django_assert_num_queries(9):
        result = pull_requests_upsert(rows=rows)
    assert result.created == 60
    assert PullRequest.objects.filter(author__github="minrk").count() == 60


def test_an_empty_upsert_writes_nothing():
    result = pull_requests_upsert(rows=[])
    assert (result.created, result.updated, result.unchanged, result.total) == (0, 0, 0, 0)


def test_the_upsert_accepts_the_largest_number_an_integer_column_holds():
    pull_requests_upsert(rows=[row(number=2**31 - 1)])
    assert PullRequest.objects.get().number == 2**31 - 1


@pytest.mark.parametrize("number", [2**31, str(2**31), 10**30])
def test_the_upsert_refuses_a_number_too_large_for_an_integer_column(number):
    with pytest.raises(ValidationError) as error:
        pull_requests_upsert(rows=[row(), row(number=number)])
    assert messages(error) == {
        "number": [f"row 1: {int(number)} is larger than a pull request number can be (at most 2147483647)."]
    }
    assert not PullRequest.objects.exists()


def test_the_upsert_refuses_a_number_written_with_digits_int_cannot_read():
    with pytest.raises(ValidationError) as error:
        pull_requests_upsert(rows=[row(number="\u00b2")])
    assert messages(error) == {
        "number": ["row 0: The pull request number must be a whole number of at least 1, not '\u00b2'."]
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "Fix the\x00 spawner"),
        ("url", "https://github.com/jupyterhub/jupyterhub/pull/1\x00"),
        ("author_login", "minrk\x00"),
        ("repository", "jupyterhub/jupyter\x00hub"),
        ("created_at", "2024-03-01T09:00:00Z\x00"),
    ],
)
def test_the_upsert_refuses_a_nul_character_in_any_text_field(field, value, django_assert_num_queries):
    # Only the savepoint of @transaction.atomic (SAVEPOINT, ROLLBACK TO, RELEASE): nothing is read
    # or written, so the NUL never reaches PostgreSQL, which would answer with an error (a 500).
    with django_assert_num_queries(3), pytest.raises(ValidationError) as error:
        pull_requests_upsert(rows=[row(), row(number=2, **{field: value})])
    assert messages(error) == {field: [f"row 1: {field} contains a NUL character (\\x00)."]}
    assert not PullRequest.objects.exists()


def test_upstream_community_is_derived_when_missing_on_save():
    UpstreamCommunityFactory(slug="dask", github_orgs=["dask"])
    # Through the service: no model save() derives a field any more (docs/architecture.md).
    repository = repository_create(full_name="dask/distributed")
    assert repository.upstream_community == UpstreamCommunity.objects.get(slug="dask")
