"""The Prometheus usage importer against a real local HTTP server.

The fixtures under ``fixtures/`` follow the Prometheus HTTP API documentation of
``/api/v1/query_range``: the ``{"status": "success", "data": {"resultType": "matrix", "result":
[{"metric": {...}, "values": [[<unix time>, "<value>"], ...]}]}}`` envelope, and the
``{"status": "error", "errorType": ..., "error": ...}`` answer to a bad query.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ValidationError

from communities.models import ActiveUserCount, PrometheusSource
from communities.prometheus import (
    MalformedResponse,
    PrometheusClient,
    cluster_usage_import,
    parse_matrix,
    sample_day,
    usage_import,
)
from communities.tests.factories import ActiveUserCountFactory, HubFactory
from opsite.core.testing import enqueues_recorded

FIXTURES = Path(__file__).parent / "fixtures"
JSON = "application/json"
# Frozen "now": yesterday is 2024-03-02, the last complete day.
TODAY = datetime(2024, 3, 3, 9, 30, tzinfo=UTC)
# The day 2024-03-01 ends at 1709337600 and 2024-03-02 at 1709424000 (00:00 UTC the day after).
START, END = "1709337600", "1709424000"
SECRET = "prom-secret-not-real"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def range_query(period: str, start: str = START, end: str = END, label: str = "namespace") -> dict[str, str]:
    return {
        "query": f'max(jupyterhub_active_users{{period="{period}"}}) by ({label})',
        "start": start,
        "end": end,
        "step": "86400",
    }


def serve_all_periods(server, prefix: str = "") -> None:
    for period in ("24h", "7d", "30d"):
        server.expect_request(
            f"{prefix}/api/v1/query_range", query_string=range_query(period)
        ).respond_with_data(fixture(f"query_range_{period}.json"), content_type=JSON)


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture(autouse=True)
def no_backoff(settings):
    settings.OPSITE_USAGE_RETRY_BACKOFF_SECONDS = 0


@pytest.fixture
def hubs(db):
    """Two hubs on the 2i2c cluster; the last count is from 2024-02-29, so two days are missing."""
    ucmerced = HubFactory(slug="ucmerced", cluster="2i2c")
    openscapes = HubFactory(slug="openscapes", cluster="2i2c")
    ActiveUserCountFactory(hub=ucmerced, date=date(2024, 2, 29), period="30d", active_users=300)
    return ucmerced, openscapes


@pytest.fixture
def source(httpserver, hubs):
    return PrometheusSource.objects.create(
        cluster="2i2c", url=httpserver.url_for("/"), hub_mapping={"prod-openscapes": "openscapes"}
    )


def counts() -> dict[tuple[str, str, str], int]:
    return {
        (hub, day.isoformat(), period): users
        for hub, day, period, users in ActiveUserCount.objects.values_list(
            "hub__slug", "date", "period", "active_users"
        )
    }


def test_the_missing_days_of_every_period_are_read_at_a_daily_step(httpserver, source):
    serve_all_periods(httpserver)

    report = cluster_usage_import(source=source)

    assert report.status == "succeeded", report.error
    assert (report.since, report.until, report.written) == (date(2024, 3, 1), date(2024, 3, 2), 12)
    found = counts()
    assert found[("ucmerced", "2024-03-01", "24h")] == 41
    assert found[("ucmerced", "2024-03-02", "7d")] == 118
    assert found[("openscapes", "2024-03-02", "30d")] == 66  # "prod-openscapes" mapped to the hub
    assert found[("ucmerced", "2024-02-29", "30d")] == 300  # earlier counts untouched
    assert len(found) == 13
    assert len(httpserver.log) == 3


def test_unknown_hubs_are_reported_and_excluded_hubs_skipped_and_counted(httpserver, source):
    serve_all_periods(httpserver)

    report = cluster_usage_import(source=source)

    assert report.unknown_hubs == ["mystery-hub"]
    assert report.excluded_hubs == ["ucmerced-staging"]
    assert "unknown hubs not written: mystery-hub" in str(report)
    assert "1 excluded hubs skipped (ucmerced-staging)" in str(report)
    assert not any(hub in ("mystery-hub", "ucmerced-staging") for hub, _, _ in counts())


def test_the_exclusion_pattern_is_a_setting(httpserver, source, settings):
    settings.OPSITE_USAGE_EXCLUDE_PATTERN = r"^mystery-"
    serve_all_periods(httpserver)

    report = cluster_usage_import(source=source)

    assert report.excluded_hubs == ["mystery-hub"]
    assert report.unknown_hubs == ["ucmerced-staging"]


def test_importing_the_same_days_twice_leaves_the_same_table(httpserver, source):
    serve_all_periods(httpserver)

    cluster_usage_import(source=source, since=date(2024, 3, 1))
    first = counts()
    again = cluster_usage_import(source=source, since=date(2024, 3, 1))

    assert again.status == "succeeded", again.error
    assert counts() == first
    assert ActiveUserCount.objects.count() == 13


def test_the_next_run_asks_only_for_the_days_after_the_latest_count(httpserver, source):
    serve_all_periods(httpserver)
    cluster_usage_import(source=source)
    for period in ("24h", "7d", "30d"):
        httpserver.expect_request(
            "/api/v1/query_range", query_string=range_query(period, start="1709510400", end="1709510400")
        ).respond_with_json({"status": "success", "data": {"resultType": "matrix", "result": []}})

    same_day = cluster_usage_import(source=source)
    with time_machine.travel(datetime(2024, 3, 4, 9, tzinfo=UTC), tick=False):
        next_day = cluster_usage_import(source=source)

    assert same_day.status == "up_to_date"
    assert next_day.status == "succeeded", next_day.error
    assert (next_day.since, next_day.until) == (date(2024, 3, 3), date(2024, 3, 3))
    assert len(httpserver.log) == 6


def test_a_retried_502_is_read_on_the_next_try(httpserver, source):
    sleeps: list[float] = []
    client = PrometheusClient(base_url=httpserver.url_for("/"), sleep=sleeps.append, backoff=3)
    httpserver.expect_ordered_request("/api/v1/query_range").respond_with_data(
        fixture("proxy_error.html"), status=502, content_type="text/html"
    )
    for period in ("24h", "7d", "30d"):
        httpserver.expect_ordered_request(
            "/api/v1/query_range", query_string=range_query(period)
        ).respond_with_data(fixture(f"query_range_{period}.json"), content_type=JSON)

    report = cluster_usage_import(source=source, client=client)

    assert report.status == "succeeded", report.error
    assert sleeps == [3]
    assert report.written == 12


def test_a_server_that_does_not_answer_fails_that_cluster_only(httpserver, source, enqueued):
    HubFactory(slug="toronto", cluster="utoronto")
    # Nothing listens on port 9 of this host: the connection is refused.
    PrometheusSource.objects.create(cluster="utoronto", url="http://127.0.0.1:9/")
    serve_all_periods(httpserver)

    report = usage_import()

    by_cluster = {part.cluster: part for part in report.clusters}
    assert by_cluster["utoronto"].status == "failed"
    assert "did not answer: ConnectionError" in by_cluster["utoronto"].error
    assert by_cluster["2i2c"].status == "succeeded"
    assert report.failed and report.written == 12
    assert len(counts()) == 13


def test_disabled_sources_are_left_alone(httpserver, source):
    source.enabled = False
    source.save()

    report = usage_import()

    assert report.clusters == []
    assert len(httpserver.log) == 0


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (200, fixture("proxy_error.html"), "is an HTML page, not JSON: '<html>"),
        (200, fixture("query_range_truncated.json"), "is not valid JSON"),
        (200, fixture("query_range_vector.json"), "'resultType' is 'vector', not 'matrix'"),
        (200, fixture("query_range_missing_values.json"), "series 1: 'values' is missing"),
        (200, fixture("query_range_not_a_number.json"), "the value 'NaN' is not a whole number of users"),
        (200, '{"status": "success"}', "'data' is missing"),
        (400, fixture("query_range_bad_data.json"), 'refused max(jupyterhub_active_users{period="30d"})'),
        (
            404,
            fixture("proxy_error.html"),
            'refused max(jupyterhub_active_users{period="30d"}) by (namespace): 404',
        ),
    ],
    ids=["html", "truncated", "vector", "no-values", "nan", "no-data", "bad-query", "not-prometheus"],
)
def test_a_malformed_answer_fails_the_cluster_and_writes_nothing(httpserver, source, status, body, message):
    # The first two periods answer well: the cluster is one batch, so their rows are not kept.
    for period in ("24h", "7d"):
        httpserver.expect_request("/api/v1/query_range", query_string=range_query(period)).respond_with_data(
            fixture(f"query_range_{period}.json"), content_type=JSON
        )
    httpserver.expect_request("/api/v1/query_range", query_string=range_query("30d")).respond_with_data(
        body, status=status, content_type=JSON
    )

    report = cluster_usage_import(source=source)

    assert report.status == "failed"
    assert message in report.error
    assert report.written == 0
    assert len(counts()) == 1


def test_a_bearer_token_is_read_from_the_variable_the_source_names(httpserver, source, monkeypatch):
    source.auth, source.secret_env = PrometheusSource.Auth.BEARER, "PROMETHEUS_2I2C_TOKEN"
    monkeypatch.setenv("PROMETHEUS_2I2C_TOKEN", SECRET)
    serve_all_periods(httpserver)

    cluster_usage_import(source=source)

    assert httpserver.log[0][0].headers["Authorization"] == f"Bearer {SECRET}"


def test_basic_auth_uses_the_username_and_the_secret_from_the_environment(httpserver, source, monkeypatch):
    source.auth, source.username, source.secret_env = PrometheusSource.Auth.BASIC, "reader", "PROM_PASSWORD"
    monkeypatch.setenv("PROM_PASSWORD", SECRET)
    serve_all_periods(httpserver)

    cluster_usage_import(source=source)

    expected = base64.b64encode(f"reader:{SECRET}".encode()).decode()
    assert httpserver.log[0][0].headers["Authorization"] == f"Basic {expected}"


def test_a_missing_secret_fails_the_cluster_naming_the_variable(httpserver, source, monkeypatch):
    source.auth, source.secret_env = PrometheusSource.Auth.BEARER, "PROMETHEUS_2I2C_TOKEN"
    monkeypatch.delenv("PROMETHEUS_2I2C_TOKEN", raising=False)

    report = cluster_usage_import(source=source)

    assert report.status == "failed"
    assert "PROMETHEUS_2I2C_TOKEN" in report.error and "is not set" in report.error
    assert len(httpserver.log) == 0


def test_a_custom_hub_label_is_used_in_the_query_and_the_mapping(httpserver, source):
    source.hub_label = "hub"
    answer = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [{"metric": {"hub": "ucmerced"}, "values": [[1709337600, "8"]]}],
        },
    }
    for period in ("24h", "7d", "30d"):
        httpserver.expect_request(
            "/api/v1/query_range", query_string=range_query(period, label="hub")
        ).respond_with_json(answer)

    report = cluster_usage_import(source=source)

    assert report.status == "succeeded", report.error
    assert counts()[("ucmerced", "2024-03-01", "7d")] == 8


def test_a_saved_answer_per_period_imports_without_the_server(hubs, tmp_path):
    report = usage_import(cluster="2i2c", from_file=FIXTURES / "usage_saved.json")

    (cluster,) = report.clusters
    assert cluster.status == "succeeded", cluster.error
    assert cluster.unknown_hubs == ["mystery-hub", "prod-openscapes"]  # no source, so no mapping
    assert counts()[("ucmerced", "2024-03-02", "24h")] == 37


def test_a_saved_answer_with_period_labels_imports_too(source):
    report = usage_import(cluster="2i2c", from_file=FIXTURES / "usage_by_period_label.json")

    assert report.clusters[0].status == "succeeded", report.clusters[0].error
    assert counts()[("openscapes", "2024-03-01", "7d")] == 30
    assert len(counts()) == 13


def test_saving_the_answers_writes_a_file_the_importer_reads_back(httpserver, source, tmp_path):
    serve_all_periods(httpserver)
    saved = tmp_path / "2i2c.json"
    usage_import(cluster="2i2c", save_to=saved)
    first = counts()
    ActiveUserCount.objects.exclude(date=date(2024, 2, 29)).delete()

    usage_import(cluster="2i2c", from_file=saved)

    assert counts() == first
    assert set(json.loads(saved.read_text())) == {"24h", "7d", "30d"}


def test_a_saved_file_needs_a_cluster(db):
    with pytest.raises(ValidationError, match="needs --cluster"):
        usage_import(from_file=FIXTURES / "usage_saved.json")


def test_samples_at_midnight_belong_to_the_day_that_ended():
    assert sample_day(1709337600) == date(2024, 3, 1)
    assert sample_day(1709337600 + 12 * 3600) == date(2024, 3, 2)  # a noon sample: its own day


def test_the_documented_example_answer_parses():
    # The example of the Prometheus documentation for query_range, as published.
    example = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                {
                    "metric": {"__name__": "up", "job": "prometheus", "instance": "localhost:9090"},
                    "values": [[1435781430.781, "1"], [1435781445.781, "1"], [1435781460.781, "1"]],
                },
                {
                    "metric": {"__name__": "up", "job": "node", "instance": "localhost:9091"},
                    "values": [[1435781430.781, "0"], [1435781445.781, "0"], [1435781460.781, "1"]],
                },
            ],
        },
    }

    series = parse_matrix(example, where="example")

    assert [labels["job"] for labels, _ in series] == ["prometheus", "node"]
    assert series[1][1] == [(date(2015, 7, 1), 0), (date(2015, 7, 1), 0), (date(2015, 7, 1), 1)]


def test_a_fractional_user_count_is_refused():
    answer = {
        "status": "success",
        "data": {"resultType": "matrix", "result": [{"metric": {}, "values": [[1, "2.5"]]}]},
    }

    with pytest.raises(MalformedResponse, match=r"'2\.5' is not a whole number"):
        parse_matrix(answer, where="answer")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"auth": "bearer", "secret_env": ""}, "secret_env"),
        ({"secret_env": "not a name"}, "secret_env"),
        ({"auth": "basic", "secret_env": "PROM_PASSWORD", "username": ""}, "username"),
        ({"hub_label": "kube-namespace"}, "hub_label"),
        ({"hub_mapping": ["ucmerced"]}, "hub_mapping"),
        ({"hub_mapping": {"prod": 3}}, "hub_mapping"),
    ],
)
def test_a_source_is_validated(db, changes, field):
    source = PrometheusSource(cluster="2i2c", url="https://prometheus.example.org", **changes)

    with pytest.raises(ValidationError) as raised:
        source.full_clean()

    assert field in raised.value.message_dict


@pytest.fixture
def enqueued() -> Iterator[list[str]]:
    """The recomputes enqueued after a commit, in order (nothing really runs)."""
    with enqueues_recorded() as kinds:
        yield kinds


@pytest.mark.django_db(transaction=True)
def test_one_run_over_two_clusters_requests_one_recompute(httpserver, enqueued):
    HubFactory(slug="ucmerced", cluster="2i2c")
    HubFactory(slug="openscapes", cluster="utoronto")
    for cluster in ("2i2c", "utoronto"):
        PrometheusSource.objects.create(cluster=cluster, url=httpserver.url_for(f"/{cluster}/"))
        serve_all_periods(httpserver, prefix=f"/{cluster}")
    before = len(enqueued)

    report = usage_import(since=date(2024, 3, 1))

    assert [part.status for part in report.clusters] == ["succeeded", "succeeded"]
    assert enqueued[before:] == ["rollups", "runway"]  # usage prices usage-priced contracts
