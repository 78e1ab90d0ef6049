"""Cloud costs in the rollup store (opsite.kpis.costs): what a recompute stores, hand-computed; the
dashboard's reading of it; a constant number of queries; and no public door to any of it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from communities.choices import CostComponent, HubKind, UsagePeriod
from communities.models import CloudCost
from communities.tests.factories import ActiveUserCountFactory, CloudCostFactory, CommunityFactory, HubFactory
from contracts.tests.factories import ServiceContractFactory
from funding.currency import MissingExchangeRate, RateTable
from funding.tests.factories import ExchangeRateFactory
from opsite.kpis import costs
from opsite.kpis.costs import (
    COMMUNITY_MONTH,
    COMPONENT_MONTH,
    HUB_MONTH,
    STATE_COSTS,
    CommunityMargin,
    HubMonthCost,
    cost_rollups,
    cost_values,
)
from opsite.kpis.models import Rollup
from opsite.kpis.rollups import KPIS_LATEST, get_rollup, recompute_cost_rollups, recompute_rollups

pytestmark = pytest.mark.django_db

D = Decimal
AS_OF = date(2024, 3, 20)
NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
ZEROS = dict.fromkeys(CostComponent.values, "0.00")


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def build_costs() -> dict:
    """Two communities, three hubs with costs, hand-computed below.

    January: cluster a's 10.00 without a hub is shared 80:20 by north-1 and north-binder;
    south-1 (cluster b) has 50.00. February: north-1's 40.00 EUR is 60.00 USD at 1.50 (the rate in
    effect on 29 February); cluster a's 13.00 is shared 60:5; cluster b's 9.00 has no hub with costs
    that month (unallocated). March (not complete on the as-of day, the 20th): south-1 has 30.00.
    Contracts: south's 3,000.00 over 22 January to 20 February (10 and 20 days of 30), north's
    29.00 over February.
    """
    north = CommunityFactory(slug="north", name="North")
    south = CommunityFactory(slug="south", name="South")
    north_1 = HubFactory(slug="north-1", name="North 1", community=north, cluster="a", kind=HubKind.BASEHUB)
    binder = HubFactory(
        slug="north-binder", name="North Binder", community=north, cluster="a", kind=HubKind.BINDERHUB
    )
    south_1 = HubFactory(slug="south-1", name="South 1", community=south, cluster="b", kind=HubKind.DASKHUB)
    HubFactory(slug="north-idle", community=north, cluster="a")  # no costs: in no point
    for hub, day, users in [
        (north_1, date(2024, 1, 31), 20),
        (north_1, date(2024, 2, 29), 10),
        (south_1, date(2024, 1, 31), 5),
        (south_1, AS_OF, 6),
    ]:
        ActiveUserCountFactory(hub=hub, date=day, period=UsagePeriod.MONTH, active_users=users)
    ExchangeRateFactory(currency="EUR", effective_on=date(2024, 1, 1), rate=D("1.50"))
    ExchangeRateFactory(currency="EUR", effective_on=date(2024, 3, 1), rate=D("2.00"))
    for hub, day, component, amount, currency in [
        (north_1, date(2024, 1, 10), "compute", "80.00", "USD"),
        (binder, date(2024, 1, 11), "compute", "20.00", "USD"),
        (None, date(2024, 1, 12), "core", "10.00", "USD"),
        (south_1, date(2024, 1, 15), "compute", "50.00", "USD"),
        (north_1, date(2024, 2, 10), "compute", "40.00", "EUR"),
        (binder, date(2024, 2, 11), "compute", "5.00", "USD"),
        (None, date(2024, 2, 11), "core", "13.00", "USD"),
        (south_1, date(2024, 3, 5), "compute", "30.00", "USD"),
        # After the as-of day: not counted yet.
        (south_1, date(2024, 3, 25), "compute", "99.00", "USD"),
    ]:
        CloudCostFactory(
            hub=hub,
            cluster="a" if hub is None else hub.cluster,
            date=day,
            component=component,
            amount=D(amount),
            currency=currency,
        )
    CloudCostFactory(hub=None, cluster="b", date=date(2024, 2, 12), component="core", amount=D("9.00"))
    ServiceContractFactory(
        community=south,
        signed_on=date(2024, 1, 1),
        start_on=date(2024, 1, 22),
        end_on=date(2024, 2, 20),
        total_value=D("3000.00"),
    )
    ServiceContractFactory(
        community=north,
        signed_on=date(2024, 1, 1),
        start_on=date(2024, 2, 1),
        end_on=date(2024, 2, 29),
        total_value=D("29.00"),
    )
    return {"north_1": north_1, "binder": binder, "south_1": south_1}


def recompute(frozen_clock) -> dict:
    # Later than the rows' writes, as a nightly recompute is: the next one sees them as old.
    frozen_clock.shift(timedelta(hours=2))
    return recompute_rollups(as_of=AS_OF)


def period(label: str, start: str, end: str, complete: bool) -> dict:
    return {"period": label, "start": start, "end": end, "complete": complete}


JANUARY = period("2024-01", "2024-01-01", "2024-01-31", True)
FEBRUARY = period("2024-02", "2024-02-01", "2024-02-29", True)
MARCH = period("2024-03", "2024-03-01", "2024-03-31", False)


def hub_row(hub, name, kind, community, own, shared, cost, users, per_user) -> dict:
    return {
        "hub": hub,
        "name": name,
        "kind": kind,
        "community": community,
        "own": own,
        "shared": shared,
        "cost": cost,
        "active_users": users,
        "cost_per_active_user": per_user,
    }


def community_row(slug, name, revenue, cost, margin) -> dict:
    return {"community": slug, "name": name, "revenue": revenue, "cost": cost, "margin": margin}


# --- what the recompute stores ----------------------------------------------------------------------


def test_the_recompute_stores_the_costs_by_component_month(frozen_clock):
    build_costs()
    recompute(frozen_clock)

    assert get_rollup(COMPONENT_MONTH).value == {
        "currency": "USD",
        "components": list(CostComponent.values),
        "points": [
            {**JANUARY, "value": "160.00", "groups": {**ZEROS, "compute": "150.00", "core": "10.00"}},
            {**FEBRUARY, "value": "87.00", "groups": {**ZEROS, "compute": "65.00", "core": "22.00"}},
            {**MARCH, "value": "30.00", "groups": {**ZEROS, "compute": "30.00"}},
        ],
    }


def test_the_recompute_stores_each_hub_s_cost_with_its_share_and_per_active_user(frozen_clock):
    build_costs()
    recompute(frozen_clock)

    north_1 = ("north-1", "North 1", "basehub", "north")
    binder = ("north-binder", "North Binder", "binderhub", "north")
    south_1 = ("south-1", "South 1", "daskhub", "south")
    assert get_rollup(HUB_MONTH).value == {
        "currency": "USD",
        "points": [
            {
                **JANUARY,
                "users_on": "2024-01-31",
                "value": "160.00",
                "unallocated": {},
                "hubs": [
                    hub_row(*north_1, "80.00", "8.00", "88.00", 20, "4.40"),
                    # No 30d active users on the month's last day: no cost per active user.
                    hub_row(*binder, "20.00", "2.00", "22.00", 0, None),
                    hub_row(*south_1, "50.00", "0.00", "50.00", 5, "10.00"),
                ],
            },
            {
                **FEBRUARY,
                "users_on": "2024-02-29",
                "value": "78.00",
                # South 1 had no costs of its own in February: no share of cluster b's 9.00.
                "unallocated": {"b": "9.00"},
                "hubs": [
                    hub_row(*north_1, "60.00", "12.00", "72.00", 10, "7.20"),
                    hub_row(*binder, "5.00", "1.00", "6.00", 0, None),
                ],
            },
            {
                **MARCH,
                "users_on": "2024-03-20",
                "value": "30.00",
                "unallocated": {},
                "hubs": [hub_row(*south_1, "30.00", "0.00", "30.00", 6, "5.00")],
            },
        ],
    }


def test_the_recompute_stores_each_community_s_margin(frozen_clock):
    build_costs()
    recompute(frozen_clock)

    assert get_rollup(COMMUNITY_MONTH).value == {
        "currency": "USD",
        "points": [
            {
                **JANUARY,
                "communities": [
                    community_row("north", "North", "0.00", "110.00", "-110.00"),
                    community_row("south", "South", "1000.00", "50.00", "950.00"),
                ],
            },
            {
                **FEBRUARY,
                "communities": [
                    community_row("north", "North", "29.00", "78.00", "-49.00"),
                    community_row("south", "South", "2000.00", "0.00", "2000.00"),
                ],
            },
            {**MARCH, "communities": [community_row("south", "South", "0.00", "30.00", "-30.00")]},
        ],
    }


def test_contract_value_in_another_currency_converts_at_its_signing_date(frozen_clock):
    community = CommunityFactory(slug="east", name="East")
    hub = HubFactory(community=community, cluster="a")
    CloudCostFactory(hub=hub, date=date(2024, 1, 5), amount=D("10.00"))
    ExchangeRateFactory(currency="EUR", effective_on=date(2023, 12, 1), rate=D("1.10"))
    ExchangeRateFactory(currency="EUR", effective_on=date(2024, 1, 20), rate=D("3.00"))
    ServiceContractFactory(
        community=community,
        signed_on=date(2023, 12, 15),
        start_on=date(2024, 1, 1),
        end_on=date(2024, 1, 31),
        total_value=D("100.00"),
        currency="EUR",
    )
    recompute(frozen_clock)

    january = get_rollup(COMMUNITY_MONTH).value["points"][0]
    assert january["communities"] == [community_row("east", "East", "110.00", "10.00", "100.00")]


def test_the_public_figures_are_written_before_the_cost_rollups_which_follow_as_the_same_run(frozen_clock):
    build_costs()
    frozen_clock.shift(timedelta(hours=2))
    with CaptureQueriesContext(connection) as queries:
        summary = recompute_rollups(as_of=AS_OF)
    writes = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("INSERT INTO")]
    # The upserts of values; not the run's claim (an insert that ignores a conflict).
    rollup_writes = [sql for sql in writes if "opsite_rollup" in sql and "DO NOTHING" not in sql]

    # The public figures in one write, the cost rollups in the next.
    assert KPIS_LATEST in rollup_writes[-2] and HUB_MONTH not in rollup_writes[-2]
    assert HUB_MONTH in rollup_writes[-1] and KPIS_LATEST not in rollup_writes[-1]
    assert {HUB_MONTH, KPIS_LATEST} <= set(summary["written"])


def test_without_costs_the_run_leaves_the_cost_rollups_to_recompute_cost_rollups(frozen_clock):
    build_costs()
    frozen_clock.shift(timedelta(hours=2))
    recompute_rollups(as_of=AS_OF, costs=False)
    assert get_rollup(KPIS_LATEST) is not None
    assert get_rollup(HUB_MONTH) is None

    run = recompute_cost_rollups(as_of=AS_OF)
    again = recompute_cost_rollups(as_of=AS_OF)

    assert set(run["written"]) == {COMPONENT_MONTH, HUB_MONTH, COMMUNITY_MONTH}
    assert (again["written"], again["unchanged"]) == ([], 3)
    assert get_rollup(HUB_MONTH).value["points"]


def test_without_costs_the_keys_are_stored_empty(frozen_clock):
    CommunityFactory()
    recompute(frozen_clock)

    assert [get_rollup(key).value["points"] for key in (COMPONENT_MONTH, HUB_MONTH, COMMUNITY_MONTH)] == [
        [],
        [],
        [],
    ]
    assert get_rollup(STATE_COSTS).value == {}


def test_a_second_recompute_rewrites_no_cost_key_and_reads_no_month_end_again(frozen_clock, monkeypatch):
    build_costs()
    first = recompute(frozen_clock)
    read = []
    incremental = costs.hub_costs.hub_users_incremental

    def spy(*args, **kwargs):
        run = incremental(*args, **kwargs)
        read.append(run.days_read)
        return run

    monkeypatch.setattr(costs.hub_costs, "hub_users_incremental", spy)
    second = recompute(frozen_clock)

    assert {HUB_MONTH, COMPONENT_MONTH, COMMUNITY_MONTH} <= set(first["written"])
    assert not {HUB_MONTH, COMPONENT_MONTH, COMMUNITY_MONTH} & set(second["written"])
    assert read == [0]


def test_a_cost_written_since_rewrites_the_cost_keys_and_only_them(frozen_clock):
    hubs = build_costs()
    recompute(frozen_clock)
    before = get_rollup(HUB_MONTH)

    CloudCost.objects.filter(hub=hubs["south_1"], date=date(2024, 3, 5)).update(amount=D("60.00"))
    result = recompute(frozen_clock)

    assert set(result["written"]) == {HUB_MONTH, COMPONENT_MONTH, COMMUNITY_MONTH}
    after = get_rollup(HUB_MONTH)
    assert after.version != before.version
    assert after.value["points"][2]["hubs"][0]["cost_per_active_user"] == "10.00"


def test_only_the_months_whose_inputs_changed_are_computed_again(frozen_clock, monkeypatch):
    """A month keeps the points stored for it while its sums, its reading day's users, its revenue,
    the labels and the rates are what they were; the rest equal a recompute from scratch."""
    hubs = build_costs()
    recompute(frozen_clock)
    computed: list[str] = []
    hub_point = costs._hub_point
    monkeypatch.setattr(
        costs,
        "_hub_point",
        lambda month, *args: computed.append(month.start.isoformat()) or hub_point(month, *args),
    )

    recompute(frozen_clock)
    assert computed == []

    # A correction of January: January alone is computed again.
    # Stamped as the services and importers stamp what they write.
    CloudCost.objects.filter(hub=hubs["south_1"], date__month=1).update(
        amount=D("70.00"), updated_at=datetime.now(tz=UTC)
    )
    recompute(frozen_clock)
    assert computed == ["2024-01-01"]
    kept = {key: get_rollup(key).value for key in (COMPONENT_MONTH, HUB_MONTH, COMMUNITY_MONTH)}

    # A hub renamed reaches every month.
    computed.clear()
    hubs["south_1"].name = "South one"
    hubs["south_1"].save()
    recompute(frozen_clock)
    assert computed == ["2024-01-01", "2024-02-01", "2024-03-01"]
    assert {
        row["name"]
        for point in get_rollup(HUB_MONTH).value["points"]
        for row in point["hubs"]
        if row["hub"] == "south-1"
    } == {"South one"}

    Rollup.objects.all().delete()
    recompute(frozen_clock)
    scratch = {key: get_rollup(key).value for key in (COMPONENT_MONTH, HUB_MONTH, COMMUNITY_MONTH)}
    assert scratch[COMPONENT_MONTH] == kept[COMPONENT_MONTH]
    assert scratch[COMMUNITY_MONTH] == kept[COMMUNITY_MONTH]


def test_a_missing_exchange_rate_stores_everything_else_then_fails_naming_currency_and_month_end(
    frozen_clock,
):
    build_costs()
    CloudCostFactory(hub=None, cluster="a", date=date(2024, 1, 3), component="backup", currency="GBP")

    with pytest.raises(MissingExchangeRate, match=r"GBP .*2024-01-31"):
        recompute(frozen_clock)

    assert get_rollup(KPIS_LATEST) is not None
    assert get_rollup(HUB_MONTH) is None


def test_costs_dated_outside_the_plausible_range_are_reported(frozen_clock, settings):
    build_costs()
    settings.OPSITE_PLAUSIBLE_DATES = ("2024-01-11", "2100-12-31")

    recompute(frozen_clock)

    # The 10 January cost of north-1: the 8.00 share of cluster a's 10.00 goes to the binder hub.
    assert get_rollup("data-quality").value["skipped"]["communities.CloudCost"] == 1
    january = get_rollup(HUB_MONTH).value["points"][0]
    assert [(row["hub"], row["cost"]) for row in january["hubs"]] == [
        ("north-binder", "30.00"),
        ("south-1", "50.00"),
    ]


# --- a constant number of queries ----------------------------------------------------------------


def organization_with_costs(hubs: int, *, hubless: bool = True) -> None:
    rate = ExchangeRateFactory(currency="EUR", effective_on=date(2023, 1, 1), rate=D("1.50"))
    for index in range(hubs):
        community = CommunityFactory()
        hub = HubFactory(community=community, cluster=f"cluster-{index % 3}")
        ServiceContractFactory(community=community, start_on=date(2024, 1, 15), end_on=date(2024, 2, 14))
        for day in (date(2024, 1, 31), date(2024, 2, 29), AS_OF):
            ActiveUserCountFactory(hub=hub, date=day, period=UsagePeriod.MONTH, active_users=index)
        for day in range(0, 80, 3):
            CloudCostFactory(hub=hub, date=date(2024, 1, 1) + timedelta(days=day), currency=rate.currency)
    for index in range(3 if hubless else 0):
        CloudCostFactory(hub=None, cluster=f"cluster-{index}", date=date(2024, 1, 2), component="core")


def test_the_cost_rollups_take_the_same_queries_for_2_or_10_hubs():
    organization_with_costs(2)
    with CaptureQueriesContext(connection) as few:
        cost_values(AS_OF, RateTable.load())
    Rollup.objects.all().delete()
    organization_with_costs(8, hubless=False)
    with CaptureQueriesContext(connection) as many:
        values = cost_values(AS_OF, RateTable.load())

    # The rates (1); the state (1); the monthly sums (1); the month-ends' users, two a query (2);
    # the hubs (1); the communities (1); the contracts (1). A first run has nothing to compare.
    assert len(few) == len(many) == 8
    assert len(values[HUB_MONTH]["points"][0]["hubs"]) == 10


def test_a_full_recompute_with_costs_takes_the_same_queries_for_2_or_10_hubs(frozen_clock):
    organization_with_costs(2)
    frozen_clock.shift(timedelta(hours=2))
    with CaptureQueriesContext(connection) as few:
        recompute_rollups(as_of=AS_OF)
    Rollup.objects.all().delete()
    organization_with_costs(8, hubless=False)
    frozen_clock.shift(timedelta(hours=2))
    with CaptureQueriesContext(connection) as many:
        recompute_rollups(as_of=AS_OF)

    assert len(few) == len(many)


# --- what the dashboard reads ----------------------------------------------------------------------


def test_the_dashboard_reads_components_the_costliest_hubs_per_user_and_negative_margins(frozen_clock):
    build_costs()
    recompute(frozen_clock)

    with CaptureQueriesContext(connection) as queries:
        read = cost_rollups()

    assert len(queries) == 1
    assert read.currency == "USD"
    assert [(month.period, month.complete, month.total) for month in read.components] == [
        ("2024-01", True, D("160.00")),
        ("2024-02", True, D("87.00")),
        ("2024-03", False, D("30.00")),
    ]
    assert read.components[1].by_component["core"] == D("22.00")
    assert read.month == "2024-02"
    assert read.costliest_hubs == [
        HubMonthCost(
            "north-1", "North 1", "basehub", "north", D("60.00"), D("12.00"), D("72.00"), 10, D("7.20")
        )
    ]
    assert read.hubs_without_users == [
        HubMonthCost(
            "north-binder", "North Binder", "binderhub", "north", D("5.00"), D("1.00"), D("6.00"), 0, None
        )
    ]
    # Over January and February (March is not complete): north -110.00 and -49.00.
    assert read.margin_months == ["2024-01", "2024-02"]
    assert read.negative_margins == [CommunityMargin("north", "North", D("29.00"), D("188.00"), D("-159.00"))]
    assert read.computed_at == NOW + timedelta(hours=2)


def test_the_margins_sum_only_the_last_months_asked_for(frozen_clock):
    build_costs()
    recompute(frozen_clock)

    read = cost_rollups(months=1, hubs=0)

    assert read.margin_months == ["2024-02"]
    assert read.negative_margins == [CommunityMargin("north", "North", D("29.00"), D("78.00"), D("-49.00"))]
    assert read.costliest_hubs == []


def test_before_any_recompute_the_dashboard_reads_nothing():
    read = cost_rollups()

    assert (read.components, read.month, read.costliest_hubs, read.negative_margins) == ([], None, [], [])
    assert read.computed_at is None


def test_the_module_names_every_key_it_stores():
    assert set(costs.COST_KEYS) == {COMPONENT_MONTH, HUB_MONTH, COMMUNITY_MONTH}
    assert all(key.startswith(costs.COSTS_PREFIX) for key in costs.COST_KEYS)
