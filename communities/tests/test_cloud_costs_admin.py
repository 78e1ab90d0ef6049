"""The cloud costs and cost sources in the admin, by role, and their import/export."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from communities.cost_admin import CloudCostResource, CostSourceResource
from communities.models import CloudCost, CostSource
from opsite.core.resources import ImportFailed, import_file
from opsite.core.testing import admin_url, changelist_queries, csv_text, exported_file, form_data

from .factories import CloudCostFactory, CostSourceFactory, HubFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2024, 3, 1)


@pytest.fixture
def rows():
    """Costs of a hub and of no hub (the awkward key), a cost in another currency, a source."""
    hub = HubFactory(slug="h", cluster="2i2c")
    return {
        "hub": CloudCostFactory(hub=hub, cluster="2i2c", date=DAY, component="compute"),
        "shared": CloudCostFactory(hub=None, cluster="2i2c", date=DAY, component="core", amount=Decimal("5")),
        "cad": CloudCostFactory(hub=None, cluster="=utoronto", date=DAY, component="core", currency="CAD"),
        "source": CostSourceFactory(cluster="2i2c", hub_mapping={"prod-h": "h"}),
    }


@pytest.mark.parametrize("model", [CloudCost, CostSource])
def test_finance_edits_costs_and_sources_in_the_admin(finance_client, rows, model):
    obj = model.objects.order_by("pk").first()

    assert finance_client.get(admin_url(model, "changelist")).status_code == 200
    assert finance_client.get(admin_url(model, "add")).status_code == 200
    page = finance_client.get(admin_url(model, "change", obj.pk))
    assert page.status_code == 200
    assert b'name="_save"' in page.content


@pytest.mark.parametrize("client", ["operations_client", "leadership_client"])
@pytest.mark.parametrize("model", [CloudCost, CostSource])
def test_operations_and_leadership_only_view_them(request, rows, client, model):
    client = request.getfixturevalue(client)
    obj = model.objects.order_by("pk").first()

    assert client.get(admin_url(model, "changelist")).status_code == 200
    assert client.get(admin_url(model, "add")).status_code == 403
    page = client.get(admin_url(model, "change", obj.pk))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


def test_the_cost_changelist_shows_amounts_with_their_currency_and_searches_hubs(super_client, rows):
    page = super_client.get(admin_url(CloudCost, "changelist"))
    found = super_client.get(admin_url(CloudCost, "changelist"), {"q": "h"})

    assert "12.34 USD" in page.content.decode()
    assert rows["hub"] in list(found.context["cl"].result_list)


def test_the_cost_changelist_costs_the_same_queries_for_more_rows(super_client):
    CloudCostFactory()
    few = changelist_queries(super_client, CloudCost)
    for n in range(30):
        CloudCostFactory(hub=HubFactory(slug=f"many-{n}") if n % 2 else None, cluster=f"c{n}")

    assert changelist_queries(super_client, CloudCost) == few


def test_a_cost_saved_in_the_admin_goes_through_the_services_rules(finance_client, rows):
    data = form_data(finance_client.get(admin_url(CloudCost, "add")))
    data |= {"date": "2024-03-01", "cluster": "2i2c", "hub": "", "component": "core", "amount": "1.00"}

    response = finance_client.post(admin_url(CloudCost, "add"), data)

    assert response.status_code == 200
    assert b"already has a cost of this component with no hub on this date" in response.content
    assert CloudCost.objects.count() == 3


def test_the_source_admin_says_whether_the_secret_is_set_never_what_it_is(super_client, monkeypatch):
    monkeypatch.setenv("COSTS_2I2C_TOKEN", "cost-secret-not-real")
    source = CostSource.objects.create(
        cluster="2i2c", url="https://costs.example.org", auth="bearer", secret_env="COSTS_2I2C_TOKEN"
    )

    listing = super_client.get(admin_url(CostSource, "changelist"))
    page = super_client.get(admin_url(CostSource, "change", source.pk))

    assert b"COSTS_2I2C_TOKEN" in listing.content
    assert b'alt="True"' in listing.content
    for response in (listing, page):
        assert b"cost-secret-not-real" not in response.content


# --- import/export ----------------------------------------------------------------------------


def snapshot(model) -> list[dict]:
    fields = [f.attname for f in model._meta.concrete_fields if f.name not in ("created_at", "updated_at")]
    return list(model.objects.order_by("pk").values(*fields))


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
@pytest.mark.parametrize(
    ("resource_class", "model"), [(CloudCostResource, CloudCost), (CostSourceResource, CostSource)]
)
def test_an_export_re_imports_with_every_row_skipped(rows, fmt, resource_class, model):
    before = snapshot(model)

    result = import_file(resource_class(), exported_file(resource_class(), fmt), fmt)

    assert snapshot(model) == before
    assert [row.import_type for row in result.rows] == ["skip"] * len(before)


def test_the_export_writes_hubs_by_slug_and_no_hub_as_an_empty_cell(rows):
    text = exported_file(CloudCostResource(), "csv")

    assert text.splitlines() == [
        "date,cluster,hub,component,amount,currency",
        "2024-03-01,2i2c,,core,5.00,USD",
        "2024-03-01,2i2c,h,compute,12.34,USD",
        "2024-03-01,'=utoronto,,core,12.34,CAD",  # a formula trigger neutralized
    ]


def test_an_import_updates_a_cost_with_no_hub_by_its_key_and_adds_new_ones(rows):
    content = csv_text(
        ["date", "cluster", "hub", "component", "amount", "currency"],
        [
            ["2024-03-01", "2i2c", "", "core", "6.00", "USD"],
            ["2024-03-02", "2i2c", "", "core", "7.00", "USD"],
            ["2024-03-02", "2i2c", "h", "core", "1.00", "USD"],
        ],
    )

    result = import_file(CloudCostResource(), content, "csv")

    assert [row.import_type for row in result.rows] == ["update", "new", "new"]
    assert CloudCost.objects.get(pk=rows["shared"].pk).amount == Decimal("6.00")
    assert CloudCost.objects.count() == 5


def test_a_bad_row_fails_the_whole_import_naming_it(rows):
    content = csv_text(
        ["date", "cluster", "hub", "component", "amount", "currency"],
        [
            ["2024-03-02", "2i2c", "h", "compute", "1.00", "USD"],
            ["2024-03-02", "2i2c", "", "gpu", "-1.00", "usd"],
            ["2024-03-02", "2i2c", "ghost", "compute", "1.00", "USD"],
        ],
    )

    with pytest.raises(ImportFailed) as raised:
        import_file(CloudCostResource(), content, "csv")

    found = {(e.row, e.field) for e in raised.value.errors}
    assert {(2, "component"), (2, "amount"), (2, "currency"), (3, "hub")} <= found
    assert CloudCost.objects.count() == 3


def test_a_file_naming_a_cost_with_no_hub_twice_is_refused(rows):
    content = csv_text(
        ["date", "cluster", "hub", "component", "amount", "currency"],
        [
            ["2024-03-05", "2i2c", "", "core", "1.00", "USD"],
            ["2024-03-05", "2i2c", "", "core", "2.00", "USD"],
        ],
    )

    with pytest.raises(ImportFailed) as raised:
        import_file(CloudCostResource(), content, "csv")

    assert "of row 1" in str(raised.value)
    assert CloudCost.objects.count() == 3
