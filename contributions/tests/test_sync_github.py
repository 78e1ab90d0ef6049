"""The GitHub sync run end to end: real local HTTP server, real database, one run at a time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse

import contributions.sync_admin  # noqa: F401  (registers the admin, as contributions/admin.py will)
from contributions import tasks
from contributions.github import GitHubClient, pull_requests_sync
from contributions.models import PullRequest, Repository, SyncRun
from contributions.tests.factories import UpstreamCommunityFactory
from opsite.core.testing import enqueues_recorded
from staff.tests.factories import StaffMemberFactory

FIXTURES = Path(__file__).parent / "fixtures"
JSON = "application/json; charset=utf-8"
TOKEN = "ghp_test_token_not_a_real_one"
NOW = 1_712_707_200  # 2024-04-10T00:00:00Z, for the injected clock
SINCE, UNTIL = date(2024, 1, 1), date(2024, 3, 31)


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def query(login: str, org: str, since: date = SINCE, until: date = UNTIL) -> dict[str, str]:
    q = f"is:pr is:merged author:{login} org:{org} merged:{since.isoformat()}..{until.isoformat()}"
    return {"q": q, "per_page": "100", "page": "1"}


@pytest.fixture
def github(httpserver, settings, monkeypatch):
    """The local server stands in for api.github.com, for clients built by the code itself."""
    settings.OPSITE_GITHUB_API_URL = httpserver.url_for("/").rstrip("/")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    return httpserver


@pytest.fixture
def client(github, sleep):
    return GitHubClient(sleep=sleep, clock=lambda: NOW)


@pytest.fixture
def roster(db):
    """Alice works on JupyterHub; the key community has one organization."""
    alice = StaffMemberFactory(slug="alice", name="Alice", github="alice", start_on=date(2020, 1, 6))
    community = UpstreamCommunityFactory(slug="jupyterhub", name="JupyterHub", github_orgs=["jupyterhub"])
    return alice, community


def serve_alice(server, page1: str = "search_merged_page1.json") -> None:
    """Alice's three pull requests over two pages, linked by a Link header."""
    page2 = {**query("alice", "jupyterhub"), "page": "2"}
    link = server.url_for("/search/issues") + "?" + urlencode(page2)
    server.expect_request("/search/issues", query_string=query("alice", "jupyterhub")).respond_with_data(
        fixture(page1), content_type=JSON, headers={"Link": f'<{link}>; rel="next"'}
    )
    server.expect_request("/search/issues", query_string=page2).respond_with_data(
        fixture("search_merged_page2.json"), content_type=JSON
    )


def table_state() -> tuple[list, list]:
    """Everything the sync writes, without the bookkeeping timestamps."""
    pulls = list(
        PullRequest.objects.order_by("repository__full_name", "number").values_list(
            "repository__full_name",
            "number",
            "title",
            "url",
            "author_login",
            "author_id",
            "created_at",
            "merged_at",
            "is_bot",
        )
    )
    repositories = list(
        Repository.objects.order_by("full_name").values_list("id", "full_name", "upstream_community_id")
    )
    return pulls, repositories


def test_a_sync_upserts_the_merged_pull_requests_of_staff_in_key_orgs(github, client, roster):
    alice, community = roster
    serve_alice(github)

    run = pull_requests_sync(since=SINCE, until=UNTIL, client=client)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert (run.fetched, run.created, run.updated, run.bots, run.requests) == (3, 3, 0, 0, 2)
    assert (run.since, run.until, run.source) == (SINCE, UNTIL, SyncRun.Source.API)
    assert run.finished_at is not None
    pulls = PullRequest.objects.order_by("number")
    assert [(p.repository.full_name, p.number, p.author_id) for p in pulls] == [
        ("jupyterhub/binderhub", 1822, alice.pk),
        ("jupyterhub/zero-to-jupyterhub-k8s", 3390, alice.pk),
        ("jupyterhub/jupyterhub", 4701, alice.pk),
    ]
    assert pulls[2].merged_at == datetime(2024, 2, 3, 16, 40, 12, tzinfo=UTC)
    assert set(Repository.objects.values_list("upstream_community_id", flat=True)) == {community.pk}


