"""The cloud costs and cost sources at /api/v1/communities/: roles, writes through the services, reads."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from communities.models import CloudCost, CostSource

from .factories import CloudCostFactory, CommunityFactory, CostSourceFactory, HubFactory
from .test_api import patch, post, results, url

pytestmark = pytest.mark.django_db


def cost_payload(**overrides) -> dict:
    return {
        "date": "2024-03-01",
        "cluster": "2i2c",
        "hub": "h",
        "component": "compute",
        "amount": "12.34",
        "currency": "USD",
    } | overrides


@pytest.fixture
def hub():
    return HubFactory(slug="h", cluster="2i2c", community=CommunityFactory(slug="uni-a"))


def test_finance_records_a_cost_for_a_hub_and_one_for_no_hub(finance_client, hub):
    response = post(finance_client, "cloud-cost-list", cost_payload())
    shared = post(finance_client, "cloud-cost-list", cost_payload(hub=None, component="core", amount="3"))

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["hub"], body["component"], body["amount"], body["currency"]) == (
        "h",
        "compute",
        "12.34",
        "USD",
    )
    assert shared.status_code == 201, shared.content
    assert (shared.json()["hub"], shared.json()["amount"]) == (None, "3.00")
    assert CloudCost.objects.count() == 2


@pytest.mark.parametrize("client", ["operations_client", "leadership_client"])
def test_operations_and_leadership_read_costs_and_sources_but_may_not_write(request, client, hub):
    client = request.getfixturevalue(client)
    cost = CloudCostFactory(hub=hub, cluster="2i2c")
    source = CostSourceFactory(cluster="2i2c")

    assert [row["id"] for row in results(client.get(url("cloud-cost-list")))] == [cost.pk]
    assert client.get(url("cloud-cost-detail", cost.pk)).json()["amount"] == "12.34"
    assert client.get(url("cost-source-detail", source.cluster)).status_code == 200
    assert post(client, "cloud-cost-list", cost_payload(date="2024-03-02")).status_code == 403
    assert patch(client, "cloud-cost-detail", {"amount": "1.00"}, cost.pk).status_code == 403
    assert client.delete(url("cloud-cost-detail", cost.pk)).status_code == 403
    assert (
        post(client, "cost-source-list", {"cluster": "x", "url": "https://x.example.org"}).status_code == 403
    )
    assert CloudCost.objects.get(pk=cost.pk).amount == Decimal("12.34")


def test_anonymous_visitors_get_nothing(client, hub):
    cost = CloudCostFactory(hub=hub)

    assert client.get(url("cloud-cost-list")).status_code == 401
    assert client.get(url("cloud-cost-detail", cost.pk)).status_code == 401
    assert client.get(url("cost-source-list")).status_code == 401


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"amount": "-1.00"}, "amount", "greater than or equal to 0"),
        ({"amount": "1,00"}, "amount", "no thousands separators"),
        ({"amount": "1.001"}, "amount", "decimal places"),
        ({"component": "gpu"}, "component", "is not a valid choice"),
        ({"currency": "usd"}, "currency", "ISO 4217"),
        ({"hub": "nope"}, "hub", "does not exist"),
        ({"date": "1999-01-01"}, "date", "outside the dates opsite accepts"),
    ],
)
def test_a_bad_cost_is_a_400_on_its_field(finance_client, hub, changes, field, message):
    response = post(finance_client, "cloud-cost-list", cost_payload(**changes))

    assert response.status_code == 400
    assert message in " ".join(response.json()[field]), response.json()
    assert not CloudCost.objects.exists()


def test_a_second_cost_with_no_hub_for_the_same_day_and_component_is_a_400(finance_client, hub):
    assert post(finance_client, "cloud-cost-list", cost_payload(hub=None)).status_code == 201

    response = post(finance_client, "cloud-cost-list", cost_payload(hub=None, amount="9.00"))

    assert response.status_code == 400
    assert "already has a cost of this component with no hub on this date" in str(response.json())
    assert CloudCost.objects.count() == 1


def test_finance_corrects_a_costs_hub_and_deletes_one(finance_client, hub):
    cost = CloudCostFactory(hub=None, cluster="2i2c")

    response = patch(finance_client, "cloud-cost-detail", {"hub": "h", "amount": "2.50"}, cost.pk)

    assert response.status_code == 200, response.content
    assert (response.json()["hub"], response.json()["amount"]) == ("h", "2.50")
    assert finance_client.delete(url("cloud-cost-detail", cost.pk)).status_code == 204
    assert not CloudCost.objects.exists()


def test_costs_filter_by_cluster_hub_community_component_days_and_no_hub(operations_client, hub):
    mine = CloudCostFactory(hub=hub, cluster="2i2c", date=dt.date(2024, 3, 1))
    shared = CloudCostFactory(hub=None, cluster="2i2c", date=dt.date(2024, 3, 2), component="core")
    CloudCostFactory(hub=HubFactory(slug="other", cluster="x"), cluster="x", date=dt.date(2024, 3, 1))

    def ids(query: str) -> list[int]:
        return sorted(row["id"] for row in results(operations_client.get(url("cloud-cost-list") + query)))

    assert ids("?cluster=2i2c") == sorted([mine.pk, shared.pk])
    assert ids("?hub=h") == ids("?community=uni-a") == [mine.pk]
    assert ids("?no_hub=true") == ids("?component=core") == [shared.pk]
    assert ids("?date_after=2024-03-02") == [shared.pk]
    assert operations_client.get(url("cloud-cost-list") + "?component=gpu").status_code == 400


def test_the_cost_list_costs_the_same_queries_for_more_rows(operations_client):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert operations_client.get(url("cloud-cost-list")).status_code == 200
        return len(captured)

    for n in range(2):
        CloudCostFactory(hub=HubFactory(slug=f"few-{n}"))
    few = queries()
    for n in range(20):
        CloudCostFactory(hub=HubFactory(slug=f"many-{n}"))
        CloudCostFactory(hub=None, cluster=f"c{n}")

    assert queries() == few


def test_finance_configures_a_source_naming_its_secrets_variable(finance_client):
    response = post(
        finance_client,
        "cost-source-list",
        {
            "cluster": "2i2c",
            "url": "https://costs.2i2c.example.org",
            "auth": "bearer",
            "secret_env": "COSTS_2I2C_TOKEN",
            "hub_mapping": {"prod-openscapes": "openscapes"},
        },
    )

    assert response.status_code == 201, response.content
    assert response.json()["currency"] == "USD"
    assert CostSource.objects.get().secret_env == "COSTS_2I2C_TOKEN"


def test_a_source_whose_auth_names_no_variable_is_a_400(finance_client):
    response = post(
        finance_client,
        "cost-source-list",
        {"cluster": "2i2c", "url": "https://c.example.org", "auth": "basic"},
    )

    assert response.status_code == 400
    assert "needs the name of the variable holding the secret" in response.json()["secret_env"][0]
    assert "needs a username" in response.json()["username"][0]
