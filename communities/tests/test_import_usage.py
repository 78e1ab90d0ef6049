"""``manage.py import_usage`` and its files: the per-hub and per-cluster usage CSVs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

import communities.usage_admin  # noqa: F401  (registers the admin, as communities/admin.py will)
from communities import tasks
from communities.models import ActiveUserCount, ClusterUsage, PrometheusSource
from communities.tests.factories import HubFactory
from communities.usage import cluster_usage_csv_import, hub_usage_csv_import

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def hubs(db):
    return HubFactory(slug="ucmerced", cluster="2i2c"), HubFactory(slug="openscapes", cluster="2i2c")


def counts() -> dict[tuple[str, str, str], int]:
    return {
        (hub, day.isoformat(), period): users
        for hub, day, period, users in ActiveUserCount.objects.values_list(
            "hub__slug", "date", "period", "active_users"
        )
    }


def cluster_usage() -> dict[tuple[str, str], int]:
    return {
        (cluster, day.isoformat()): users
        for cluster, day, users in ClusterUsage.objects.values_list("cluster", "date", "unique_users")
    }


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_hub_csv_becomes_30_day_counts(hubs):
    report = hub_usage_csv_import(path=FIXTURES / "hubs.csv")

    assert report.status == "succeeded", report.error
    assert counts() == {
        ("ucmerced", "2024-03-01", "30d"): 310,
        ("ucmerced", "2024-03-02", "30d"): 309,
        ("openscapes", "2024-03-01", "30d"): 64,
        ("openscapes", "2024-03-02", "30d"): 66,
    }
    assert (report.rows, report.written) == (6, 4)


def test_the_hub_csv_reports_unknown_hubs_and_counts_excluded_ones(hubs):
    report = hub_usage_csv_import(path=FIXTURES / "hubs.csv")

    assert report.unknown_hubs == ["mystery-hub"]
    assert report.excluded_hubs == ["ucmerced-staging"]
    assert str(report) == (
        "per-hub usage hubs.csv: 6 rows, 4 written; 1 excluded hubs skipped (ucmerced-staging); "
        "unknown hubs not written: mystery-hub"
    )


def test_a_bad_hub_csv_names_every_bad_row_and_writes_nothing(hubs):
    report = hub_usage_csv_import(path=FIXTURES / "hubs_bad.csv")

    assert report.failed
    assert "row 2, date: '2024-13-01' is not a date" in report.error
    assert "row 3, users: '-4' is not a whole number of users" in report.error
    assert "row 4, hub: ucmerced on 2024-03-01 is already given on row 1" in report.error
    assert counts() == {}  # row 1 was good, but the file is one batch


def test_the_hub_csv_accepts_a_spreadsheet_bom_and_whole_numbers_written_as_decimals(hubs, tmp_path):
    path = write(tmp_path, "hubs.csv", "\ufeffdate,hub,users,cluster\n2024-03-01,ucmerced,12.0,2i2c\n")

    report = hub_usage_csv_import(path=path)

    assert report.status == "succeeded", report.error
    assert counts() == {("ucmerced", "2024-03-01", "30d"): 12}


def test_a_csv_without_the_expected_columns_is_refused(hubs, tmp_path):
    path = write(tmp_path, "usage.csv", "day,hub,users\n2024-03-01,ucmerced,3\n")

    report = hub_usage_csv_import(path=path)

    assert report.failed
    assert "missing column(s) date, cluster; expected date,hub,users,cluster" in report.error


def test_importing_the_hub_csv_twice_leaves_the_same_table(hubs):
    hub_usage_csv_import(path=FIXTURES / "hubs.csv")
    first = counts()

    again = hub_usage_csv_import(path=FIXTURES / "hubs.csv")

    assert again.status == "succeeded"
    assert counts() == first


def test_the_cluster_csv_is_upserted_by_cluster_and_date(db, tmp_path):
    report = cluster_usage_csv_import(path=FIXTURES / "clusters.csv")
    revised = write(tmp_path, "clusters.csv", "date,cluster,unique_users\n2024-03-02,2i2c,351\n")

    again = cluster_usage_csv_import(path=revised)

    assert (report.status, again.status) == ("succeeded", "succeeded")
    assert cluster_usage() == {
        ("2i2c", "2024-03-01"): 352,
        ("2i2c", "2024-03-02"): 351,
        ("utoronto", "2024-03-01"): 1204,
    }


def test_importing_the_cluster_csv_twice_leaves_the_same_table(db):
    cluster_usage_csv_import(path=FIXTURES / "clusters.csv")
    first = list(ClusterUsage.objects.values_list("id", "cluster", "date", "unique_users"))

    cluster_usage_csv_import(path=FIXTURES / "clusters.csv")

    assert list(ClusterUsage.objects.values_list("id", "cluster", "date", "unique_users")) == first


def test_a_bad_cluster_csv_writes_nothing(db):
    report = cluster_usage_csv_import(path=FIXTURES / "clusters_bad.csv")

    assert report.failed
    assert "row 2, unique_users: 'many' is not a whole number of users" in report.error
    assert ClusterUsage.objects.count() == 0


def test_the_command_imports_both_csvs_and_prints_a_line_for_each(hubs, capsys):
    call_command(
        "import_usage",
        "--hub-csv",
        str(FIXTURES / "hubs.csv"),
        "--cluster-csv",
        str(FIXTURES / "clusters.csv"),
    )

    out = capsys.readouterr().out
    assert "per-hub usage hubs.csv: 6 rows, 4 written" in out
    assert "per-cluster usage clusters.csv: 3 rows, 3 written" in out
    assert len(counts()) == 4 and len(cluster_usage()) == 3


def test_the_command_fails_when_a_file_fails_but_keeps_the_good_one(hubs, capsys):
    with pytest.raises(CommandError, match="Some batches failed"):
        call_command(
            "import_usage",
            "--hub-csv",
            str(FIXTURES / "hubs_bad.csv"),
            "--cluster-csv",
            str(FIXTURES / "clusters.csv"),
        )

    out = capsys.readouterr().out
    assert "per-hub usage hubs_bad.csv: failed, nothing written" in out
    assert counts() == {}
    assert len(cluster_usage()) == 3


def test_the_command_reads_a_saved_prometheus_answer_for_a_cluster(hubs, capsys):
    PrometheusSource.objects.create(
        cluster="2i2c",
        url="https://prometheus.2i2c.example.org",
        hub_mapping={"prod-openscapes": "openscapes"},
    )

    call_command("import_usage", "--cluster", "2i2c", "--from-file", str(FIXTURES / "usage_saved.json"))

    out = capsys.readouterr().out
    assert "cluster 2i2c: 12 counts written" in out
    assert "unknown hubs not written: mystery-hub" in out
    assert counts()[("openscapes", "2024-03-02", "24h")] == 9


def test_the_command_needs_a_cluster_for_a_saved_answer(db):
    with pytest.raises(CommandError, match="needs --cluster"):
        call_command("import_usage", "--from-file", str(FIXTURES / "usage_saved.json"))


def test_the_command_refuses_a_cluster_without_a_source(db):
    with pytest.raises(CommandError, match="No Prometheus source is configured for the cluster 'nowhere'"):
        call_command("import_usage", "--cluster", "nowhere")


def test_the_command_says_when_there_is_nothing_to_import(db, capsys):
    call_command("import_usage")

    assert "nothing to import" in capsys.readouterr().out


def test_the_celery_task_imports_every_enabled_source(httpserver, hubs, settings):
    settings.OPSITE_USAGE_RETRY_BACKOFF_SECONDS = 0
    PrometheusSource.objects.create(cluster="2i2c", url=httpserver.url_for("/"))
    httpserver.expect_request("/api/v1/query_range").respond_with_json(
        {
            "status": "success",
            "data": {
                "resultType": "matrix",
                "result": [{"metric": {"namespace": "ucmerced"}, "values": [[1709337600, "7"]]}],
            },
        }
    )

    result = tasks.import_usage.delay().get()

    assert result["failed"] is False
    assert result["written"] == 3
    assert {period for (_, _, period) in counts()} == {"24h", "7d", "30d"}
    assert len(httpserver.log) == 3


def test_usage_changelists_cost_the_same_queries_for_more_rows(super_client, django_assert_max_num_queries):
    for model, make in (
        (
            "clusterusage",
            lambda n: ClusterUsage.objects.create(cluster=f"c{n}", date=date(2024, 1, 1), unique_users=n),
        ),
        (
            "prometheussource",
            lambda n: PrometheusSource.objects.create(cluster=f"c{n}", url=f"https://p{n}.example.org"),
        ),
    ):
        url = reverse(f"admin:communities_{model}_changelist")
        for n in range(3):
            make(n)
        with django_assert_max_num_queries(10) as few:
            assert super_client.get(url).status_code == 200
        for n in range(3, 25):
            make(n)
        with django_assert_max_num_queries(len(few.captured_queries)):
            assert super_client.get(url).status_code == 200


def test_the_source_admin_says_whether_the_secret_is_set_never_what_it_is(super_client, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_2I2C_TOKEN", "prom-secret-not-real")
    source = PrometheusSource.objects.create(
        cluster="2i2c",
        url="https://prometheus.example.org",
        auth="bearer",
        secret_env="PROMETHEUS_2I2C_TOKEN",
    )

    listing = super_client.get(reverse("admin:communities_prometheussource_changelist"))
    page = super_client.get(reverse("admin:communities_prometheussource_change", args=[source.pk]))

    assert b"PROMETHEUS_2I2C_TOKEN" in listing.content
    assert b'alt="True"' in listing.content
    for response in (listing, page):
        assert response.status_code == 200
        assert b"prom-secret-not-real" not in response.content


def test_a_source_saved_in_the_admin_is_validated(super_client):
    response = super_client.post(
        reverse("admin:communities_prometheussource_add"),
        {
            "cluster": "2i2c",
            "url": "https://prometheus.example.org",
            "auth": "bearer",
            "username": "",
            "secret_env": "",
            "hub_label": "namespace",
            "hub_mapping": "{}",
            "enabled": "on",
        },
    )

    assert response.status_code == 200
    assert b"needs the name of the variable holding the secret" in response.content
    assert not PrometheusSource.objects.exists()


def test_cluster_usage_is_exported_as_csv(super_client):
    ClusterUsage.objects.create(cluster="2i2c", date=date(2024, 3, 1), unique_users=352)

    response = super_client.post(
        reverse("admin:communities_clusterusage_export"),
        {
            "format": "0",
            "resource": "0",
            **{f"clusterusageresource_{f}": "on" for f in ("cluster", "date", "unique_users")},
        },
    )

    assert response.status_code == 200
    assert response.content.decode().splitlines()[:2] == ["cluster,date,unique_users", "2i2c,2024-03-01,352"]
