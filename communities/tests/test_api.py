"""The communities CRUD API at /api/v1/communities/: through the test client and the router."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from communities.models import ClusterUsage, Community, Hub, Network, PrometheusSource

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


# --- roles (docs/roles.md) --------------------------------------------------------------------------


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
