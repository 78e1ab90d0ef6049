"""Cloud costs and their sources: the database's rules, the services' and the batch write's."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from communities.cost_services import (
    clean_amount,
    clean_component,
    clean_currency,
    cloud_cost_create,
    cloud_cost_update,
    cloud_costs_write,
    cost_source_create,
    hubs_by_name,
)
from communities.models import CloudCost, CostSource
from communities.tests.factories import CloudCostFactory, CostSourceFactory, HubFactory
from opsite.core.services import writes_for
from opsite.core.signals import NOT_INPUTS, RECOMPUTE_INPUTS

pytestmark = pytest.mark.django_db

DAY = date(2024, 3, 1)


def row(**changes) -> dict:
    return {
        "date": DAY,
        "cluster": "2i2c",
        "hub": None,
        "component": "core",
        "amount": Decimal("1.00"),
        "currency": "USD",
    } | changes


# --- the database ------------------------------------------------------------------------------


def test_a_hub_has_one_cost_per_day_cluster_and_component():
    cost = CloudCostFactory(date=DAY, component="compute")

    with pytest.raises(IntegrityError), transaction.atomic():
        CloudCost.objects.create(
            date=DAY, cluster=cost.cluster, hub=cost.hub, component="compute", amount=1, currency="USD"
        )


def test_the_costs_no_hub_owns_are_unique_too_on_every_database():
    CloudCost.objects.create(date=DAY, cluster="2i2c", hub=None, component="core", amount=1, currency="USD")

    with pytest.raises(IntegrityError), transaction.atomic():
        CloudCost.objects.create(
            date=DAY, cluster="2i2c", hub=None, component="core", amount=2, currency="USD"
        )
    # Another component, day or cluster is another cost.
    CloudCost.objects.create(date=DAY, cluster="2i2c", hub=None, component="backup", amount=1, currency="USD")
    CloudCost.objects.create(date=DAY, cluster="other", hub=None, component="core", amount=1, currency="USD")


def test_a_cost_is_never_negative_in_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        CloudCost.objects.create(
            date=DAY, cluster="2i2c", component="core", amount=Decimal("-0.01"), currency="USD"
        )


def test_a_hub_with_costs_cannot_be_deleted():
    cost = CloudCostFactory()

    with pytest.raises(Exception, match="protected"), transaction.atomic():
        cost.hub.delete()


def test_a_cost_reads_as_its_cluster_hub_day_and_amount():
    assert str(CloudCostFactory(hub=HubFactory(slug="h", cluster="2i2c"), date=DAY)) == (
        "2i2c h 2024-03-01 compute: 12.34 USD"
    )
    assert str(
        CloudCost(date=DAY, cluster="2i2c", component="core", amount=Decimal("1.00"), currency="USD")
    ) == ("2i2c no hub 2024-03-01 core: 1.00 USD")


def test_cloud_costs_feed_the_rollups_and_their_sources_nothing():
    assert RECOMPUTE_INPUTS["communities.CloudCost"] == ("rollups",)
    assert "communities.CostSource" in NOT_INPUTS


# --- the services, one row at a time ------------------------------------------------------------


def test_a_cost_is_recorded_for_a_hub_by_slug_or_for_no_hub():
    HubFactory(slug="h", cluster="2i2c")

    with_hub = cloud_cost_create(
        date=DAY, cluster="2i2c", hub="h", component="compute", amount=Decimal("3.50")
    )
    without = cloud_cost_create(
        date=DAY, cluster="2i2c", component="core", amount=Decimal("1"), currency="EUR"
    )

    assert (with_hub.hub.slug, with_hub.currency) == ("h", "USD")  # the reporting currency
    assert (without.hub, without.currency) == (None, "EUR")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"amount": Decimal("-1")}, "amount", "greater than or equal to 0"),
        ({"amount": Decimal("1.001")}, "amount", "2 decimal places"),
        ({"currency": "usd"}, "currency", "ISO 4217"),
        ({"component": "gpu"}, "component", "not a valid choice"),
        ({"date": date(1999, 1, 1)}, "date", "outside the dates opsite accepts"),
        ({"hub": "nope"}, "hub", "No hub with slug 'nope'"),
    ],
)
def test_the_create_service_refuses_a_bad_cost_on_its_field(changes, field, message):
    data = {"date": DAY, "cluster": "2i2c", "component": "core", "amount": Decimal("1.00")} | changes

    with pytest.raises(ValidationError) as raised:
        cloud_cost_create(**data)

    assert message in " ".join(raised.value.message_dict[field])


def test_a_second_cost_with_no_hub_is_refused_with_a_message_saying_so():
    cloud_cost_create(date=DAY, cluster="2i2c", component="core", amount=Decimal("1.00"))

    with pytest.raises(ValidationError) as raised:
        cloud_cost_create(date=DAY, cluster="2i2c", component="core", amount=Decimal("2.00"))

    assert "already has a cost of this component with no hub on this date" in str(raised.value)


def test_an_update_may_move_a_cost_to_another_hub_or_to_none():
    cost = CloudCostFactory(hub=HubFactory(slug="a"))
    HubFactory(slug="b")

    cloud_cost_update(cloud_cost=cost, data={"hub": "b", "amount": Decimal("2.00")})
    assert (cost.hub.slug, cost.amount) == ("b", Decimal("2.00"))
    cloud_cost_update(cloud_cost=cost, data={"hub": None})
    assert CloudCost.objects.get(pk=cost.pk).hub is None


def test_every_door_finds_the_services():
    assert writes_for(CloudCost).create is cloud_cost_create
    assert writes_for(CostSource).create is cost_source_create


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"auth": "bearer", "secret_env": ""}, "secret_env"),
        ({"secret_env": "not a name"}, "secret_env"),
        ({"auth": "basic", "secret_env": "COSTS_PASSWORD", "username": ""}, "username"),
        ({"hub_mapping": ["ucmerced"]}, "hub_mapping"),
        ({"hub_mapping": {"prod": 3}}, "hub_mapping"),
        ({"currency": "dollars"}, "currency"),
        ({"url": "not a url"}, "url"),
    ],
)
def test_a_source_is_validated(changes, field):
    with pytest.raises(ValidationError) as raised:
        cost_source_create(**({"cluster": "2i2c", "url": "https://costs.example.org"} | changes))

    assert field in raised.value.message_dict


def test_a_source_names_the_variable_of_its_secret_never_the_secret():
    source = cost_source_create(
        cluster="2i2c", url="https://costs.example.org", auth="bearer", secret_env="COSTS_2I2C_TOKEN"
    )

    assert source.secret_env == "COSTS_2I2C_TOKEN"
    assert "secret" not in {f.name for f in CostSource._meta.concrete_fields} - {"secret_env"}


# --- the cells, read strictly --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12.34", "12.34"), ("12.3", "12.30"), (7, "7.00"), (Decimal("1.500"), "1.50"), ("-0.00", "0.00")],
)
def test_a_cost_is_read_exactly_to_the_cent(value, expected):
    assert str(clean_amount(value)) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-0.01", "is negative"),
        ("1.005", "more than two decimal places"),
        ("1e3", "without an exponent"),
        ("1,000", "no thousands separators"),
        ("٣", "digits 0-9"),
        (1.5, "is not a number"),
        (True, "is not a number"),
        ("1000000000000", "more than a cost can be"),
        (Decimal("NaN"), "is not a number"),
    ],
)
def test_a_cost_that_is_not_one_is_refused_saying_why(value, message):
    with pytest.raises(ValueError, match=message):
        clean_amount(value)


def test_components_are_read_in_both_spellings_and_nothing_else():
    assert clean_component("home storage") == clean_component("home_storage") == "home_storage"
    assert clean_component("object storage") == "object_storage"
    with pytest.raises(ValueError, match="use one of compute, home_storage, core"):
        clean_component("Compute")


def test_a_currency_is_three_capitals():
    assert clean_currency(" EUR ") == "EUR"
    for bad in ("usd", "US$", "EURO", None):
        with pytest.raises(ValueError, match="is not a currency"):
            clean_currency(bad)


def test_names_map_to_hubs_through_the_mapping_then_support_then_slugs():
    hub = HubFactory(slug="openscapes")
    found = hubs_by_name(
        {
            ("2i2c", "prod-openscapes"),
            ("2i2c", "support"),
            ("2i2c", ""),
            ("2i2c", "staging"),
            ("2i2c", "ghost"),
        },
        {"2i2c": {"prod-openscapes": "openscapes", "staging": ""}},
    )

    assert found == {
        ("2i2c", "prod-openscapes"): hub,
        ("2i2c", "support"): None,
        ("2i2c", ""): None,
        ("2i2c", "staging"): None,
    }


# --- the batch write -------------------------------------------------------------------------------


def test_the_batch_write_refuses_every_bad_row_naming_it_and_writes_nothing():
    HubFactory(slug="h")

    with pytest.raises(ValidationError) as raised:
        cloud_costs_write(
            rows=[
                row(hub="h"),
                row(amount="-1"),
                row(hub="ghost"),
                row(component="gpu", hub="h"),
                row(hub="h"),
                {"date": DAY},
            ]
        )

    errors = raised.value.message_dict
    assert "row 1: '-1' is negative" in errors["amount"][0]
    assert errors["hub"] == ["row 2: no hub with slug 'ghost'."]
    assert "row 3: 'gpu' is not a component" in errors["component"][0]
    assert errors["rows"][0].startswith("row 4: repeats row 0")
    assert errors["rows"][1].startswith("row 5: expected an object with date, cluster, hub")
    assert not CloudCost.objects.exists()


def test_the_batch_write_upserts_and_replaces_only_the_days_it_is_told():
    hub = HubFactory(slug="h", cluster="2i2c")
    kept = CloudCostFactory(hub=hub, cluster="2i2c", date=date(2024, 2, 29), component="core")
    replaced = CloudCostFactory(hub=hub, cluster="2i2c", date=DAY, component="core")
    changed = CloudCostFactory(hub=None, cluster="2i2c", date=DAY, component="core", amount=Decimal("1.00"))

    result = cloud_costs_write(
        rows=[row(amount=Decimal("2.00")), row(hub=hub, component="compute")],
        replace={("2i2c", DAY)},
    )

    assert (result.created, result.updated, result.unchanged, result.deleted) == (1, 1, 0, 1)
    assert CloudCost.objects.get(pk=changed.pk).amount == Decimal("2.00")
    assert not CloudCost.objects.filter(pk=replaced.pk).exists()
    assert CloudCost.objects.filter(pk=kept.pk).exists()


def test_the_batch_writes_queries_do_not_grow_with_its_rows():
    hubs = [HubFactory(slug=f"h{n}", cluster="2i2c") for n in range(40)]

    def queries(count: int) -> int:
        CloudCost.objects.all().delete()
        # Half stored with another amount, half new, and one stale row on a replaced day.
        for hub in hubs[: count // 2]:
            CloudCostFactory(hub=hub, cluster="2i2c", date=DAY, amount=Decimal("9.00"))
        CloudCostFactory(hub=None, cluster="2i2c", date=DAY, component="backup")
        rows = [row(hub=hub.slug, component="compute") for hub in hubs[:count]]
        with CaptureQueriesContext(connection) as captured:
            result = cloud_costs_write(rows=rows, replace={("2i2c", DAY)}, recompute=False)
        assert (result.created, result.updated, result.deleted) == (count - count // 2, count // 2, 1)
        return len(captured)

    # Savepoint; the hubs by slug; the stored costs; one insert; one update; the stale rows read
    # and deleted; the deletion stamp; release.
    assert queries(4) == queries(40) == 9


def test_source_factories_make_valid_rows():
    CostSourceFactory().full_clean()
    CloudCostFactory().full_clean()
