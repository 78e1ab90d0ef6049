"""A usage sample dated outside the plausible range is refused at every door (issue 10, item 1).

The same two dates, one far after and one far before the organization's life, are sent through
the API, the batch endpoint, the admin form, an import file and both CSVs of ``import_usage``.
Every door answers with a message naming the range opsite accepts, and writes nothing: a stored
sample dated 9999-12-31 once stopped every rollup recompute (docs/architecture.md "One write path").
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from communities.models import ActiveUserCount, ClusterUsage
from communities.resources import ActiveUserCountResource
from communities.services import active_user_counts_upsert
from opsite.core.resources import ImportFailed, import_file

from .factories import HubFactory

pytestmark = pytest.mark.django_db

RANGE = "2000-01-01 to 2100-12-31"
BAD_DAYS = ["9999-12-31", "0001-01-31", "0300-01-31", "1999-12-31", "2101-01-01"]


@pytest.fixture
def hub():
    return HubFactory(slug="h", cluster="2i2c")


def sample(day: str) -> dict[str, object]:
    return {"hub": "h", "date": day, "period": "30d", "active_users": 5}


@pytest.mark.parametrize("day", BAD_DAYS)
def test_the_api_refuses_a_sample_outside_the_range_on_its_date(operations_client, hub, day):
    response = operations_client.post(
        reverse("communities-api:active-user-count-list"), sample(day), content_type="application/json"
    )

    assert response.status_code == 400, response.content
    [message] = response.json()["date"]
    assert day in message and RANGE in message
    assert not ActiveUserCount.objects.exists()


@pytest.mark.parametrize("day", BAD_DAYS)
def test_the_batch_endpoint_refuses_the_row_naming_it_and_writes_none(operations_client, hub, day):
    rows = [sample("2024-05-31"), sample(day)]

    response = operations_client.post(
        reverse("communities-api:active-user-count-batch"), rows, content_type="application/json"
    )

    assert response.status_code == 400, response.content
    assert response.json() == {
        "date": [f"row 1: {day} is outside the dates opsite accepts, {RANGE}; check the year."]
    }
    assert not ActiveUserCount.objects.exists()


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-31"])
def test_the_admin_form_shows_the_range_on_the_date_field(super_client, hub, day):
    response = super_client.post(
        reverse("admin:communities_activeusercount_add"),
        {"hub": hub.pk, "date": day, "period": "30d", "active_users": "5"},
    )

    assert response.status_code == 200  # the form again, not a redirect
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["date"]
    assert RANGE in errors["date"][0]
    assert not ActiveUserCount.objects.exists()


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-31"])
def test_an_import_file_refuses_the_row_on_its_date(hub, day):
    text = f"hub,date,period,active_users\nh,2024-05-31,30d,4\nh,{day},30d,5\n"

    with pytest.raises(ImportFailed) as failed:
        import_file(ActiveUserCountResource(), text, "csv")

    [error] = failed.value.errors
    assert (error.row, error.field) == (2, "date")
    assert RANGE in error.message
    assert not ActiveUserCount.objects.exists()


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-31"])
def test_import_usage_refuses_a_hub_csv_row_outside_the_range(hub, tmp_path: Path, day):
    path = tmp_path / "hubs.csv"
    path.write_text(f"date,hub,users,cluster\n2024-05-31,h,4,2i2c\n{day},h,5,2i2c\n", encoding="utf-8")

    with pytest.raises(CommandError) as failed:
        call_command("import_usage", "--hub-csv", str(path))

    # The error (stderr, exit 1 through manage.py) names the file, the row, the field and the range.
    assert f"hubs.csv: failed, nothing written: row 2, date: {day} is outside" in str(failed.value)
    assert RANGE in str(failed.value)
    assert not ActiveUserCount.objects.exists()


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-31"])
def test_import_usage_refuses_a_cluster_csv_row_outside_the_range(db, tmp_path: Path, day):
    path = tmp_path / "clusters.csv"
    path.write_text(f"date,cluster,unique_users\n2024-05-31,2i2c,4\n{day},2i2c,5\n", encoding="utf-8")

    with pytest.raises(CommandError) as failed:
        call_command("import_usage", "--cluster-csv", str(path))

    assert f"row 2, date: {day} is outside the dates opsite accepts, {RANGE}" in str(failed.value)
    assert not ClusterUsage.objects.exists()


@pytest.mark.parametrize("option", ["--since", "--until"])
def test_import_usage_refuses_a_window_outside_the_range(db, option):
    with pytest.raises(CommandError, match=f"0001-01-01 is outside the dates opsite accepts, {RANGE}"):
        call_command("import_usage", option, "0001-01-01")


def test_the_upsert_refuses_a_date_object_outside_the_range_too(hub):
    # The importers hand the upsert date objects, not text: the same check applies.
    with pytest.raises(Exception, match="9999-12-31 is outside the dates opsite accepts"):
        active_user_counts_upsert(rows=[{**sample("x"), "date": dt.date(9999, 12, 31)}])
    assert not ActiveUserCount.objects.exists()


def test_the_range_is_a_setting_read_when_a_value_is_checked(operations_client, hub, settings):
    settings.OPSITE_PLAUSIBLE_DATES = ("1990-01-01", "2100-12-31")

    response = operations_client.post(
        reverse("communities-api:active-user-count-batch"),
        [sample("1999-12-31")],
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    assert ActiveUserCount.objects.get().date == dt.date(1999, 12, 31)


def test_the_batch_refuses_a_field_it_does_not_know_rather_than_drop_it(operations_client, hub):
    rows = [{**sample("2024-05-31"), "users": 7}]

    response = operations_client.post(
        reverse("communities-api:active-user-count-batch"), rows, content_type="application/json"
    )

    assert response.status_code == 400, response.content
    assert "row 0: unknown field 'users'" in str(response.json())
    assert not ActiveUserCount.objects.exists()
