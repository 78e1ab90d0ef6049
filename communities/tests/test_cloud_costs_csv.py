"""``manage.py import_cloud_costs``: the billing CSV, the command's output, the daily task."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from communities import tasks
from communities.cost_import import csv_costs_import
from communities.models import CloudCost, CostSource
from communities.tests.factories import CloudCostFactory, HubFactory

FIXTURES = Path(__file__).parent / "fixtures" / "cost_monitoring"
HEADER = "date,cluster,hub,component,cost,currency\n"

pytestmark = pytest.mark.django_db


@pytest.fixture
def hubs(db):
    HubFactory(slug="toronto", cluster="utoronto")
    return HubFactory(slug="ucmerced", cluster="2i2c"), HubFactory(slug="openscapes", cluster="2i2c")


@pytest.fixture
def mapped(hubs):
    return CostSource.objects.create(
        cluster="2i2c", url="https://costs.example.org", hub_mapping={"prod-openscapes": "openscapes"}
    )


def costs() -> dict[tuple[str, str, str, str], str]:
    return {
        (cluster, hub or "", day.isoformat(), component): f"{amount} {currency}"
        for cluster, hub, day, component, amount, currency in CloudCost.objects.values_list(
            "cluster", "hub__slug", "date", "component", "amount", "currency"
        )
    }


def write(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "costs.csv"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


def test_the_csv_becomes_costs_per_hub_and_component(mapped):
    report = csv_costs_import(path=FIXTURES / "costs.csv")

    assert report.status == "succeeded", report.error
    assert (report.since, report.until, report.written) == (date(2024, 3, 1), date(2024, 3, 1), 6)
    assert costs() == {
        ("2i2c", "ucmerced", "2024-03-01", "compute"): "30.00 USD",
        ("2i2c", "ucmerced", "2024-03-01", "home_storage"): "8.50 USD",
        # The service's name, through the cluster's source; its spelling of the component.
        ("2i2c", "openscapes", "2024-03-01", "home_storage"): "2.25 USD",
        # An empty hub and "support": the cluster's own costs.
        ("2i2c", "", "2024-03-01", "core"): "22.00 USD",
        ("2i2c", "", "2024-03-01", "networking"): "6.00 USD",
        ("utoronto", "toronto", "2024-03-01", "compute"): "3.10 CAD",
    }


def test_unknown_hubs_in_the_csv_are_reported_with_their_cost(mapped):
    report = csv_costs_import(path=FIXTURES / "costs.csv")

    assert report.unknown_hubs == {"mystery-hub": "4.20 USD"}
    assert "unknown hubs not written: mystery-hub (4.20 USD)" in str(report)


def test_importing_the_csv_twice_changes_nothing(mapped):
    csv_costs_import(path=FIXTURES / "costs.csv")
    first = costs()

    again = csv_costs_import(path=FIXTURES / "costs.csv")

    assert (again.result.created, again.result.updated, again.result.unchanged) == (0, 0, 6)
    assert costs() == first


def test_a_csv_updates_the_costs_it_names_and_removes_none(mapped, tmp_path):
    other = CloudCostFactory(cluster="2i2c", hub=None, date=date(2024, 3, 1), component="backup")
    csv_costs_import(path=FIXTURES / "costs.csv")

    report = csv_costs_import(path=write(tmp_path, "2024-03-01,2i2c,ucmerced,compute,31.00,USD\n"))

    assert (report.result.updated, report.result.deleted) == (1, 0)
    assert costs()[("2i2c", "ucmerced", "2024-03-01", "compute")] == "31.00 USD"
    assert CloudCost.objects.filter(pk=other.pk).exists()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("2024-03-02,2i2c,ucmerced,compute,-3.00,USD\n", "row 2, cost: '-3.00' is negative"),
        ("2024-03-02,2i2c,ucmerced,compute,abc,USD\n", "row 2, cost: 'abc' is not a number"),
        ("2024-03-02,2i2c,ucmerced,compute,1e3,USD\n", "without an exponent"),
        ('2024-03-02,2i2c,ucmerced,compute,"1,500.00",USD\n', "no thousands separators"),
        ("2024-03-02,2i2c,ucmerced,compute,1.234,USD\n", "more than two decimal places"),
        ("2024-03-02,2i2c,ucmerced,gpu,1.00,USD\n", "row 2, component: 'gpu' is not a component"),
        ("2024-03-02,2i2c,ucmerced,compute,1.00,usd\n", "row 2, currency: 'usd' is not a currency"),
        ("2024-03-02,2i2c,ucmerced,compute,1.00,\n", "row 2, currency: '' is not a currency"),
        ("02/03/2024,2i2c,ucmerced,compute,1.00,USD\n", "row 2, date: '02/03/2024' is not a date"),
        ("1999-03-02,2i2c,ucmerced,compute,1.00,USD\n", "is outside the dates opsite accepts"),
        ("2024-03-02,,ucmerced,compute,1.00,USD\n", "row 2, cluster: is empty"),
        ("2024-03-01,2i2c,ucmerced,compute,1.00,USD\n", "is already given on row 1"),
    ],
    ids=[
        "negative",
        "text",
        "exponent",
        "separators",
        "sub-cent",
        "component",
        "lower-currency",
        "no-currency",
        "us-date",
        "implausible",
        "no-cluster",
        "repeated",
    ],
)
def test_a_bad_row_refuses_the_whole_csv_naming_it(hubs, tmp_path, row, message):
    path = write(tmp_path, "2024-03-01,2i2c,ucmerced,compute,1.00,USD\n", row)

    report = csv_costs_import(path=path)

    assert report.status == "failed"
    assert message in report.error, report.error
    assert not CloudCost.objects.exists()


def test_a_csv_without_the_columns_is_refused(db, tmp_path):
    path = tmp_path / "costs.csv"
    path.write_text("date,hub,cost\n2024-03-01,ucmerced,1.00\n")

    report = csv_costs_import(path=path)

    assert "missing column(s) cluster, component, currency" in report.error


def test_a_csvs_queries_do_not_grow_with_its_rows(hubs, tmp_path):
    def queries(days: int) -> int:
        CloudCost.objects.all().delete()
        rows = [f"2024-01-{day:02d},2i2c,ucmerced,compute,1.00,USD\n" for day in range(1, days + 1)]
        path = write(tmp_path, *rows)
        with CaptureQueriesContext(connection) as captured:
            assert csv_costs_import(path=path).written == days
        return len(captured)

    # The cost sources of the file's clusters, the hubs it names, the stored costs of its days,
    # one insert; the transaction's savepoint and its release.
    assert queries(3) == queries(30) == 6


def test_the_command_imports_a_csv_and_prints_what_it_left_out(mapped, capsys):
    call_command("import_cloud_costs", csv=str(FIXTURES / "costs.csv"))

    out = capsys.readouterr().out
    assert "cloud costs CSV costs.csv 2024-03-01 to 2024-03-01: 6 costs added" in out
    assert "unknown hubs not written: mystery-hub (4.20 USD)" in out
    assert len(costs()) == 6


def test_the_command_fails_naming_the_bad_row_and_writes_nothing(hubs, tmp_path):
    path = write(tmp_path, "2024-03-01,2i2c,ucmerced,compute,-1.00,USD\n")

    with pytest.raises(CommandError, match=r"row 1, cost: '-1\.00' is negative"):
        call_command("import_cloud_costs", csv=str(path))
    assert not CloudCost.objects.exists()


def test_the_command_reads_saved_answers_for_a_cluster(mapped, capsys):
    call_command("import_cloud_costs", cluster="2i2c", from_file=str(FIXTURES / "saved_answers.json"))

    out = capsys.readouterr().out
    assert "cluster 2i2c 2024-03-01 to 2024-03-02: 18 costs added, 0 changed, 0 removed, 0 unchanged" in out
    assert "unknown hubs not written: mystery-hub (8.00 USD)" in out
    assert len(costs()) == 18


def test_the_command_needs_a_cluster_for_saved_answers(db):
    with pytest.raises(CommandError, match="need --cluster"):
        call_command("import_cloud_costs", from_file=str(FIXTURES / "saved_answers.json"))


def test_the_command_refuses_a_cluster_without_a_source(db):
    with pytest.raises(CommandError, match="No cost source is configured for the cluster 'nowhere'"):
        call_command("import_cloud_costs", cluster="nowhere")


def test_the_command_says_when_there_is_nothing_to_import(db, capsys):
    call_command("import_cloud_costs")

    assert "nothing to import" in capsys.readouterr().out


def test_the_daily_task_imports_every_enabled_source(httpserver, hubs, settings):
    settings.OPSITE_COST_INITIAL_DAYS = 1
    CostSource.objects.create(cluster="2i2c", url=httpserver.url_for("/"))
    httpserver.expect_request("/total-costs-per-hub").respond_with_json(
        [
            {"date": "2024-03-02", "cost": "5.00", "name": "ucmerced"},
            {"date": "2024-03-02", "cost": "1.00", "name": "nobody"},
        ]
    )
    httpserver.expect_request("/total-costs-per-component").respond_with_json(
        [{"date": "2024-03-02", "cost": "5.00", "component": "compute"}]
    )

    with time_machine.travel(datetime(2024, 3, 3, 9, 30, tzinfo=UTC), tick=False):
        result = tasks.import_cloud_costs.delay().get()

    assert result["failed"] is False
    assert result["written"] == 1
    assert result["unknown_hubs"] == ["nobody"]
    assert costs() == {("2i2c", "ucmerced", "2024-03-02", "compute"): "5.00 USD"}


def test_the_daily_task_is_in_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["import-cloud-costs"]

    assert entry["task"] == "communities.tasks.import_cloud_costs"
    assert entry["task"] in tasks.import_cloud_costs.app.tasks