def test_running_the_same_sync_twice_leaves_the_same_tables(github, client, roster):
    serve_alice(github)

    first = pull_requests_sync(since=SINCE, until=UNTIL, client=client)
    state = table_state()
    second = pull_requests_sync(since=SINCE, until=UNTIL, client=client)

    assert table_state() == state
    assert (first.created, second.created, second.updated) == (3, 0, 0)
    assert second.details["unchanged"] == 3
    assert SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED).count() == 2


@time_machine.travel(datetime(2024, 4, 10, 12, tzinfo=UTC), tick=False)
def test_the_first_run_starts_at_the_contributions_since_setting(github, client, roster, settings):
    settings.OPSITE_CONTRIBUTIONS_SINCE = "2023-06-01"
    github.expect_request(
        "/search/issues", query_string=query("alice", "jupyterhub", date(2023, 6, 1), date(2024, 4, 10))
    ).respond_with_data(fixture("search_empty.json"), content_type=JSON)

    run = pull_requests_sync(client=client)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert (run.since, run.until) == (date(2023, 6, 1), date(2024, 4, 10))


@time_machine.travel(datetime(2024, 4, 10, 12, tzinfo=UTC), tick=False)
def test_the_next_run_asks_from_the_last_until_minus_the_overlap(github, client, roster, settings):
    settings.OPSITE_GITHUB_SYNC_OVERLAP_DAYS = 3
    serve_alice(github)
    github.expect_request(
        "/search/issues", query_string=query("alice", "jupyterhub", date(2024, 3, 28), date(2024, 4, 10))
    ).respond_with_data(fixture("search_merged_page2.json"), content_type=JSON)
    pull_requests_sync(since=SINCE, until=UNTIL, client=client)
    # A failed run in between does not move the starting point.
    SyncRun.objects.create(
        started_at=datetime(2024, 4, 9, tzinfo=UTC), status=SyncRun.Status.FAILED, until=date(2024, 4, 9)
    )

    run = pull_requests_sync(client=client)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert (run.since, run.until) == (date(2024, 3, 28), date(2024, 4, 10))
    assert (run.fetched, run.created) == (1, 0)  # the overlap re-read one known pull request


def test_a_handle_github_does_not_know_is_reported_and_the_others_are_synced(github, client, roster):
    StaffMemberFactory(slug="bob", name="Bob", github="bob-left-github", start_on=date(2021, 1, 4))
    UpstreamCommunityFactory(slug="pangeo", name="Pangeo", github_orgs=["pangeo-data"])
    github.expect_request("/search/issues", query_string=query("alice", "jupyterhub")).respond_with_data(
        fixture("search_merged_single.json"), content_type=JSON
    )
    github.expect_request("/search/issues", query_string=query("alice", "pangeo-data")).respond_with_data(
        fixture("search_empty.json"), content_type=JSON
    )
    github.expect_request(
        "/search/issues", query_string=query("bob-left-github", "jupyterhub")
    ).respond_with_data(fixture("search_validation_failed.json"), status=422, content_type=JSON)
    github.expect_request("/users/bob-left-github").respond_with_data(
        fixture("user_not_found.json"), status=404, content_type=JSON
    )

    run = pull_requests_sync(since=SINCE, until=UNTIL, client=client)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.unknown_handles == ["bob-left-github"]
    assert run.details["unknown_orgs"] == []
    assert PullRequest.objects.count() == 1
    # Bob is not searched again in the second organization once GitHub said it does not know him.
    assert run.requests == 4


def test_an_organization_github_cannot_search_is_reported_not_blamed_on_the_handle(github, client, roster):
    UpstreamCommunityFactory(slug="gone", name="Gone", github_orgs=["org-renamed-away"])
    github.expect_request("/search/issues", query_string=query("alice", "jupyterhub")).respond_with_data(
        fixture("search_merged_single.json"), content_type=JSON
    )
    github.expect_request(
        "/search/issues", query_string=query("alice", "org-renamed-away")
    ).respond_with_data(fixture("search_validation_failed.json"), status=422, content_type=JSON)
    github.expect_request("/users/alice").respond_with_data(fixture("user.json"), content_type=JSON)

    run = pull_requests_sync(since=SINCE, until=UNTIL, client=client)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.unknown_handles == []
    assert run.details["unknown_orgs"] == ["org-renamed-away"]
    assert PullRequest.objects.count() == 1


