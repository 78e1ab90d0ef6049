"""The GitHub client against a real local HTTP server answering in GitHub's documented shapes.

The fixtures under ``fixtures/`` follow the REST documentation of "Search issues and pull
requests" (``total_count``, ``incomplete_results``, ``items``), its 422 "Validation Failed" body,
"Get a user", and the rate-limit answers (403/429 with ``x-ratelimit-*`` or ``retry-after``).
"""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

import pytest

from contributions.github import (
    GitHubClient,
    GitHubError,
    MalformedResponse,
    RateLimited,
    SearchRefused,
    pull_request_row,
    repository_full_name,
)

FIXTURES = Path(__file__).parent / "fixtures"
NOW = 1_709_251_200  # the injected clock: 2024-03-01T00:00:00Z
TOKEN = "ghp_test_token_not_a_real_one"
SINCE, UNTIL = date(2024, 1, 1), date(2024, 3, 31)
QUERY = "is:pr is:merged author:alice org:jupyterhub merged:2024-01-01..2024-03-31"
JSON = "application/json; charset=utf-8"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def item(name: str, index: int = 0) -> dict:
    return json.loads(fixture(name))["items"][index]


def search_params(query: str = QUERY, page: int = 1) -> dict[str, str]:
    return {"q": query, "per_page": "100", "page": str(page)}


@pytest.fixture
def client(httpserver, sleep):
    return GitHubClient(
        base_url=httpserver.url_for("/").rstrip("/"), token=TOKEN, sleep=sleep, clock=lambda: NOW
    )


def search(client: GitHubClient, since: date = SINCE, until: date = UNTIL) -> list[dict]:
    return list(client.search_merged(login="alice", org="jupyterhub", since=since, until=until))


def test_search_follows_the_link_header_to_the_next_page(httpserver, client):
    page2 = httpserver.url_for("/search/issues") + "?" + urlencode(search_params(page=2))
    page1 = httpserver.url_for("/search/issues") + "?" + urlencode(search_params(page=1))
    httpserver.expect_ordered_request("/search/issues", query_string=search_params(page=1)).respond_with_data(
        fixture("search_merged_page1.json"),
        content_type=JSON,
        headers={"Link": f'<{page2}>; rel="next", <{page2}>; rel="last"'},
    )
    httpserver.expect_ordered_request("/search/issues", query_string=search_params(page=2)).respond_with_data(
        fixture("search_merged_page2.json"),
        content_type=JSON,
        headers={"Link": f'<{page1}>; rel="prev", <{page1}>; rel="first"'},
    )

    items = search(client)

    assert [i["number"] for i in items] == [4701, 1822, 3390]
    assert client.requests_made == 2
    httpserver.check_assertions()


def test_search_sends_the_token_as_a_bearer_and_never_logs_it(httpserver, client, caplog):
    httpserver.expect_request("/search/issues").respond_with_data(
        fixture("search_empty.json"), content_type=JSON
    )
    caplog.set_level(logging.DEBUG)

    search(client)

    request, _ = httpserver.log[0]
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Accept"] == "application/vnd.github+json"
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(client)


def test_a_window_over_the_1000_result_cap_is_split_in_halves(httpserver, client):
    first_half = "is:pr is:merged author:alice org:jupyterhub merged:2024-01-01..2024-02-15"
    second_half = "is:pr is:merged author:alice org:jupyterhub merged:2024-02-16..2024-03-31"
    httpserver.expect_ordered_request("/search/issues", query_string=search_params()).respond_with_data(
        fixture("search_over_cap.json"), content_type=JSON
    )
    httpserver.expect_ordered_request(
        "/search/issues", query_string=search_params(first_half)
    ).respond_with_data(fixture("search_merged_single.json"), content_type=JSON)
    httpserver.expect_ordered_request(
        "/search/issues", query_string=search_params(second_half)
    ).respond_with_data(fixture("search_merged_page2.json"), content_type=JSON)

    items = search(client)

    # The over-cap answer's own items are dropped: each half is read whole instead.
    assert [i["number"] for i in items] == [4701, 3390]
    httpserver.check_assertions()


