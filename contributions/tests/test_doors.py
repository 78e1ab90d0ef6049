"""One write path: the same rule, message and side effects whichever door a write comes in by.

The doors of the contributions models: the API (create, update, delete), the admin's change form
(add, change), the admin's deletes (one row, the bulk "delete selected" action), an import (a CSV
file through the model's resource) and, for pull requests, the batch endpoint. The contributions
admin has no inlines. Each test breaks one rule, or expects one derived field or side effect,
through every door that exists for it, and compares what each door reports: the same fields,
the same messages, nothing written when refused, and one rollup recompute per accepted write.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contributions.models import PullRequest, Repository, UpstreamCommunity
from contributions.resources import PullRequestResource, RepositoryResource, UpstreamCommunityResource
from contributions.services import pull_request_create
from opsite.core import testing
from opsite.core.resources import import_file
from opsite.core.testing import admin_url, enqueues_recorded
from staff.tests.factories import StaffMemberFactory

from .factories import RepositoryFactory, UpstreamCommunityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued() -> Iterator[list[str]]:
    """The recomputes enqueued after each commit (nothing really runs)."""
    # A recompute batch left waiting from before the test would swallow every request the doors
    # make, and the tests expecting none would pass whatever the doors did.
    assert not connection.run_on_commit, "work was left waiting on commit before the test"
    with enqueues_recorded() as kinds:
        yield kinds


@pytest.fixture
def committed(enqueued):
    """``committed(write)``: run ``write`` as one committed transaction; return its result.

    The on-commit work (the recompute requests) runs when the block ends, as after a commit.
    """
    return testing.committed


@pytest.fixture
def given(committed, enqueued):
    """``given(write)``: set up rows, committed, and forget the recomputes they asked for."""

    def run(write: Callable[[], Any]) -> Any:
        result = committed(write)
        enqueued.clear()
        return result

    return run


# --- the models, as each door writes them ------------------------------------------------------


@dataclass(frozen=True)
class Model:
    model: type
    route: str  # the API's route name, without -list/-detail
    resource: type
    lookup: Callable[[Any], str]  # the API's lookup value for a row


UPSTREAM = Model(UpstreamCommunity, "upstream-community", UpstreamCommunityResource, lambda o: o.slug)
REPOSITORY = Model(Repository, "repository", RepositoryResource, lambda o: o.full_name)
PULL_REQUEST = Model(PullRequest, "pull-request", PullRequestResource, lambda o: str(o.pk))
BY_CLASS = {spec.model: spec for spec in (UPSTREAM, REPOSITORY, PULL_REQUEST)}

# Relations are written by natural key in the tests' values; the admin's forms take the row's id.
RELATIONS = {"upstream_community": (UpstreamCommunity, "slug"), "repository": (Repository, "full_name")}


def _text(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


def _admin_form(values: dict[str, Any]) -> dict[str, Any]:
    form: dict[str, Any] = {}
    for name, value in values.items():
        if name in RELATIONS:
            model, key = RELATIONS[name]
            form[name] = "" if value is None else model.objects.get(**{f"{key}__iexact": value}).pk
        elif isinstance(value, dt.datetime):  # the admin's split widget, in the active time zone (UTC)
            form[f"{name}_0"], form[f"{name}_1"] = value.date().isoformat(), value.time().isoformat()
        elif isinstance(value, bool):
            if value:
                form[name] = "on"
        elif isinstance(value, list):
            form[name] = ", ".join(value)
        else:
            form[name] = "" if value is None else value
    return form


def _csv(*rows: dict[str, Any]) -> str:
    """A CSV file of ``rows`` (one header, from the first row), as the resource reads it."""

    def cell(value: Any) -> Any:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, list):
            return ", ".join(value)
        return "" if value is None else _text(value)

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(rows[0])
    writer.writerows([cell(value) for value in row.values()] for row in rows)
    return out.getvalue()


def _admin_url(spec: Model, view: str, *args: Any) -> str:
    return admin_url(spec.model, view, *args)


def _api_errors(response, accepted: int) -> dict[str, list[str]]:
    return testing.api_errors(response, accepted=(accepted,)) or {}


def _admin_errors(response) -> dict[str, list[str]]:
    return testing.admin_errors(response) or {}


def _import_errors(spec: Model, values: dict[str, Any]) -> dict[str, list[str]]:
    return testing.import_errors(spec.resource(), _csv(values), row=1) or {}


def _batch_errors(client, values: dict[str, Any]) -> dict[str, list[str]]:
    row = {name: _text(value) for name, value in values.items()}
    response = client.post(
        reverse("contributions-api:pull-request-batch"), [row], content_type="application/json"
    )
    # The batch names each bad row by its index: the message after it is the services' own.
    return {
        name: [re.sub(r"^row 0: ", "", message) for message in messages]
        for name, messages in _api_errors(response, 200).items()
    }


# Each create door: (client, model, values) -> errors; {} when written.
CREATE_DOORS: dict[str, Callable[..., dict[str, list[str]]]] = {
    "api": lambda client, spec, values: _api_errors(
        client.post(
            reverse(f"contributions-api:{spec.route}-list"),
            {name: _text(value) for name, value in values.items()},
            content_type="application/json",
        ),
        201,
    ),
    "admin": lambda client, spec, values: _admin_errors(
        client.post(_admin_url(spec, "add"), _admin_form(values))
    ),
    "import": lambda client, spec, values: _import_errors(spec, values),
    "batch": lambda client, spec, values: _batch_errors(client, values),
}

# Each update door: (client, model, row, its values, the changes) -> errors. The API sends the
# changes alone (PATCH); a form, a file and a batch send the whole row.
UPDATE_DOORS: dict[str, Callable[..., dict[str, list[str]]]] = {
    "api": lambda client, spec, row, values, changes: _api_errors(
        client.patch(
            reverse(f"contributions-api:{spec.route}-detail", args=[spec.lookup(row)]),
            {name: _text(value) for name, value in changes.items()},
            content_type="application/json",
        ),
        200,
    ),
    "admin": lambda client, spec, row, values, changes: _admin_errors(
        client.post(_admin_url(spec, "change", row.pk), _admin_form(values | changes))
    ),
    "import": lambda client, spec, row, values, changes: _import_errors(spec, values | changes),
    "batch": lambda client, spec, row, values, changes: _batch_errors(client, values | changes),
}

DELETE_DOORS: dict[str, Callable[..., Any]] = {
    "api": lambda client, spec, row: client.delete(
        reverse(f"contributions-api:{spec.route}-detail", args=[spec.lookup(row)])
    ),
    "admin": lambda client, spec, row: testing.admin_delete(client, row),
    "admin bulk action": lambda client, spec, row: testing.admin_delete_selected(client, row),
}
DELETED = {"api": 204, "admin": 302, "admin bulk action": 302}

FORMS_AND_FILES = ["api", "admin", "import"]
EVERY_PULL_REQUEST_DOOR = ["api", "admin", "import", "batch"]


# --- upstream communities: an org belongs to one community; its loose repositories join it -------


def dask_values(**overrides: Any) -> dict[str, Any]:
    return {"slug": "dask", "name": "Dask", "github_orgs": ["dask"], "is_key": True, **overrides}


@pytest.fixture
def jupyterhub(given):
    return given(
        lambda: UpstreamCommunityFactory(slug="jupyterhub", name="JupyterHub", github_orgs=["jupyterhub"])
    )


@pytest.mark.parametrize("door", FORMS_AND_FILES)
def test_an_org_claimed_by_another_community_is_refused_alike_on_create(
    door, operations_client, jupyterhub, committed, enqueued
):
    errors = committed(
        lambda: CREATE_DOORS[door](
            operations_client, UPSTREAM, dask_values(github_orgs=["dask", "JupyterHub"])
        )
    )

    assert errors == {
        "github_orgs": [
            "The GitHub organization 'JupyterHub' already belongs to the upstream community 'JupyterHub' "
            "(jupyterhub)."
        ]
    }
    assert not UpstreamCommunity.objects.filter(slug="dask").exists()
    assert enqueued == []


@pytest.mark.parametrize("door", FORMS_AND_FILES)
def test_an_org_claimed_by_another_community_is_refused_alike_on_update(
    door, operations_client, jupyterhub, committed, enqueued, given
):
    dask = given(lambda: UpstreamCommunityFactory(**dask_values()))

    errors = committed(
        lambda: UPDATE_DOORS[door](
            operations_client, UPSTREAM, dask, dask_values(), {"github_orgs": ["dask", "jupyterhub"]}
        )
    )

    assert list(errors) == ["github_orgs"]
    assert errors["github_orgs"][0].startswith("The GitHub organization 'jupyterhub' already belongs")
    dask.refresh_from_db()
    assert dask.github_orgs == ["dask"]
    assert enqueued == []


@pytest.mark.parametrize("door", FORMS_AND_FILES)
def test_a_new_community_attaches_the_loose_repositories_of_its_orgs_alike(
    door, operations_client, committed, enqueued, given
):
    loose, chosen = given(
        lambda: (
            RepositoryFactory(full_name="dask/distributed", upstream_community=None),
            RepositoryFactory(
                full_name="dask/dask-ml", upstream_community=UpstreamCommunityFactory(slug="other")
            ),
        )
    )

    assert committed(lambda: CREATE_DOORS[door](operations_client, UPSTREAM, dask_values())) == {}

    dask = UpstreamCommunity.objects.get(slug="dask")
    assert Repository.objects.get(pk=loose.pk).upstream_community == dask
    assert Repository.objects.get(pk=chosen.pk).upstream_community.slug == "other"
    assert enqueued == ["rollups"]


@pytest.mark.parametrize("door", FORMS_AND_FILES)
def test_a_newly_listed_org_attaches_its_loose_repositories_alike(
    door, operations_client, committed, enqueued, given
):
    dask, loose = given(
        lambda: (
            UpstreamCommunityFactory(**dask_values()),
            RepositoryFactory(full_name="dask-contrib/dask-ml", upstream_community=None),
        )
    )

    errors = committed(
        lambda: UPDATE_DOORS[door](
            operations_client, UPSTREAM, dask, dask_values(), {"github_orgs": ["dask", "dask-contrib"]}
        )
    )

    assert errors == {}
    assert Repository.objects.get(pk=loose.pk).upstream_community == dask
    assert enqueued == ["rollups"]


# --- repositories: org/name, unique whatever its case; the community derived from the org -------


@pytest.mark.parametrize("door", FORMS_AND_FILES)
def test_a_repository_name_that_is_not_org_slash_name_is_refused_alike(
    door, operations_client, committed, enqueued
):
    errors = committed(
        lambda: CREATE_DOORS[door](
            operations_client, REPOSITORY, {"full_name": "not-a-repository", "upstream_community": None}
        )
    )

    assert errors == {
        "full_name": [
            "'not-a-repository' is not a GitHub repository: write it as org/name, "
            "e.g. jupyterhub/zero-to-jupyterhub-k8s."
        ]
    }
    assert not Repository.objects.exists()
    assert enqueued == []


CLASH = (
    "The repository 'jupyterhub/repo2docker' already exists (repository names are case-insensitive, "
    "so 'JupyterHub/Repo2Docker' is the same one)."
)


# An import matches a repository by its name whatever the case: the same name in another case is
# an update of that row there, never a clash.
@pytest.mark.parametrize("operation", ["create", "update"])
@pytest.mark.parametrize("door", ["api", "admin"])
def test_a_repository_name_taken_in_another_case_is_refused_alike(
    door, operation, operations_client, jupyterhub, committed, enqueued, given
):
    other = given(
        lambda: (
            RepositoryFactory(full_name="jupyterhub/repo2docker", upstream_community=jupyterhub),
            RepositoryFactory(full_name="jupyterhub/other", upstream_community=jupyterhub),
        )[1]
    )
    values = {"full_name": "JupyterHub/Repo2Docker", "upstream_community": "jupyterhub"}

    if operation == "create":
        errors = committed(lambda: CREATE_DOORS[door](operations_client, REPOSITORY, values))
    else:
        current = {"full_name": other.full_name, "upstream_community": "jupyterhub"}
        errors = committed(
            lambda: UPDATE_DOORS[door](
                operations_client, REPOSITORY, other, current, {"full_name": values["full_name"]}
            )
        )

    assert errors == {"full_name": [CLASH]}
    assert sorted(Repository.objects.values_list("full_name", flat=True)) == [
        "jupyterhub/other",
        "jupyterhub/repo2docker",
    ]
    assert enqueued == []


@pytest.mark.parametrize("operation", ["create", "update"])
@pytest.mark.parametrize("door", FORMS_AND_FILES)
def test_a_repository_without_a_community_takes_the_one_of_its_org_alike(
    door, operation, operations_client, jupyterhub, committed, enqueued, given
):
    if operation == "create":
        errors = committed(
            lambda: CREATE_DOORS[door](
                operations_client,
                REPOSITORY,
                {"full_name": "jupyterhub/binderhub", "upstream_community": None},
            )
        )
    else:
        repository = given(
            lambda: RepositoryFactory(
                full_name="jupyterhub/binderhub", upstream_community=UpstreamCommunityFactory(slug="other")
            )
        )
        current = {"full_name": "jupyterhub/binderhub", "upstream_community": "other"}
        errors = committed(
            lambda: UPDATE_DOORS[door](
                operations_client, REPOSITORY, repository, current, {"upstream_community": None}
            )
        )

    assert errors == {}
    assert Repository.objects.get(full_name="jupyterhub/binderhub").upstream_community == jupyterhub
    assert enqueued == ["rollups"]


# --- pull requests: no merge before creation; the author and the bot flag derived ---------------

CREATED = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC)


def pull_request_values(**overrides: Any) -> dict[str, Any]:
    return {
        "repository": "jupyterhub/repo2docker",
        "number": 17,
        "title": "Support Python 3.13",
        "url": "https://github.com/jupyterhub/repo2docker/pull/17",
        "author_login": "someone",
        "created_at": CREATED,
        "merged_at": CREATED + dt.timedelta(days=1),
        "is_bot": False,
        **overrides,
    }


@pytest.fixture
def repo2docker(jupyterhub, given):
    return given(lambda: RepositoryFactory(full_name="jupyterhub/repo2docker", upstream_community=jupyterhub))


@pytest.fixture
def existing(repo2docker, given):
    """A pull request by someone outside the staff, as every door finds it."""
    return given(lambda: pull_request_create(**pull_request_values(repository=repo2docker)))


EARLY_MERGE = {
    "merged_at": [
        "The pull request was merged at 2024-02-01T00:00:00+00:00, before it was created at "
        "2024-03-01T09:00:00+00:00."
    ]
}


@pytest.mark.parametrize("door", EVERY_PULL_REQUEST_DOOR)
def test_a_merge_before_creation_is_refused_alike_on_create(
    door, operations_client, repo2docker, committed, enqueued
):
    early = dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
    errors = committed(
        lambda: CREATE_DOORS[door](operations_client, PULL_REQUEST, pull_request_values(merged_at=early))
    )

    assert errors == EARLY_MERGE
    assert not PullRequest.objects.exists()
    assert enqueued == []


@pytest.mark.parametrize("door", EVERY_PULL_REQUEST_DOOR)
def test_a_merge_before_creation_is_refused_alike_on_update(
    door, operations_client, existing, committed, enqueued
):
    early = dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
    errors = committed(
        lambda: UPDATE_DOORS[door](
            operations_client, PULL_REQUEST, existing, pull_request_values(), {"merged_at": early}
        )
    )

    assert errors == EARLY_MERGE
    assert PullRequest.objects.get().merged_at == CREATED + dt.timedelta(days=1)
    assert enqueued == []


@pytest.mark.parametrize("door", EVERY_PULL_REQUEST_DOOR)
def test_a_new_pull_request_gets_its_author_and_bot_flag_alike(
    door, operations_client, repo2docker, committed, enqueued, given
):
    person = given(lambda: StaffMemberFactory(github="MinRK"))

    by_staff = committed(
        lambda: CREATE_DOORS[door](operations_client, PULL_REQUEST, pull_request_values(author_login="minrk"))
    )
    by_bot = committed(
        lambda: CREATE_DOORS[door](
            operations_client, PULL_REQUEST, pull_request_values(number=18, author_login="pre-commit-ci[bot]")
        )
    )

    assert (by_staff, by_bot) == ({}, {})
    assert list(PullRequest.objects.order_by("number").values_list("author", "is_bot")) == [
        (person.pk, False),
        (None, True),
    ]
    assert enqueued == ["rollups", "rollups"]


@pytest.mark.parametrize("door", EVERY_PULL_REQUEST_DOOR)
def test_a_changed_login_re_resolves_the_author_alike(
    door, operations_client, existing, committed, enqueued, given
):
    person = given(lambda: StaffMemberFactory(github="MinRK"))

    errors = committed(
        lambda: UPDATE_DOORS[door](
            operations_client, PULL_REQUEST, existing, pull_request_values(), {"author_login": "minrk"}
        )
    )

    assert errors == {}
    assert PullRequest.objects.get().author == person
    assert enqueued == ["rollups"]


def author_lookups(queries) -> int:
    """The queries that look staff members up by their GitHub login."""
    return sum(
        'FROM "staff_staffmember"' in sql and '"staff_staffmember"."github"' in sql.partition(" WHERE ")[2]
        for sql in (query["sql"] for query in queries)
    )


@pytest.mark.parametrize("door", ["import", "batch"])
def test_a_bulk_door_reads_the_roster_once_for_the_whole_batch(
    door, operations_client, repo2docker, given, committed
):
    people = given(lambda: [StaffMemberFactory(github=f"Staff-{n}") for n in range(5)])
    given(lambda: [pull_request_create(**pull_request_values(number=n)) for n in range(1, 6)])
    rows = [
        pull_request_values(number=n, author_login=f"staff-{n % 5}" if n % 2 else f"x-{n}")
        for n in range(1, 21)
    ]

    if door == "import":
        content = _csv(*rows)
        with CaptureQueriesContext(connection) as queries:
            committed(lambda: import_file(PULL_REQUEST.resource(), content, "csv"))
    else:
        body = [{name: _text(value) for name, value in row.items()} for row in rows]
        with CaptureQueriesContext(connection) as queries:
            response = committed(
                lambda: operations_client.post(
                    reverse("contributions-api:pull-request-batch"), body, content_type="application/json"
                )
            )
        assert response.status_code == 200, response.content

    assert author_lookups(queries) == 1
    authors = dict(PullRequest.objects.values_list("number", "author"))
    assert authors == {n: people[n % 5].pk if n % 2 else None for n in range(1, 21)}


@pytest.mark.parametrize("door", list(DELETE_DOORS))
@pytest.mark.parametrize("model", ["upstream community", "repository", "pull request"])
def test_a_delete_goes_through_every_door_alike(
    door, model, operations_client, existing, committed, enqueued
):
    row = {
        "upstream community": lambda: existing.repository.upstream_community,
        "repository": lambda: existing.repository,
        "pull request": lambda: existing,
    }[model]()
    spec = BY_CLASS[type(row)]

    response = committed(lambda: DELETE_DOORS[door](operations_client, spec, row))

    assert response.status_code == DELETED[door]
    assert not spec.model.objects.filter(pk=row.pk).exists()
    # The database's on_delete: a repository outlives its community; pull requests go with theirs.
    if model == "upstream community":
        assert Repository.objects.get().upstream_community is None
    if model == "repository":
        assert not PullRequest.objects.exists()
    assert enqueued == ["rollups"]