@pytest.mark.parametrize(
    ("page2", "message"),
    [
        (fixture("bad_gateway.html"), "is an HTML page, not JSON"),
        (
            '{"total_count": 3, "incomplete_results": false, "items": [{"url": "https://api.git',
            "is not valid JSON",
        ),
        ('{"total_count": 3, "incomplete_results": false}', "'items' is missing"),
        (
            json.dumps({"total_count": 3, "incomplete_results": False, "items": [{"title": "no number"}]}),
            "'number' is missing",
        ),
    ],
    ids=["html-page", "truncated-json", "missing-items", "item-without-number"],
)
def test_a_malformed_second_page_fails_the_run_and_writes_nothing(github, client, roster, page2, message):
    link = github.url_for("/search/issues") + "?page=2"
    github.expect_request("/search/issues", query_string=query("alice", "jupyterhub")).respond_with_data(
        fixture("search_merged_page1.json"), content_type=JSON, headers={"Link": f'<{link}>; rel="next"'}
    )
    github.expect_request("/search/issues", query_string={"page": "2"}).respond_with_data(
        page2, content_type=JSON
    )

    run = pull_requests_sync(since=SINCE, until=UNTIL, client=client)

    assert run.status == SyncRun.Status.FAILED
    assert message in run.error
    assert (PullRequest.objects.count(), Repository.objects.count()) == (
        0,
        0,
    )  # page 1 was not written either
    assert run.finished_at is not None and run.fetched == 0


def test_a_long_rate_limit_stops_the_run_for_a_retry_and_writes_nothing(github, client, roster):
    github.expect_request("/search/issues").respond_with_data(
        fixture("rate_limit_exceeded.json"),
        status=403,
        content_type=JSON,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(NOW + 1800)},
    )

    run = pull_requests_sync(since=SINCE, until=UNTIL, client=client)

    assert run.status == SyncRun.Status.RATE_LIMITED
    assert run.retry_at == run.finished_at + timedelta(seconds=1800)
    assert "rescheduled" in run.error
    assert PullRequest.objects.count() == 0


def test_rows_the_upsert_refuses_fail_the_run_with_the_reason(github, client, roster):
    github.expect_request("/search/issues").respond_with_data(
        fixture("search_merged_single.json").replace('"2024-02-01T09:15:00Z"', '"2024-02-05T09:15:00Z"'),
        content_type=JSON,
    )

    run = pull_requests_sync(since=SINCE, until=UNTIL, client=client)

    assert run.status == SyncRun.Status.FAILED
    assert "merged_at" in run.error  # merged before it was created
    assert PullRequest.objects.count() == 0


def test_bots_are_counted_and_marked(db, roster):
    run = pull_requests_sync(from_file=FIXTURES / "search_with_bots.json")

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert (run.source, run.fetched, run.bots) == (SyncRun.Source.FILE, 3, 2)
    assert dict(PullRequest.objects.values_list("author_login", "is_bot")) == {
        "alice": False,
        "pre-commit-ci[bot]": True,
        "hub-release-automation": True,
    }


def test_a_saved_answer_replays_offline_into_the_same_tables(github, client, roster, tmp_path):
    serve_alice(github)
    saved = tmp_path / "alice.json"
    pull_requests_sync(since=SINCE, until=UNTIL, client=client, save_to=saved)
    state = table_state()
    PullRequest.objects.all().delete()

    run = pull_requests_sync(from_file=saved)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert json.loads(saved.read_text())["total_count"] == 3
    pulls, repositories = table_state()
    assert (pulls, repositories) == state


@pytest.fixture
def enqueued() -> Iterator[list[str]]:
    """The recomputes enqueued after a commit, in order (nothing really runs)."""
    with enqueues_recorded() as kinds:
        yield kinds


# Real commits: the recompute is enqueued by on-commit callbacks, as in production.
def test_the_rollup_recompute_is_requested_once_per_run(enqueued, transactional_db, github, client, roster):
    serve_alice(github)
    before = len(enqueued)  # the roster's own saves asked for theirs

    run = pull_requests_sync(since=SINCE, until=UNTIL, client=client)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert enqueued[before:] == ["rollups"]


