"""The usage part of the communities API: active-user samples, their batch mode, and the usage
importer's sources and figures (the rest of the CRUD is in ``test_api.py``)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from communities.models import ActiveUserCount, ClusterUsage, PrometheusSource

from .factories import ActiveUserCountFactory, CommunityFactory, HubFactory
from .test_api import patch, post, put, results, slugs, url

pytestmark = pytest.mark.django_db


# --- active-user counts ---------------------------------------------------------------------------


def test_a_sample_is_recorded_for_a_hub_by_slug(operations_client):
    HubFactory(slug="h", community=CommunityFactory(slug="uni-a"))

    response = post(
        operations_client,
        "active-user-count-list",
        {"hub": "h", "date": "2024-05-31", "period": "30d", "active_users": 120},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["hub"], body["community"], body["period"], body["active_users"]) == (
        "h",
        "uni-a",
        "30d",
        120,
    )
    assert ActiveUserCount.objects.get().active_users == 120


def test_a_second_sample_for_the_same_hub_day_and_period_is_refused(operations_client):
    ActiveUserCountFactory(hub=HubFactory(slug="h"), date=dt.date(2024, 5, 31), period="30d")

    response = post(
        operations_client,
        "active-user-count-list",
        {"hub": "h", "date": "2024-05-31", "period": "30d", "active_users": 1},
    )

    assert response.status_code == 400
    assert "unique" in response.json()["non_field_errors"][0]


def test_a_negative_count_is_a_400_on_active_users(operations_client):
    HubFactory(slug="h")

    response = post(
        operations_client,
        "active-user-count-list",
        {"hub": "h", "date": "2024-05-31", "period": "30d", "active_users": -1},
    )

    assert response.status_code == 400
    assert list(response.json()) == ["active_users"]


def test_a_samples_number_is_corrected_but_its_identity_is_not(operations_client):
    sample = ActiveUserCountFactory(hub=HubFactory(slug="h"), date=dt.date(2024, 5, 31), period="30d")
    HubFactory(slug="other")
    same = {"hub": "h", "date": "2024-05-31", "period": "30d"}

    corrected = put(operations_client, "active-user-count-detail", {**same, "active_users": 7}, sample.pk)
    moved = patch(operations_client, "active-user-count-detail", {"hub": "other"}, sample.pk)

    assert corrected.status_code == 200, corrected.content
    assert corrected.json()["active_users"] == 7
    assert moved.status_code == 400
    assert "record a new sample" in moved.json()["hub"][0]
    sample.refresh_from_db()
    assert (sample.hub.slug, sample.active_users) == ("h", 7)
    assert operations_client.delete(url("active-user-count-detail", sample.pk)).status_code == 204
    assert not ActiveUserCount.objects.exists()


def test_samples_filter_by_hub_community_period_and_date_range(operations_client):
    hub = HubFactory(slug="h", community=CommunityFactory(slug="uni-a"))
    in_may = ActiveUserCountFactory(hub=hub, date=dt.date(2024, 5, 31))
    ActiveUserCountFactory(hub=hub, date=dt.date(2024, 5, 31), period="7d")
    ActiveUserCountFactory(hub=hub, date=dt.date(2024, 6, 1))
    ActiveUserCountFactory(date=dt.date(2024, 5, 31))

    def ids(**params: str) -> list[int]:
        return slugs(operations_client.get(url("active-user-count-list"), params), "id")

    may = {"date_after": "2024-05-01", "date_before": "2024-05-31"}
    assert ids(hub="h", period="30d", **may) == [in_may.pk]
    assert ids(community="uni-a", period="30d", **may) == [in_may.pk]
    assert operations_client.get(url("active-user-count-list"), {"period": "1y"}).status_code == 400


def test_a_usage_page_holds_at_most_1000_rows(operations_client):
    hub = HubFactory()
    ActiveUserCount.objects.bulk_create(
        ActiveUserCount(
            hub=hub, date=dt.date(2020, 1, 1) + dt.timedelta(days=n), period="30d", active_users=n
        )
        for n in range(1001)
    )

    body = operations_client.get(url("active-user-count-list"), {"limit": 5000}).json()
    rest = operations_client.get(url("active-user-count-list"), {"limit": 5000, "offset": 1000}).json()

    assert (body["count"], len(body["results"]), len(rest["results"])) == (1001, 1000, 1)
    assert rest["results"][0]["id"] not in {row["id"] for row in body["results"]}


# --- active-user counts: batch mode -----------------------------------------------------------------


def test_a_batch_records_and_corrects_samples_and_counts_them(operations_client):
    hub = HubFactory(slug="h")
    ActiveUserCountFactory(hub=hub, date=dt.date(2024, 5, 30), period="30d", active_users=1)
    ActiveUserCountFactory(hub=hub, date=dt.date(2024, 5, 29), period="30d", active_users=5)
    rows = [
        {"hub": "h", "date": "2024-05-30", "period": "30d", "active_users": 2},
        {"hub": "h", "date": "2024-05-29", "period": "30d", "active_users": 5},
        {"hub": "h", "date": "2024-05-31", "period": "30d", "active_users": 3},
        {"hub": "h", "date": "2024-05-31", "period": "24h", "active_users": 1},
    ]

    response = post(operations_client, "active-user-count-batch", rows)

    assert response.status_code == 200, response.content
    assert response.json() == {"created": 2, "updated": 1, "unchanged": 1}
    assert ActiveUserCount.objects.get(date=dt.date(2024, 5, 30)).active_users == 2
    assert ActiveUserCount.objects.count() == 4


def test_a_batch_that_writes_asks_for_the_recomputes_once(operations_client, monkeypatch):
    HubFactory(slug="h")
    asked = []
    monkeypatch.setattr("opsite.core.recompute.request_recompute", lambda *kinds: asked.append(kinds))
    rows = [{"hub": "h", "date": f"2024-05-{d:02d}", "period": "30d", "active_users": d} for d in range(1, 8)]

    assert post(operations_client, "active-user-count-batch", rows).status_code == 200
    assert post(operations_client, "active-user-count-batch", rows).status_code == 200  # unchanged

    assert asked == [("rollups", "runway")]  # usage prices usage-priced contracts


def test_a_usage_batch_may_be_sent_to_its_json_suffix_route(operations_client):
    HubFactory(slug="h")
    target = reverse("communities-api:active-user-count-batch", kwargs={"format": "json"})

    response = operations_client.post(
        target,
        [{"hub": "h", "date": "2024-05-31", "period": "30d", "active_users": 3}],
        content_type="application/json",
    )

    assert (target, response.status_code) == ("/api/v1/communities/active-user-counts/batch.json", 200)
    assert ActiveUserCount.objects.count() == 1


def test_a_batch_with_bad_rows_writes_nothing_and_names_each_row(operations_client):
    HubFactory(slug="h")
    rows = [
        {"hub": "h", "date": "2024-05-31", "period": "30d", "active_users": 3},
        {"hub": "nope", "date": "2024-05-31", "period": "30d", "active_users": 3},
        {"hub": "h", "date": "2024-05-31", "period": "1y", "active_users": -2},
    ]

    response = post(operations_client, "active-user-count-batch", rows)

    assert response.status_code == 400
    assert response.json() == {
        "hub": ["row 1: no hub with slug 'nope'."],
        "period": ["row 2: '1y' is not a period; use one of 24h, 7d, 30d."],
        "active_users": ["row 2: -2 is not a number of users (a whole number, 0 or more)."],
    }
    assert not ActiveUserCount.objects.exists()


def test_a_usage_batch_must_be_a_json_list_of_at_most_10000_rows(operations_client):
    not_a_list = post(operations_client, "active-user-count-batch", {"hub": "h"})
    too_many = post(operations_client, "active-user-count-batch", [{}] * 10_001)
    as_a_form = operations_client.post(url("active-user-count-batch"), {"hub": "h"})

    assert not_a_list.json() == {"rows": ["Send a JSON list of rows."]}
    assert too_many.json() == {"rows": ["A batch holds at most 10000 rows, not 10001; split it."]}
    assert (not_a_list.status_code, too_many.status_code, as_a_form.status_code) == (400, 400, 415)


def test_leadership_may_not_send_a_usage_batch(leadership_client):
    HubFactory(slug="h")

    response = post(
        leadership_client,
        "active-user-count-batch",
        [{"hub": "h", "date": "2024-05-31", "period": "30d", "active_users": 3}],
    )

    assert response.status_code == 403
    assert not ActiveUserCount.objects.exists()


# --- the usage importer's sources and figures -------------------------------------------------------


def test_a_prometheus_source_is_kept_by_cluster_and_its_rules_apply(super_client):
    source = {"cluster": "gcp-us", "url": "https://prometheus.gcp-us.example.org", "auth": "bearer"}

    refused = post(super_client, "prometheus-source-list", source)
    created = post(super_client, "prometheus-source-list", {**source, "secret_env": "GCP_US_TOKEN"})
    changed = patch(super_client, "prometheus-source-detail", {"enabled": False}, "gcp-us")

    assert refused.status_code == 400
    assert refused.json() == {
        "secret_env": ["Bearer token needs the name of the variable holding the secret."]
    }
    assert (created.status_code, changed.status_code) == (201, 200)
    assert PrometheusSource.objects.get().enabled is False
    assert results(super_client.get(url("prometheus-source-list")))[0]["secret_env"] == "GCP_US_TOKEN"
    assert super_client.delete(url("prometheus-source-detail", "gcp-us")).status_code == 204


def test_cluster_usage_is_read_only(super_client):
    ClusterUsage.objects.create(cluster="gcp-us", date=dt.date(2024, 5, 31), unique_users=300)
    ClusterUsage.objects.create(cluster="aws-eu", date=dt.date(2024, 5, 31), unique_users=20)

    rows = results(super_client.get(url("cluster-usage-list"), {"cluster": "gcp-us"}))

    assert [(row["cluster"], row["date"], row["unique_users"]) for row in rows] == [
        ("gcp-us", "2024-05-31", 300)
    ]
    assert post(super_client, "cluster-usage-list", {"cluster": "x"}).status_code == 405