def test_a_rate_limit_with_a_reset_time_waits_exactly_until_the_reset(httpserver, client, sleep):
    httpserver.expect_ordered_request("/search/issues").respond_with_data(
        fixture("rate_limit_exceeded.json"),
        status=403,
        content_type=JSON,
        headers={
            "x-ratelimit-limit": "30",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-used": "30",
            "x-ratelimit-reset": str(NOW + 42),
            "x-ratelimit-resource": "search",
        },
    )
    httpserver.expect_ordered_request("/search/issues").respond_with_data(
        fixture("search_merged_single.json"), content_type=JSON
    )

    items = search(client)

    assert sleep.calls == [42]
    assert client.waited == 42
    assert [i["number"] for i in items] == [4701]


def test_a_secondary_rate_limit_waits_the_retry_after_seconds(httpserver, client, sleep):
    httpserver.expect_ordered_request("/search/issues").respond_with_data(
        fixture("secondary_rate_limit.json"), status=429, content_type=JSON, headers={"retry-after": "7"}
    )
    httpserver.expect_ordered_request("/search/issues").respond_with_data(
        fixture("search_empty.json"), content_type=JSON
    )

    assert search(client) == []
    assert sleep.calls == [7]


def test_a_rate_limit_without_headers_waits_a_minute(httpserver, client, sleep):
    httpserver.expect_ordered_request("/search/issues").respond_with_data(
        fixture("secondary_rate_limit.json"), status=403, content_type=JSON
    )
    httpserver.expect_ordered_request("/search/issues").respond_with_data(
        fixture("search_empty.json"), content_type=JSON
    )

    search(client)

    assert sleep.calls == [60]


def test_a_reset_beyond_the_longest_wait_stops_instead_of_sleeping(httpserver, client, sleep):
    httpserver.expect_request("/search/issues").respond_with_data(
        fixture("rate_limit_exceeded.json"),
        status=403,
        content_type=JSON,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(NOW + 3600)},
    )

    with pytest.raises(RateLimited) as raised:
        search(client)

    assert raised.value.wait_seconds == 3600
    assert sleep.calls == []
    assert len(httpserver.log) == 1  # asked once, never hammered


def test_the_wait_budget_bounds_the_sum_of_the_waits(httpserver, sleep):
    client = GitHubClient(
        base_url=httpserver.url_for("/").rstrip("/"),
        token=TOKEN,
        sleep=sleep,
        clock=lambda: NOW,
        wait_budget=100,
    )
    httpserver.expect_request("/search/issues").respond_with_data(
        fixture("rate_limit_exceeded.json"),
        status=403,
        content_type=JSON,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(NOW + 60)},
    )

    with pytest.raises(RateLimited):
        search(client)

    assert sleep.calls == [60]  # the second wait would pass the budget
    assert len(httpserver.log) == 2


def test_a_spent_quota_on_a_good_answer_pauses_before_the_next_request(httpserver, client, sleep):
    page2 = httpserver.url_for("/search/issues") + "?" + urlencode(search_params(page=2))
    httpserver.expect_ordered_request("/search/issues", query_string=search_params(page=1)).respond_with_data(
        fixture("search_merged_page1.json"),
        content_type=JSON,
        headers={
            "Link": f'<{page2}>; rel="next"',
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(NOW + 20),
        },
    )
    httpserver.expect_ordered_request("/search/issues", query_string=search_params(page=2)).respond_with_data(
        fixture("search_merged_page2.json"), content_type=JSON
    )

    assert len(search(client)) == 3
    assert sleep.calls == [20]


def test_a_502_is_retried_after_a_backoff(httpserver, client, sleep):
    httpserver.expect_ordered_request("/search/issues").respond_with_data(
        fixture("bad_gateway.html"), status=502, content_type="text/html"
    )
    httpserver.expect_ordered_request("/search/issues").respond_with_data(
        fixture("search_merged_single.json"), content_type=JSON
    )

    assert [i["number"] for i in search(client)] == [4701]
    assert sleep.calls == [2]


def test_retries_on_503_are_bounded(httpserver, client, sleep):
    httpserver.expect_request("/search/issues").respond_with_data("Service Unavailable", status=503)

    with pytest.raises(GitHubError, match=r"answered 503 .* 4 times"):
        search(client)

    assert sleep.calls == [2, 4, 8]
    assert len(httpserver.log) == 4


def test_a_forbidden_answer_that_is_not_a_rate_limit_fails_at_once(httpserver, client, sleep):
    httpserver.expect_request("/search/issues").respond_with_json(
        {"message": "Resource not accessible by personal access token"}, status=403
    )

    with pytest.raises(GitHubError, match=r"403 FORBIDDEN .*Resource not accessible") as raised:
        search(client)

    assert sleep.calls == []
    assert TOKEN not in str(raised.value)


