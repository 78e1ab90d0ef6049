"""The communities admin as operations staff use it: lists, search, forms, saves, roles, cost."""

from __future__ import annotations

import datetime as dt

import pytest

from communities.choices import CommunityKind, Region
from communities.models import ActiveUserCount, Community, Hub, Network
from opsite.core.testing import admin_url as url
from opsite.core.testing import changelist_queries, form_data

from .factories import ActiveUserCountFactory, CommunityFactory, HubFactory, NetworkFactory

pytestmark = pytest.mark.django_db


def records() -> dict:
    """One of everything, linked, for smoke tests."""
    network = NetworkFactory(slug="latam", name="LatAm capacity")
    community = CommunityFactory(
        slug="uni-sol",
        name="Universidad del Sol",
        kind=CommunityKind.UNIVERSITY,
        country="CL",
        networks=[network],
    )
    hub = HubFactory(slug="sol-hub", name="Sol hub", community=community, launched_on=dt.date(2022, 1, 1))
    sample = ActiveUserCountFactory(hub=hub, date=dt.date(2024, 1, 31), active_users=321)
    return {Network: network, Community: community, Hub: hub, ActiveUserCount: sample}


SEARCHES = {Network: "LatAm", Community: "sol-hub", Hub: "Universidad", ActiveUserCount: "uni-sol"}


