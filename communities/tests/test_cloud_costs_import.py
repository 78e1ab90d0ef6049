"""The cloud cost importer against a real local HTTP server speaking the cost-monitoring service's API.

The fixtures under ``fixtures/cost_monitoring/`` are written from the service's documentation and
source (see their README): ``/total-costs-per-hub`` rows ``{"date", "cost", "name"}``,
``/total-costs-per-component`` rows ``{"date", "cost", "component"}``, both asked with ``from`` and
``to``, the second with ``hub``; FastAPI's ``{"detail": ...}`` when the cloud provider fails.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from werkzeug import Response

from communities.cost_import import cost_import
from communities.cost_monitoring import CostMonitoringClient, cluster_costs_import, decode_json
from communities.models import CloudCost, CostSource
from communities.tests.factories import CloudCostFactory, HubFactory
from opsite.core.testing import enqueues_recorded

FIXTURES = Path(__file__).parent / "fixtures" / "cost_monitoring"
JSON = "application/json"
# Frozen "now": yesterday is 2024-03-02, the last complete day.
TODAY = datetime(2024, 3, 3, 9, 30, tzinfo=UTC)
WINDOW = {"from": "2024-03-01T00:00Z", "to": "2024-03-02T00:00Z"}
SECRET = "cost-secret-not-real"
KNOWN = ("prod-openscapes", "support", "ucmerced")


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def serve(server, prefix: str = "", *, day: str | None = None) -> None:
    """The documented answers of the window (of ``day`` only: the service has no other yet)."""

    def answer(name: str) -> str:
        rows = json.loads(fixture(name))
        return json.dumps([row for row in rows if day in (None, row["date"])])

    server.expect_request(f"{prefix}/total-costs-per-hub", query_string=WINDOW).respond_with_data(
        answer("total_costs_per_hub.json"), content_type=JSON
    )
    for name in KNOWN:
        server.expect_request(
            f"{prefix}/total-costs-per-component", query_string={**WINDOW, "hub": name}
        ).respond_with_data(answer(f"total_costs_per_component_{name}.json"), content_type=JSON)


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture(autouse=True)
def quick(settings):
    # The first run reads two days back; the next ones read the last two again.
    settings.OPSITE_COST_INITIAL_DAYS = 2
    settings.OPSITE_COST_REFRESH_DAYS = 2
    settings.OPSITE_COST_RETRY_BACKOFF_SECONDS = 0


@pytest.fixture
def hubs(db):
    return HubFactory(slug="ucmerced", cluster="2i2c"), HubFactory(slug="openscapes", cluster="2i2c")


@pytest.fixture
def source(httpserver, hubs):
    return CostSource.objects.create(
        cluster="2i2c", url=httpserver.url_for("/"), hub_mapping={"prod-openscapes": "openscapes"}
    )


def costs() -> dict[tuple[str, str, str, str], str]:
    return {
        (cluster, hub or "", day.isoformat(), component): f"{amount} {currency}"
        for cluster, hub, day, component, amount, currency in CloudCost.objects.values_list(
            "cluster", "hub__slug", "date", "component", "amount", "currency"
        )
    }


def test_a_window_becomes_a_cost_per_day_hub_and_component(httpserver, source):
    serve(httpserver)

    report = cluster_costs_import(source=source)

    assert report.status == "succeeded", report.error
    assert (report.since, report.until) == (date(2024, 3, 1), date(2024, 3, 2))
    assert (report.result.created, report.written) == (18, 18)
    found = costs()
    assert len(found) == 18
    assert found[("2i2c", "ucmerced", "2024-03-01", "home_storage")] == "8.50 USD"
    assert found[("2i2c", "openscapes", "2024-03-02", "compute")] == "9.75 USD"  # mapped name
    assert found[("2i2c", "", "2024-03-02", "core")] == "22.00 USD"  # support: no hub
    assert found[("2i2c", "ucmerced", "2024-03-02", "object_storage")] == "2.40 USD"
    # A hub's components add up to its total of the per-hub answer.
    ucmerced = CloudCost.objects.filter(hub__slug="ucmerced", date=date(2024, 3, 1))
    assert sum(c.amount for c in ucmerced) == Decimal("41.50")
    # One per-hub request, then one per-component request per known name (never the unknown one).
    asked = sorted(request.args.get("hub", "") for request, _ in httpserver.log)
    assert asked == ["", "prod-openscapes", "support", "ucmerced"]


def test_the_documented_answers_add_up(httpserver, source):
    serve(httpserver)

    report = cluster_costs_import(source=source)

    assert report.mismatches == []


def test_components_that_do_not_add_up_to_the_hubs_total_are_stored_and_reported(httpserver, source):
    httpserver.expect_request("/total-costs-per-hub", query_string=WINDOW).respond_with_json(
        [{"date": "2024-03-01", "cost": "41.50", "name": "ucmerced"}]
    )
    httpserver.expect_request("/total-costs-per-component").respond_with_json(
        [
            {"date": "2024-03-01", "cost": "30.00", "component": "compute"},
            {"date": "2024-03-02", "cost": "1.00", "component": "compute"},
        ]
    )

    report = cluster_costs_import(source=source)

    assert report.status == "succeeded", report.error
    assert report.mismatches == [
        "ucmerced 2024-03-01 (30.00 USD of components, 41.50 USD in all)",
        "ucmerced 2024-03-02 (1.00 USD of components, 0.00 USD in all)",
    ]
    assert "components not adding up to the hub's total: ucmerced 2024-03-01" in str(report)
    assert report.written == 2


def test_unknown_hubs_are_reported_with_their_cost_and_not_written(httpserver, source):
    serve(httpserver)

    report = cluster_costs_import(source=source)

    assert report.unknown_hubs == {"mystery-hub": "8.00 USD"}
    assert "unknown hubs not written: mystery-hub (8.00 USD)" in str(report)
    assert report.status == "succeeded"
    assert not CloudCost.objects.filter(hub__slug="mystery-hub").exists()


def test_a_name_mapped_to_nothing_is_the_clusters_own_cost(httpserver, source):
    source.hub_mapping = {"prod-openscapes": ""}
    serve(httpserver)

    cluster_costs_import(source=source)

    # support's 2.00 and prod-openscapes' none: no hub; the compute of prod-openscapes too.
    found = costs()
    assert found[("2i2c", "", "2024-03-01", "compute")] == "10.00 USD"
    assert found[("2i2c", "", "2024-03-01", "home_storage")] == "2.25 USD"
    assert not CloudCost.objects.filter(hub__slug="openscapes").exists()


def test_importing_the_same_days_twice_changes_nothing(httpserver, source):
    serve(httpserver)
    cluster_costs_import(source=source)
    first = costs()
    stamps = dict(CloudCost.objects.values_list("id", "updated_at"))

    again = cluster_costs_import(source=source)

    assert again.status == "succeeded", again.error
    assert (again.since, again.until) == (date(2024, 3, 1), date(2024, 3, 2))  # the last two again
    assert (again.result.created, again.result.updated, again.result.unchanged) == (0, 0, 18)
    assert costs() == first
    assert dict(CloudCost.objects.values_list("id", "updated_at")) == stamps


def test_a_revised_day_updates_its_costs_and_drops_the_ones_it_no_longer_has(httpserver, source):
    serve(httpserver)
    cluster_costs_import(source=source)
    # A mapping corrected since: a cost stored under a hub the answer no longer names goes away.
    stale = CloudCostFactory(
        cluster="2i2c", hub=HubFactory(slug="old-name"), date=date(2024, 3, 2), component="compute"
    )
    CloudCost.objects.filter(hub__slug="ucmerced", date=date(2024, 3, 1), component="compute").update(
        amount=Decimal("1.00")
    )
    elsewhere = CloudCostFactory(cluster="utoronto", hub=None, date=date(2024, 3, 2), component="core")
    httpserver.clear()
    serve(httpserver)

    report = cluster_costs_import(source=source)

    assert (report.result.updated, report.result.deleted, report.result.unchanged) == (1, 1, 17)
    assert costs()[("2i2c", "ucmerced", "2024-03-01", "compute")] == "30.00 USD"
    assert not CloudCost.objects.filter(pk=stale.pk).exists()
    assert CloudCost.objects.filter(pk=elsewhere.pk).exists()  # another cluster's day is its own


def test_a_day_the_service_has_no_costs_for_yet_is_reported_and_left_alone(httpserver, source):
    kept = CloudCostFactory(cluster="2i2c", hub=None, date=date(2024, 3, 2), component="core")
    serve(httpserver, day="2024-03-01")

    report = cluster_costs_import(source=source)

    assert report.status == "succeeded", report.error
    assert report.empty_days == [date(2024, 3, 2)]
    assert "no costs yet for 2024-03-02" in str(report)
    assert report.result.created == 9
    # Its stored cost is not taken for a cost that went away: the day is not in the answer.
    assert CloudCost.objects.filter(pk=kept.pk, amount=kept.amount).exists()


def test_an_empty_answer_writes_nothing_and_names_every_day(httpserver, source):
    httpserver.expect_request("/total-costs-per-hub", query_string=WINDOW).respond_with_json([])

    report = cluster_costs_import(source=source)

    assert report.status == "succeeded", report.error
    assert report.empty_days == [date(2024, 3, 1), date(2024, 3, 2)]
    assert report.written == 0
    assert len(httpserver.log) == 1


def test_the_next_run_asks_from_the_day_after_the_latest_cost_less_the_days_still_revised(
    httpserver, source, settings
):
    CloudCostFactory(cluster="2i2c", hub=None, date=date(2024, 2, 20), component="core")
    settings.OPSITE_COST_REFRESH_DAYS = 1
    httpserver.expect_request("/total-costs-per-hub").respond_with_json([])

    report = cluster_costs_import(source=source)

    assert (report.since, report.until) == (date(2024, 2, 21), date(2024, 3, 2))
    assert httpserver.log[0][0].args["from"] == "2024-02-21T00:00Z"


def test_a_500_fails_the_cluster_naming_the_services_reason_and_writes_nothing(httpserver, source):
    httpserver.expect_request("/total-costs-per-hub", query_string=WINDOW).respond_with_data(
        fixture("total_costs_per_hub.json"), content_type=JSON
    )
    for name in ("prod-openscapes", "support"):
        httpserver.expect_request(
            "/total-costs-per-component", query_string={**WINDOW, "hub": name}
        ).respond_with_data(fixture(f"total_costs_per_component_{name}.json"), content_type=JSON)
    httpserver.expect_request(
        "/total-costs-per-component", query_string={**WINDOW, "hub": "ucmerced"}
    ).respond_with_data(fixture("error_500.json"), status=500, content_type=JSON)

    report = cluster_costs_import(source=source)

    assert report.status == "failed"
    assert "refused /total-costs-per-component?from=2024-03-01T00:00Z" in report.error
    assert "hub=ucmerced: 500 Internal Server Error: An error occurred (DataUnavailableException)" in (
        report.error
    )
    assert report.written == 0
    assert not CloudCost.objects.exists()


def test_html_instead_of_json_fails_the_cluster(httpserver, source):
    httpserver.expect_request("/total-costs-per-hub").respond_with_data(
        "<html><body><h1>Sign in</h1></body></html>", content_type="text/html"
    )

    report = cluster_costs_import(source=source)

    assert report.status == "failed"
    assert "/total-costs-per-hub" in report.error
    assert "is an HTML page, not JSON: '<html><body><h1>Sign in" in report.error
    assert not CloudCost.objects.exists()


def test_a_retried_502_is_read_on_the_next_try(httpserver, source):
    sleeps: list[float] = []
    client = CostMonitoringClient(base_url=httpserver.url_for("/"), sleep=sleeps.append, backoff=3)
    httpserver.expect_ordered_request("/total-costs-per-hub").respond_with_data(
        "<html>502 Bad Gateway</html>", status=502, content_type="text/html"
    )
    serve(httpserver)

    report = cluster_costs_import(source=source, client=client)

    assert report.status == "succeeded", report.error
    assert sleeps == [3]
    assert report.written == 18


def test_a_service_that_does_not_answer_in_time_fails_after_its_retries(httpserver, source, settings):
    settings.OPSITE_COST_TIMEOUT_SECONDS = 0.3

    def slow(request):
        time.sleep(0.6)
        return Response("[]", content_type=JSON)

    httpserver.expect_request("/total-costs-per-hub").respond_with_handler(slow)

    started = time.monotonic()
    report = cluster_costs_import(source=source)

    assert report.status == "failed"
    assert "did not answer /total-costs-per-hub?from=2024-03-01T00:00Z&to=2024-03-02T00:00Z" in report.error
    assert "Timeout" in report.error
    assert time.monotonic() - started < 5
    assert not CloudCost.objects.exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"detail": "Not Found"}', "should be a JSON list of rows, not dict"),
        ('[{"date": "2024-03-01", "cost": "1.00"}]', "row 1: 'name' missing"),
        ('[{"date": "2024-03-01", "cost": "-1.00", "name": "ucmerced"}]', "the cost '-1.00' is negative"),
        ('[{"date": "2024-03-01", "cost": "1,50", "name": "ucmerced"}]', "the cost '1,50' is not a number"),
        ('[{"date": "2024-03-01", "cost": "NaN", "name": "ucmerced"}]', "the cost 'NaN' is not a number"),
        ('[{"date": "2024-03-01", "cost": NaN, "name": "ucmerced"}]', "is not valid JSON"),
        ('[{"date": "2024-03-01", "cost": "1.005", "name": "ucmerced"}]', "more than two decimal places"),
        (
            '[{"date": "03/01/2024", "cost": "1.00", "name": "ucmerced"}]',
            "the date '03/01/2024' is not a date",
        ),
        ('[{"date": "2024-02-01", "cost": "1.00", "name": "ucmerced"}]', "outside the days asked for"),
        ('[{"date": "2024-03-01", "cost": "1", "name": 7}]', "7 is not a hub name"),
        ("[", "is not valid JSON"),
        ("", "is empty, not JSON"),
    ],
    ids=[
        "object",
        "no-name",
        "negative",
        "comma",
        "nan-text",
        "nan-json",
        "sub-cent",
        "us-date",
        "outside",
        "number-name",
        "truncated",
        "empty",
    ],
)
def test_a_malformed_per_hub_answer_fails_the_cluster_and_writes_nothing(httpserver, source, body, message):
    httpserver.expect_request("/total-costs-per-hub").respond_with_data(body, content_type=JSON)

    report = cluster_costs_import(source=source)

    assert report.status == "failed"
    assert message in report.error, report.error
    assert not CloudCost.objects.exists()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"date": "2024-03-01", "cost": "1.00", "component": "gpu"}, "'gpu' is not a component; use one of"),
        ({"date": "2024-03-01", "cost": 1e400, "component": "compute"}, "is more than a cost can be"),
        ({"date": "2024-03-01", "component": "compute"}, "'cost' missing"),
    ],
    ids=["unknown-component", "huge", "no-cost"],
)
def test_a_bad_component_row_fails_the_whole_window(httpserver, source, row, message):
    httpserver.expect_request("/total-costs-per-hub", query_string=WINDOW).respond_with_data(
        fixture("total_costs_per_hub.json"), content_type=JSON
    )
    for name in ("prod-openscapes", "support"):
        httpserver.expect_request(
            "/total-costs-per-component", query_string={**WINDOW, "hub": name}
        ).respond_with_data(fixture(f"total_costs_per_component_{name}.json"), content_type=JSON)
    answer = [*json.loads(fixture("total_costs_per_component_ucmerced.json")), row]
    httpserver.expect_request(
        "/total-costs-per-component", query_string={**WINDOW, "hub": "ucmerced"}
    ).respond_with_data(json.dumps(answer).replace("Infinity", "1e400"), content_type=JSON)

    report = cluster_costs_import(source=source)

    assert report.status == "failed"
    assert "hub=ucmerced, row 9" in report.error and message in report.error, report.error
    assert not CloudCost.objects.exists()


def test_costs_written_as_json_numbers_are_read_exactly():
    rows = decode_json('[{"date": "2024-03-01", "cost": 0.1, "name": "x"}]', what="answer")

    assert rows[0]["cost"] == Decimal("0.1")


def test_a_bearer_token_is_read_from_the_variable_the_source_names(httpserver, source, monkeypatch):
    source.auth, source.secret_env = CostSource.Auth.BEARER, "COSTS_2I2C_TOKEN"
    monkeypatch.setenv("COSTS_2I2C_TOKEN", SECRET)
    serve(httpserver)

    cluster_costs_import(source=source)

    assert {request.headers["Authorization"] for request, _ in httpserver.log} == {f"Bearer {SECRET}"}


def test_basic_auth_uses_the_username_and_the_secret_from_the_environment(httpserver, source, monkeypatch):
    source.auth, source.username, source.secret_env = CostSource.Auth.BASIC, "finance", "COSTS_PASSWORD"
    monkeypatch.setenv("COSTS_PASSWORD", SECRET)
    serve(httpserver)

    cluster_costs_import(source=source)

    expected = base64.b64encode(f"finance:{SECRET}".encode()).decode()
    assert httpserver.log[0][0].headers["Authorization"] == f"Basic {expected}"


def test_a_missing_secret_fails_the_cluster_naming_the_variable_not_a_value(httpserver, source, monkeypatch):
    source.auth, source.secret_env = CostSource.Auth.BEARER, "COSTS_2I2C_TOKEN"
    monkeypatch.delenv("COSTS_2I2C_TOKEN", raising=False)

    report = cluster_costs_import(source=source)

    assert report.status == "failed"
    assert "The environment variable COSTS_2I2C_TOKEN (Bearer token of 2i2c) is not set." in report.error
    assert len(httpserver.log) == 0


def test_saved_answers_import_without_the_service(hubs):
    CostSource.objects.create(
        cluster="2i2c", url="https://costs.example.org", hub_mapping={"prod-openscapes": "openscapes"}
    )

    report = cost_import(cluster="2i2c", from_file=FIXTURES / "saved_answers.json")

    (part,) = report.parts
    assert part.status == "succeeded", part.error
    assert (part.since, part.until, part.written) == (date(2024, 3, 1), date(2024, 3, 2), 18)
    assert part.unknown_hubs == {"mystery-hub": "8.00 USD"}
    assert costs()[("2i2c", "openscapes", "2024-03-01", "compute")] == "10.00 USD"


def test_saving_the_answers_writes_a_file_the_importer_reads_back(httpserver, source, tmp_path):
    serve(httpserver)
    saved = tmp_path / "2i2c.json"
    cost_import(cluster="2i2c", save_to=saved)
    first = costs()
    CloudCost.objects.all().delete()

    cost_import(cluster="2i2c", from_file=saved)

    assert costs() == first
    assert set(json.loads(saved.read_text())) == {"total-costs-per-hub", "total-costs-per-component"}


def test_saved_answers_missing_a_hubs_components_are_refused(hubs, tmp_path):
    answers = json.loads(fixture("saved_answers.json"))
    del answers["total-costs-per-component"]["support"]
    path = tmp_path / "partial.json"
    path.write_text(json.dumps(answers))

    report = cost_import(cluster="2i2c", from_file=path)

    assert report.failed
    assert "No answer to /total-costs-per-component for the hub 'support'" in report.parts[0].error
    assert not CloudCost.objects.exists()


def test_saved_answers_need_a_cluster(db):
    with pytest.raises(ValidationError, match="need --cluster"):
        cost_import(from_file=FIXTURES / "saved_answers.json")


def test_disabled_sources_are_left_alone(httpserver, source):
    source.enabled = False
    source.save()

    report = cost_import()

    assert report.parts == []
    assert len(httpserver.log) == 0


def test_a_service_that_refuses_the_connection_fails_that_cluster_only(httpserver, source):
    HubFactory(slug="toronto", cluster="utoronto")
    # Nothing listens on port 9 of this host: the connection is refused.
    CostSource.objects.create(cluster="utoronto", url="http://127.0.0.1:9/")
    serve(httpserver)

    report = cost_import()

    by_cluster = {part.name: part for part in report.parts}
    assert "did not answer" in by_cluster["utoronto"].error
    assert "ConnectionError" in by_cluster["utoronto"].error
    assert by_cluster["2i2c"].status == "succeeded"
    assert report.failed and report.written == 18


def query_count(httpserver, source, names: int) -> int:
    """Queries of one cluster's import whose answers name ``names`` hubs, each with 7 components."""
    httpserver.clear()
    CloudCost.objects.all().delete()
    hubs = [HubFactory(slug=f"q-hub-{n}", cluster="2i2c") for n in range(names)]
    per_hub = [{"date": "2024-03-01", "cost": "7.00", "name": hub.slug} for hub in hubs]
    components = ["compute", "home storage", "core", "networking", "object storage", "backup", "other"]
    per_component = [{"date": "2024-03-01", "cost": "1.00", "component": c} for c in components]
    httpserver.expect_request("/total-costs-per-hub").respond_with_json(per_hub)
    httpserver.expect_request("/total-costs-per-component").respond_with_json(per_component)
    with CaptureQueriesContext(connection) as queries:
        report = cluster_costs_import(source=source, since=date(2024, 3, 1), until=date(2024, 3, 1))
    assert report.written == 7 * names, report.error
    return len(queries)


