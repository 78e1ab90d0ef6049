"""The communities CRUD API at /api/v1/communities/: through the test client and the router."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from communities.models import ActiveUserCount, ClusterUsage, Community, Hub, Network, PrometheusSource

from .factories import ActiveUserCountFactory, CommunityFactory, HubFactory, NetworkFactory

pytestmark = pytest.mark.django_db


def url(name: str, *args: Any) -> str:
    return reverse(f"communities-api:{name}", args=args)


def results(response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def slugs(response, key: str = "slug") -> list[Any]:
    return [row[key] for row in results(response)]


def post(client, name: str, data: Any, *args: Any):
    return client.post(url(name, *args), data, content_type="application/json")


def patch(client, name: str, data: Any, *args: Any):
    return client.patch(url(name, *args), data, content_type="application/json")


def put(client, name: str, data: Any, *args: Any):
    return client.put(url(name, *args), data, content_type="application/json")


def community_payload(**overrides: Any) -> dict[str, Any]:
    return {
        "slug": "uni-nairobi",
        "name": "University of Nairobi",
        "kind": "r1_university",
        "country": "KE",
        "joined_on": "2023-09-01",
        **overrides,
    }


def hub_payload(**overrides: Any) -> dict[str, Any]:
    return {
        "slug": "nairobi-hub",
        "community": "uni-nairobi",
        "name": "Nairobi hub",
        "provider": "gcp",
        "launched_on": "2023-10-01",
        **overrides,
    }


# --- networks -----------------------------------------------------------------------------------


def test_operations_lists_networks_with_their_community_count(operations_client):
    network = NetworkFactory(slug="africa-hubs", name="Africa hubs")
    CommunityFactory(networks=[network])
    CommunityFactory(networks=[network])

    rows = results(operations_client.get(url("network-list")))

    assert rows == [
        {
            "slug": "africa-hubs",
            "name": "Africa hubs",
            "community_count": 2,
            "created_at": rows[0]["created_at"],
            "updated_at": rows[0]["updated_at"],
        }
    ]


def test_operations_creates_renames_and_deletes_a_network_by_slug(operations_client):
    created = post(operations_client, "network-list", {"slug": "cb", "name": "Capacity building"})
    renamed = patch(operations_client, "network-detail", {"name": "Capacity"}, "cb")

    assert (created.status_code, created.json()["community_count"]) == (201, 0)
    assert (renamed.status_code, renamed.json()["name"]) == (200, "Capacity")
    assert Network.objects.get().name == "Capacity"
    assert operations_client.delete(url("network-detail", "cb")).status_code == 204
    assert not Network.objects.exists()


def test_a_duplicate_network_slug_is_a_400_on_slug(operations_client):
    NetworkFactory(slug="cb")

    response = post(operations_client, "network-list", {"slug": "cb", "name": "Again"})

    assert response.status_code == 400
    assert list(response.json()) == ["slug"]


# --- communities --------------------------------------------------------------------------------


def test_a_community_is_created_with_networks_by_slug_and_derived_fields(operations_client):
    NetworkFactory(slug="africa-hubs")
    NetworkFactory(slug="cb")

    # ``historically_marginalized`` is derived: a value sent for it is ignored.
    response = post(
        operations_client,
        "community-list",
        community_payload(networks=["cb", "africa-hubs"], historically_marginalized=False),
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body | {"created_at": None, "updated_at": None} == {
        "slug": "uni-nairobi",
        "name": "University of Nairobi",
        "kind": "r1_university",
        "country": "KE",
        "region": "africa",
        "networks": ["africa-hubs", "cb"],
        "joined_on": "2023-09-01",
        "left_on": None,
        "website": "",
        "marginalized_override": None,
        "historically_marginalized": True,
        "hub_count": 0,
        "live_hub_count": 0,
        "created_at": None,
        "updated_at": None,
    }
    community = Community.objects.get()
    assert (community.region, community.historically_marginalized) == ("africa", True)
    assert sorted(community.networks.values_list("slug", flat=True)) == ["africa-hubs", "cb"]


def test_a_community_is_retrieved_by_its_slug(operations_client):
    CommunityFactory(slug="uni-a", name="Uni A")

    assert operations_client.get(url("community-detail", "uni-a")).json()["name"] == "Uni A"
    assert operations_client.get(url("community-detail", "uni-b")).status_code == 404


@pytest.mark.parametrize("lookup", ["a%00b", "a.b", "caf%C3%A9"])
def test_a_slug_no_community_could_have_is_a_404_never_a_database_error(operations_client, lookup):
    assert operations_client.get(f"/api/v1/communities/communities/{lookup}/").status_code == 404


def test_an_unknown_network_is_a_400_on_networks(operations_client):
    response = post(operations_client, "community-list", community_payload(networks=["nope"]))

    assert response.status_code == 400
    assert "nope" in response.json()["networks"][0]
    assert not Community.objects.exists()


def test_leaving_before_joining_is_refused_with_the_services_message(operations_client):
    response = post(operations_client, "community-list", community_payload(left_on="2023-01-31"))

    assert response.status_code == 400
    assert response.json() == {"left_on": ["Left on 2023-01-31 is before joined on 2023-09-01."]}


def test_moving_a_community_to_another_country_derives_its_region_again(operations_client):
    CommunityFactory(slug="uni-a", country="US", kind="r1_university")

    response = patch(operations_client, "community-detail", {"country": "BR"}, "uni-a")

    assert response.status_code == 200, response.content
    assert (response.json()["region"], response.json()["historically_marginalized"]) == (
        "latin_america",
        True,
    )


def test_a_put_replaces_a_communitys_networks_and_override(operations_client):
    CommunityFactory(slug="uni-nairobi", networks=[NetworkFactory(slug="old")])
    NetworkFactory(slug="new")

    response = put(
        operations_client,
        "community-detail",
        community_payload(networks=["new"], marginalized_override=False),
        "uni-nairobi",
    )

    assert response.status_code == 200, response.content
    community = Community.objects.get()
    assert list(community.networks.values_list("slug", flat=True)) == ["new"]
    assert (community.country, community.historically_marginalized) == ("KE", False)


def test_a_community_without_hubs_is_deleted(operations_client):
    CommunityFactory(slug="uni-a")

    assert operations_client.delete(url("community-detail", "uni-a")).status_code == 204
    assert not Community.objects.exists()


def test_a_community_with_hubs_cannot_be_deleted(operations_client):
    HubFactory(community=CommunityFactory(slug="uni-a"))

    refused = operations_client.delete(url("community-detail", "uni-a"))

    assert refused.status_code == 409
    assert refused.json() == {"detail": "This record is still referenced by hubs."}
    assert Community.objects.filter(slug="uni-a").exists()


def test_communities_filter_by_network_kind_flag_and_joining_range(operations_client):
    network = NetworkFactory(slug="cb")
    CommunityFactory(slug="a", name="A", networks=[network], joined_on=dt.date(2022, 5, 1))
    CommunityFactory(slug="b", name="B", kind="school", joined_on=dt.date(2023, 5, 1))
    CommunityFactory(slug="c", name="C", country="KE", networks=[network], joined_on=dt.date(2024, 5, 1))

    def listed(**params: str) -> list[str]:
        return slugs(operations_client.get(url("community-list"), params))

    assert listed(network="cb") == ["a", "c"]
    assert listed(kind="school") == ["b"]
    assert listed(historically_marginalized="true") == ["b", "c"]
    assert listed(joined_on_after="2023-01-01", joined_on_before="2023-12-31") == ["b"]
    assert operations_client.get(url("community-list"), {"kind": "castle"}).status_code == 400


def test_communities_order_by_hub_count_and_ignore_fields_off_the_allow_list(operations_client):
    CommunityFactory(slug="a", name="A")
    b = CommunityFactory(slug="b", name="B")
    HubFactory.create_batch(2, community=b)

    assert slugs(operations_client.get(url("community-list"), {"ordering": "-hub_count"})) == ["b", "a"]
    assert slugs(operations_client.get(url("community-list"), {"ordering": "-website"})) == ["a", "b"]
    assert slugs(operations_client.get(url("community-list"), {"ordering": "networks__slug"})) == ["a", "b"]


@time_machine.travel(dt.datetime(2024, 6, 1, 12, tzinfo=dt.UTC), tick=False)
def test_a_communitys_live_hub_count_is_as_of_the_request_day(operations_client):
    community = CommunityFactory(slug="uni-a")
    HubFactory(community=community, launched_on=dt.date(2024, 5, 1))
    HubFactory(community=community, launched_on=dt.date(2024, 7, 1))

    body = operations_client.get(url("community-detail", "uni-a")).json()

    assert (body["hub_count"], body["live_hub_count"]) == (2, 1)


# --- hubs ---------------------------------------------------------------------------------------


def test_operations_creates_a_hub_naming_its_community_by_slug(operations_client):
    CommunityFactory(slug="uni-nairobi")

    response = post(operations_client, "hub-list", hub_payload())

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["community"], body["kind"], body["latest_30d_users"]) == ("uni-nairobi", "basehub", None)
    assert Hub.objects.get().community.slug == "uni-nairobi"


def test_a_hub_retired_before_its_launch_is_refused_with_the_services_message(operations_client):
    CommunityFactory(slug="uni-nairobi")

    response = post(operations_client, "hub-list", hub_payload(retired_on="2023-09-30"))

    assert response.status_code == 400
    assert response.json() == {"retired_on": ["Retired on 2023-09-30 is before launched on 2023-10-01."]}


def test_a_hub_is_moved_to_another_community_then_deleted(operations_client):
    HubFactory(slug="h")
    CommunityFactory(slug="uni-b")

    response = patch(operations_client, "hub-detail", {"community": "uni-b"}, "h")

    assert response.status_code == 200, response.content
    assert Hub.objects.get().community.slug == "uni-b"
    assert operations_client.delete(url("hub-detail", "h")).status_code == 204
    assert not Hub.objects.exists()


@time_machine.travel(dt.datetime(2024, 6, 1, 12, tzinfo=dt.UTC), tick=False)
def test_a_hub_shows_its_latest_30_day_users(operations_client):
    hub = HubFactory(slug="h")
    ActiveUserCountFactory(hub=hub, date=dt.date(2024, 5, 30), active_users=70)
    ActiveUserCountFactory(hub=hub, date=dt.date(2024, 5, 31), period="7d", active_users=9)
    ActiveUserCountFactory(hub=hub, date=dt.date(2024, 6, 2), active_users=99)  # tomorrow's

    body = operations_client.get(url("hub-detail", "h")).json()

    assert (body["latest_30d_users"], body["latest_30d_on"]) == (70, "2024-05-30")


def test_hubs_filter_by_community_live_day_kind_and_launch_range(operations_client):
    HubFactory(slug="a", community=CommunityFactory(slug="uni-a"), launched_on=dt.date(2021, 1, 1))
    HubFactory(slug="b", kind="binderhub", launched_on=dt.date(2022, 1, 1), retired_on=dt.date(2023, 1, 1))
    HubFactory(slug="c", launched_on=dt.date(2024, 1, 1))

    def listed(**params: str) -> list[str]:
        return slugs(operations_client.get(url("hub-list"), params))

    assert listed(community="uni-a") == ["a"]
    assert listed(live_on="2022-06-01") == ["a", "b"]
    assert listed(live_on="2023-01-01") == ["a"]  # retired that day
    assert listed(kind="binderhub") == ["b"]
    assert listed(launched_on_after="2022-01-01") == ["b", "c"]
    assert listed(ordering="-launched_on") == ["c", "b", "a"]


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


def test_a_batch_that_writes_asks_for_one_rollup_recompute(operations_client, monkeypatch):
    HubFactory(slug="h")
    asked = []
    monkeypatch.setattr("communities.api.viewsets.request_recompute", lambda *kinds: asked.append(kinds))
    rows = [{"hub": "h", "date": f"2024-05-{d:02d}", "period": "30d", "active_users": d} for d in range(1, 8)]

    assert post(operations_client, "active-user-count-batch", rows).status_code == 200
    assert post(operations_client, "active-user-count-batch", rows).status_code == 200  # unchanged

    assert asked == [("rollups",)]


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


# --- query counts ---------------------------------------------------------------------------------

# A logged-in list: 1 session, 2 user, 3 the user's permissions, 4 its groups' permissions,
# 5 the page count, 6 the page (relations joined, figures as subqueries or grouped counts),
# and for communities 7 their networks, prefetched in one query.
LIST_QUERIES = 6


@pytest.mark.parametrize(
    ("name", "factory", "queries"),
    [
        ("network-list", NetworkFactory, LIST_QUERIES),
        ("community-list", CommunityFactory, LIST_QUERIES + 1),
        ("hub-list", HubFactory, LIST_QUERIES),
        ("active-user-count-list", ActiveUserCountFactory, LIST_QUERIES),
    ],
)
def test_a_list_costs_the_same_queries_for_3_rows_as_for_20(
    operations_client, django_assert_num_queries, name, factory, queries
):
    network = NetworkFactory(slug="shared")
    for size in (3, 20):
        factory.create_batch(size - factory._meta.model.objects.count())
        for community in Community.objects.all():
            community.networks.add(network)
        with django_assert_num_queries(queries):
            response = operations_client.get(url(name))
        assert len(response.json()["results"]) == size


# A superuser holds every permission without a query: 1 session, 2 user, 3 count, 4 page.
SUPERUSER_LIST_QUERIES = 4


@pytest.mark.parametrize(
    ("name", "make"),
    [
        (
            "prometheus-source-list",
            lambda n: PrometheusSource.objects.create(cluster=f"c-{n}", url=f"https://p{n}.example.org"),
        ),
        (
            "cluster-usage-list",
            lambda n: ClusterUsage.objects.create(
                cluster="c", date=dt.date(2024, 1, 1) + dt.timedelta(n), unique_users=n
            ),
        ),
    ],
)
def test_an_importer_list_costs_the_same_queries_for_3_rows_as_for_20(
    super_client, django_assert_num_queries, name, make
):
    for size in (3, 20):
        for n in range(len(results(super_client.get(url(name)))), size):
            make(n)
        with django_assert_num_queries(SUPERUSER_LIST_QUERIES):
            response = super_client.get(url(name))
        assert len(response.json()["results"]) == size


# --- roles (DESIGN.md "Roles") ---------------------------------------------------------------------


def test_finance_keeps_communities_as_operations_does(finance_client):
    response = post(finance_client, "community-list", community_payload())

    assert response.status_code == 201
    assert finance_client.delete(url("community-detail", "uni-nairobi")).status_code == 204


def test_leadership_reads_communities_hubs_and_usage_but_changes_nothing(leadership_client):
    sample = ActiveUserCountFactory(hub=HubFactory(slug="h", community=CommunityFactory(slug="uni-a")))

    assert leadership_client.get(url("community-detail", "uni-a")).status_code == 200
    assert leadership_client.get(url("hub-detail", "h")).status_code == 200
    assert leadership_client.get(url("active-user-count-detail", sample.pk)).status_code == 200
    assert post(leadership_client, "community-list", community_payload()).status_code == 403
    assert patch(leadership_client, "hub-detail", {"name": "Renamed"}, "h").status_code == 403
    assert leadership_client.delete(url("active-user-count-detail", sample.pk)).status_code == 403
    assert Hub.objects.get().name != "Renamed"


def test_anonymous_gets_nothing(client):
    CommunityFactory(slug="uni-a")

    assert client.get(url("community-list")).status_code == 401
    assert client.get(url("community-detail", "uni-a")).status_code == 401
    assert post(client, "community-list", community_payload()).status_code == 401