def test_a_422_for_an_unknown_user_is_a_refused_search(httpserver, client):
    httpserver.expect_request("/search/issues").respond_with_data(
        fixture("search_validation_failed.json"), status=422, content_type=JSON
    )

    with pytest.raises(SearchRefused, match="listed users cannot be searched"):
        search(client)


def test_user_exists_reads_404_as_unknown(httpserver, client):
    httpserver.expect_request("/users/alice").respond_with_data(fixture("user.json"), content_type=JSON)
    httpserver.expect_request("/users/nobody-here").respond_with_data(
        fixture("user_not_found.json"), status=404, content_type=JSON
    )

    assert client.user_exists("alice") is True
    assert client.user_exists("nobody-here") is False


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (fixture("bad_gateway.html"), "is an HTML page, not JSON: '<!DOCTYPE html>"),
        ('{"total_count": 3, "incomplete_results": false, "items": [{"url": ', "is not valid JSON"),
        ('{"total_count": 3, "incomplete_results": false}', "'items' is missing"),
        ('{"total_count": "3", "items": []}', "'total_count' should be an integer, not '3'"),
        ("", "is empty, not JSON"),
    ],
    ids=["html-page", "truncated", "missing-items", "wrong-type", "empty"],
)
def test_a_malformed_answer_is_a_clear_error(httpserver, client, body, message):
    httpserver.expect_request("/search/issues").respond_with_data(body, status=200, content_type=JSON)

    with pytest.raises(MalformedResponse, match=message) as raised:
        search(client)

    assert QUERY in str(raised.value)  # says which search


def test_a_next_link_to_another_host_is_not_followed(httpserver, client):
    httpserver.expect_request("/search/issues").respond_with_data(
        fixture("search_merged_page1.json"),
        content_type=JSON,
        headers={"Link": '<https://elsewhere.example.org/search/issues?page=2>; rel="next"'},
    )

    with pytest.raises(GitHubError, match="another host"):
        search(client)

    assert len(httpserver.log) == 1


def test_a_row_takes_the_repository_from_repository_url_and_the_merge_time_from_pull_request():
    row = pull_request_row(item("search_merged_page1.json"), where="test")

    assert row["repository"] == "jupyterhub/jupyterhub"
    assert row["number"] == 4701
    assert row["url"] == "https://github.com/jupyterhub/jupyterhub/pull/4701"
    assert row["author_login"] == "alice"
    assert row["merged_at"].isoformat() == "2024-02-03T16:40:12+00:00"
    assert row["created_at"].isoformat() == "2024-02-01T09:15:00+00:00"
    assert row["is_bot"] is False


def test_bots_are_marked_by_login_suffix_and_by_user_type():
    rows = [pull_request_row(i, where="test") for i in json.loads(fixture("search_with_bots.json"))["items"]]

    assert [(r["author_login"], r["is_bot"]) for r in rows] == [
        ("alice", False),
        ("pre-commit-ci[bot]", True),  # login ends with [bot]
        ("hub-release-automation", True),  # user.type is "Bot"
    ]


def test_a_row_without_merged_at_in_pull_request_falls_back_to_closed_at():
    raw = item("search_merged_page1.json")
    del raw["pull_request"]["merged_at"]

    assert pull_request_row(raw, where="test")["merged_at"].isoformat() == "2024-02-03T16:40:12+00:00"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda i: i.pop("number"), "'number' is missing"),
        (lambda i: i.update(number="4701"), "'number' should be an integer, not '4701'"),
        (lambda i: i.update(repository_url="https://api.github.com/users/alice"), "does not name org/name"),
        (lambda i: i.update(created_at="yesterday"), "'created_at' should be an ISO 8601 time"),
        (lambda i: i.pop("pull_request"), "'pull_request' is missing"),
    ],
    ids=["no-number", "number-as-text", "not-a-repository", "bad-time", "an-issue"],
)
def test_a_malformed_item_names_the_key_and_the_value(change, message):
    raw = item("search_merged_page1.json")
    change(raw)

    with pytest.raises(MalformedResponse, match=message):
        pull_request_row(raw, where="result 1")


def test_repository_full_name_works_behind_an_enterprise_api_prefix():
    assert repository_full_name("https://ghe.example.org/api/v3/repos/Org/Name", where="x") == "Org/Name"