def test_a_failed_run_requests_no_recompute(enqueued, transactional_db, roster, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("<html><body>Sign in</body></html>")
    before = len(enqueued)

    run = pull_requests_sync(from_file=broken)

    assert run.status == SyncRun.Status.FAILED
    assert "broken.json is an HTML page" in run.error
    assert enqueued[before:] == []


def test_the_command_prints_the_counts_and_the_unknown_handles(github, roster, capsys):
    StaffMemberFactory(slug="bob", name="Bob", github="bob-left-github", start_on=date(2021, 1, 4))
    github.expect_request("/search/issues", query_string=query("alice", "jupyterhub")).respond_with_data(
        fixture("search_merged_single.json"), content_type=JSON
    )
    github.expect_request(
        "/search/issues", query_string=query("bob-left-github", "jupyterhub")
    ).respond_with_data(fixture("search_validation_failed.json"), status=422, content_type=JSON)
    github.expect_request("/users/bob-left-github").respond_with_data(
        fixture("user_not_found.json"), status=404, content_type=JSON
    )

    call_command("sync_github", "--since", "2024-01-01", "--until", "2024-03-31")

    out = capsys.readouterr().out
    assert "1 pull requests fetched, 1 created" in out
    assert "GitHub does not know these staff handles: bob-left-github" in out


def test_the_command_fails_loudly_on_a_malformed_file(db, roster, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"total_count": 1, "items": [')

    with pytest.raises(CommandError, match=r"failed, nothing written: broken\.json is not valid JSON"):
        call_command("sync_github", "--from-file", str(broken))


def test_the_command_refuses_a_window_that_ends_before_it_starts(db, roster):
    with pytest.raises(CommandError, match="starts on 2024-03-01 after it ends on 2024-02-01"):
        call_command("sync_github", "--since", "2024-03-01", "--until", "2024-02-01")


def test_the_celery_task_runs_a_sync(github, roster):
    serve_alice(github)

    result = tasks.sync_github.delay(since="2024-01-01", until="2024-03-31").get()

    assert result["status"] == SyncRun.Status.SUCCEEDED
    assert result["fetched"] == 3
    assert PullRequest.objects.count() == 3


def test_the_sync_run_changelist_costs_the_same_queries_for_more_runs(
    super_client, django_assert_max_num_queries
):
    url = reverse("admin:contributions_syncrun_changelist")
    for day in range(3):
        SyncRun.objects.create(started_at=datetime(2024, 1, 1 + day, tzinfo=UTC), unknown_handles=["x"])
    with django_assert_max_num_queries(8) as few:
        assert super_client.get(url).status_code == 200
    for day in range(20):
        SyncRun.objects.create(started_at=datetime(2024, 2, 1 + day, tzinfo=UTC))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert super_client.get(url).status_code == 200


def test_sync_runs_are_read_only_in_the_admin(super_client):
    run = SyncRun.objects.create(started_at=datetime(2024, 1, 1, tzinfo=UTC), error="GitHub answered 500")

    assert super_client.get(reverse("admin:contributions_syncrun_add")).status_code == 403
    page = super_client.get(reverse("admin:contributions_syncrun_change", args=[run.pk]))
    assert page.status_code == 200
    assert b"GitHub answered 500" in page.content
    assert b'name="_save"' not in page.content
    assert (
        super_client.post(
            reverse("admin:contributions_syncrun_delete", args=[run.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert SyncRun.objects.filter(pk=run.pk).exists()


def test_sync_runs_export_as_csv_but_never_import(super_client):
    SyncRun.objects.create(started_at=datetime(2024, 1, 1, tzinfo=UTC), fetched=12, unknown_handles=["bob"])

    export = super_client.post(
        reverse("admin:contributions_syncrun_export"),
        {"format": "0", "resource": "0", **{f"syncrunresource_{f}": "on" for f in ("status", "fetched")}},
    )

    assert export.status_code == 200
    assert export.content.decode().splitlines()[:2] == ["status,fetched", "running,12"]
    assert super_client.get(reverse("admin:contributions_syncrun_import")).status_code == 403