@pytest.mark.parametrize("model", [Network, Community, Hub, ActiveUserCount])
def test_superuser_smoke_changelist_search_add_and_change(super_client, model):
    obj = records()[model]
    response = super_client.get(url(model, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1

    response = super_client.get(url(model, "changelist"), {"q": SEARCHES[model]})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [obj]
    response = super_client.get(url(model, "changelist"), {"q": "no-such-thing"})
    assert response.context["cl"].result_count == 0

    assert super_client.get(url(model, "add")).status_code == 200
    assert super_client.get(url(model, "change", obj.pk)).status_code == 200


def test_community_changelist_shows_live_hubs_and_networks(operations_client):
    # Operations' list (Finance's has the cloud cost and margin in the networks' place).
    community = records()[Community]
    HubFactory(community=community, launched_on=dt.date(2021, 1, 1), retired_on=dt.date(2021, 6, 1))
    response = operations_client.get(url(Community, "changelist"))
    html = response.content.decode()
    assert "1 of 2" in html
    assert "LatAm capacity" in html


def test_hub_changelist_shows_the_latest_30d_sample(super_client):
    records()
    response = super_client.get(url(Hub, "changelist"))
    row = response.context["cl"].result_list[0]
    assert (row.latest_30d_users, row.latest_30d_on) == (321, dt.date(2024, 1, 31))
    assert "321" in response.content.decode()


def test_a_community_is_added_through_the_admin_with_its_hubs(super_client):
    network = NetworkFactory(slug="afr")
    data = form_data(super_client.get(url(Community, "add")))
    data |= {
        "name": "Nairobi School",
        "slug": "nairobi-school",
        "kind": CommunityKind.SCHOOL,
        "country": "KE",
        "region": "",
        "joined_on": "2023-09-01",
        "networks": [str(network.pk)],
        "hubs-TOTAL_FORMS": "1",
        "hubs-0-slug": "nairobi",
        "hubs-0-name": "Nairobi hub",
        "hubs-0-provider": "gcp",
        "hubs-0-kind": "basehub",
        "hubs-0-launched_on": "2023-09-15",
    }
    response = super_client.post(url(Community, "add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    community = Community.objects.get(slug="nairobi-school")
    assert (community.region, community.historically_marginalized) == (Region.AFRICA, True)
    assert list(community.hubs.values_list("slug", flat=True)) == ["nairobi"]
    assert list(community.networks.all()) == [network]


def test_changing_only_the_country_in_the_admin_re_derives_the_region(super_client):
    community = CommunityFactory(country="US", kind=CommunityKind.R1_UNIVERSITY)
    data = form_data(super_client.get(url(Community, "change", community.pk)))
    assert data["region"] == Region.NORTH_AMERICA
    data["country"] = "BR"
    response = super_client.post(url(Community, "change", community.pk), data)
    assert response.status_code == 302
    community.refresh_from_db()
    assert (community.region, community.historically_marginalized) == (Region.LATIN_AMERICA, True)


def test_the_admin_shows_a_rule_broken_on_the_field_it_names(super_client):
    community = CommunityFactory(joined_on=dt.date(2023, 5, 1))
    data = form_data(super_client.get(url(Community, "change", community.pk)))
    data["left_on"] = "2023-04-01"
    response = super_client.post(url(Community, "change", community.pk), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "left_on": ["Left on 2023-04-01 is before joined on 2023-05-01."]
    }


def test_a_hub_rule_broken_in_the_inline_is_shown_on_the_inline_field(super_client):
    hub = HubFactory(launched_on=dt.date(2023, 1, 1))
    data = form_data(super_client.get(url(Community, "change", hub.community.pk)))
    data["hubs-0-retired_on"] = "2022-12-31"
    response = super_client.post(url(Community, "change", hub.community.pk), data)
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.errors[0] == {"retired_on": ["Retired on 2022-12-31 is before launched on 2023-01-01."]}
    hub.refresh_from_db()
    assert hub.retired_on is None


def test_a_hub_is_changed_through_the_admin(super_client):
    hub = HubFactory()
    data = form_data(super_client.get(url(Hub, "change", hub.pk)))
    data |= {"retired_on": "2024-06-30", "cluster": "aws-eu"}
    assert super_client.post(url(Hub, "change", hub.pk), data).status_code == 302
    hub.refresh_from_db()
    assert (hub.retired_on, hub.cluster) == (dt.date(2024, 6, 30), "aws-eu")


def test_a_network_and_a_usage_sample_are_added_through_the_admin(super_client):
    hub = HubFactory()
    response = super_client.post(url(Network, "add"), {"name": "Pacific", "slug": "pacific"})
    assert response.status_code == 302
    assert Network.objects.filter(slug="pacific").exists()
    data = {"hub": hub.pk, "date": "2024-03-31", "period": "30d", "active_users": "12"}
    assert super_client.post(url(ActiveUserCount, "add"), data).status_code == 302
    assert ActiveUserCount.objects.get(hub=hub).active_users == 12


def test_a_duplicate_usage_sample_is_refused_by_the_admin_form(super_client):
    sample = ActiveUserCountFactory()
    data = {
        "hub": sample.hub.pk,
        "date": sample.date.isoformat(),
        "period": sample.period,
        "active_users": "1",
    }
    response = super_client.post(url(ActiveUserCount, "add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors()
    assert ActiveUserCount.objects.count() == 1


# --- cost: a changelist's queries do not grow with its rows -----------------------------------


def grow(model, n: int) -> None:
    for i in range(n):
        network = NetworkFactory()
        community = CommunityFactory(networks=[network])
        hub = HubFactory(community=community, cluster=f"cluster-{i}")
        ActiveUserCountFactory(hub=hub, date=dt.date(2024, 1, 31))
        ActiveUserCountFactory(hub=hub, date=dt.date(2024, 1, 31), period="7d")


@pytest.mark.parametrize("model", [Network, Community, Hub, ActiveUserCount])
def test_changelist_queries_do_not_grow_with_rows(super_client, model):
    grow(model, 3)
    few = changelist_queries(super_client, model)
    grow(model, 12)
    assert model.objects.count() >= 15
    assert changelist_queries(super_client, model) == few


# --- roles -----------------------------------------------------------------------------------


def test_operations_adds_and_changes_communities_hubs_and_usage(operations_client):
    objs = records()
    for model in (Network, Community, Hub, ActiveUserCount):
        assert operations_client.get(url(model, "changelist")).status_code == 200
        assert operations_client.get(url(model, "add")).status_code == 200
        response = operations_client.get(url(model, "change", objs[model].pk))
        assert response.status_code == 200
        assert response.context["has_change_permission"] is True
    data = form_data(operations_client.get(url(Hub, "change", objs[Hub].pk)))
    data["name"] = "Renamed by operations"
    assert operations_client.post(url(Hub, "change", objs[Hub].pk), data).status_code == 302
    assert Hub.objects.get(pk=objs[Hub].pk).name == "Renamed by operations"
    response = operations_client.post(
        url(ActiveUserCount, "add"),
        {"hub": objs[Hub].pk, "date": "2024-02-29", "period": "7d", "active_users": "5"},
    )
    assert response.status_code == 302


def test_operations_adds_a_community_and_a_hub(operations_client):
    data = form_data(operations_client.get(url(Community, "add")))
    data |= {"name": "Lagos College", "slug": "lagos", "kind": "community_college", "country": "NG"}
    data |= {"joined_on": "2024-01-08"}
    assert operations_client.post(url(Community, "add"), data).status_code == 302
    data = {"slug": "lagos-hub", "community": Community.objects.get(slug="lagos").pk, "name": "Lagos"}
    data |= {"provider": "azure", "kind": "basehub", "launched_on": "2024-02-01"}
    assert operations_client.post(url(Hub, "add"), data).status_code == 302
    assert Hub.objects.get(slug="lagos-hub").community.historically_marginalized is True


def test_operations_may_import_and_export_usage(operations_client):
    assert operations_client.get(url(ActiveUserCount, "import")).status_code == 200
    assert operations_client.get(url(ActiveUserCount, "export")).status_code == 200


def test_leadership_sees_communities_but_cannot_change_them(leadership_client):
    community = CommunityFactory()
    response = leadership_client.get(url(Community, "change", community.pk))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert leadership_client.get(url(Community, "add")).status_code == 403
    assert leadership_client.get(url(Community, "import")).status_code == 403