def test_an_imports_queries_do_not_grow_with_its_rows(httpserver, source):
    # The hubs the names stand for, twice (asking, then reading the answers), the stored costs of
    # the window, one insert; and the transaction's savepoint and its release. (An insert holds at
    # most 999 parameters on SQLite, 124 rows: 105 rows are one.)
    few = query_count(httpserver, source, names=2)
    many = query_count(httpserver, source, names=15)

    assert few == many == 6


@pytest.fixture
def enqueued() -> Iterator[list[str]]:
    """The recomputes enqueued after a commit, in order (nothing really runs)."""
    with enqueues_recorded() as kinds:
        yield kinds


@pytest.mark.django_db(transaction=True)
def test_one_run_over_two_clusters_requests_one_recompute_and_an_unchanged_one_none(httpserver, enqueued):
    HubFactory(slug="ucmerced", cluster="2i2c")
    HubFactory(slug="openscapes", cluster="utoronto")
    for cluster in ("2i2c", "utoronto"):
        CostSource.objects.create(
            cluster=cluster,
            url=httpserver.url_for(f"/{cluster}/"),
            hub_mapping={"prod-openscapes": "openscapes"},
        )
        serve(httpserver, prefix=f"/{cluster}")
    before = len(enqueued)

    report = cost_import(since=date(2024, 3, 1))

    assert [part.status for part in report.parts] == ["succeeded", "succeeded"]
    assert enqueued[before:] == ["rollups"]

    again = cost_import(since=date(2024, 3, 1))

    assert again.written == 0
    assert enqueued[before:] == ["rollups"]
