"""What the hubs cost (communities.cost_rollups): hand-computed cases of each definition, the
monthly sums the database makes, and the constant number of queries they take."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from communities import cost_rollups
from communities.choices import CostComponent, UsagePeriod
from communities.cost_rollups import CostSum, HubCost, cost_per_active_user, monthly_costs, shares
from communities.models import ActiveUserCount
from communities.tests.factories import ActiveUserCountFactory, CloudCostFactory, HubFactory
from funding.currency import MissingExchangeRate, RateTable

JAN = date(2024, 1, 1)
FEB = date(2024, 2, 1)
D = Decimal
USD_ONLY = RateTable([])


def cost(month, cluster, hub, component, amount, currency="USD") -> CostSum:
    return CostSum(month, cluster, hub, component, currency, D(amount))


# --- the shares (pure) ----------------------------------------------------------------------------


def test_a_pool_is_shared_in_proportion_to_the_weights():
    assert shares(D("40.00"), {1: D("100.00"), 2: D("300.00")}) == {1: D("10.00"), 2: D("30.00")}


def test_shares_add_up_to_the_pool_to_the_cent_the_largest_remainders_taking_the_cents_left():
    # 10 cents in three equal parts: 3.33 each, 3 each rounded down, the cent left to the first key.
    assert shares(D("0.10"), {7: D("1"), 3: D("1"), 5: D("1")}) == {3: D("0.04"), 5: D("0.03"), 7: D("0.03")}
    # 1.00 as 1:2 is 33.33 and 66.67 cents: the larger remainder (0.67) takes the cent.
    assert shares(D("1.00"), {1: D("1"), 2: D("2")}) == {1: D("0.33"), 2: D("0.67")}


def test_a_weight_of_zero_gets_nothing_and_no_weight_at_all_shares_nothing():
    assert shares(D("9.00"), {1: D("0.00"), 2: D("5.00")}) == {1: D("0.00"), 2: D("9.00")}
    assert shares(D("9.00"), {1: D("0.00")}) == {}
    assert shares(D("9.00"), {}) == {}


# --- the cost of a hub (pure) ---------------------------------------------------------------------


def test_a_hub_s_cost_is_its_own_plus_a_share_of_its_cluster_s_hubless_costs_in_proportion():
    costs = monthly_costs(
        [
            cost(JAN, "a", 1, "compute", "60.00"),
            cost(JAN, "a", 1, "home_storage", "40.00"),
            cost(JAN, "a", 2, "compute", "300.00"),
            cost(JAN, "a", None, "core", "30.00"),
            cost(JAN, "a", None, "networking", "10.00"),
        ],
        convert=USD_ONLY.convert,
    )

    # Cluster a's 40.00 without a hub: hub 1 paid 100 of the 400 its hubs paid, so a quarter.
    assert costs.hubs == {
        JAN: {1: HubCost(own=D("100.00"), shared=D("10.00")), 2: HubCost(own=D("300.00"), shared=D("30.00"))}
    }
    assert costs.hubs[JAN][1].cost == D("110.00")
    assert costs.unallocated == {}


def test_a_hub_with_no_costs_of_its_own_gets_no_share():
    costs = monthly_costs(
        [
            cost(JAN, "a", 1, "compute", "50.00"),
            # Hub 2 has costs in February only: January's hub-less costs are all hub 1's.
            cost(FEB, "a", 2, "compute", "20.00"),
            cost(JAN, "a", None, "core", "12.00"),
            cost(FEB, "a", None, "core", "4.00"),
        ],
        convert=USD_ONLY.convert,
    )

    assert costs.hubs[JAN] == {1: HubCost(own=D("50.00"), shared=D("12.00"))}
    assert costs.hubs[FEB] == {2: HubCost(own=D("20.00"), shared=D("4.00"))}


def test_hubless_costs_of_a_cluster_whose_hubs_had_no_costs_are_unallocated_and_not_lost():
    costs = monthly_costs(
        [
            cost(JAN, "a", 1, "compute", "10.00"),
            cost(JAN, "b", None, "core", "15.00"),
            # A hub whose costs that month were all 0.00 shares nothing either.
            cost(JAN, "c", 3, "compute", "0.00"),
            cost(JAN, "c", None, "core", "7.00"),
        ],
        convert=USD_ONLY.convert,
    )

    assert costs.unallocated == {JAN: {"b": D("15.00"), "c": D("7.00")}}
    assert costs.hubs[JAN] == {1: HubCost(D("10.00"), D("0.00")), 3: HubCost(D("0.00"), D("0.00"))}


def test_a_hub_on_two_clusters_gets_a_share_of_each_in_proportion_to_its_costs_there():
    costs = monthly_costs(
        [
            cost(JAN, "a", 1, "compute", "10.00"),
            cost(JAN, "a", 2, "compute", "30.00"),
            cost(JAN, "a", None, "core", "8.00"),
            cost(JAN, "b", 1, "compute", "5.00"),
            cost(JAN, "b", None, "core", "3.00"),
        ],
        convert=USD_ONLY.convert,
    )

    # a: 8.00 as 10:30 -> 2.00 and 6.00; b: all 3.00 to hub 1, the only hub with costs there.
    assert costs.hubs[JAN] == {1: HubCost(D("15.00"), D("5.00")), 2: HubCost(D("30.00"), D("6.00"))}


def test_components_add_up_hubs_and_hubless_costs_every_component_listed():
    costs = monthly_costs(
        [
            cost(JAN, "a", 1, "compute", "10.00"),
            cost(JAN, "a", 2, "compute", "5.00"),
            cost(JAN, "a", None, "core", "3.00"),
        ],
        convert=USD_ONLY.convert,
    )

    assert costs.components[JAN] == {
        **dict.fromkeys(CostComponent.values, D("0.00")),
        "compute": D("15.00"),
        "core": D("3.00"),
    }
    assert costs.months == [JAN]


def test_costs_convert_at_the_rate_in_effect_on_the_month_s_last_day():
    rates = RateTable(
        [
            ("EUR", date(2024, 1, 1), D("1.10")),
            ("EUR", date(2024, 1, 31), D("1.20")),
            ("EUR", FEB, D("2.00")),
        ],
        currency="USD",
    )
    costs = monthly_costs(
        [
            cost(JAN, "a", 1, "compute", "100.00", "EUR"),
            cost(JAN, "a", 1, "compute", "10.00", "USD"),
            cost(JAN, "a", None, "core", "50.00", "EUR"),
        ],
        convert=rates.convert,
    )

    # January's last day: 1.20 (not the 1.10 of its first day, nor February's 2.00).
    assert costs.hubs[JAN] == {1: HubCost(own=D("130.00"), shared=D("60.00"))}
    assert costs.components[JAN]["compute"] == D("130.00")


def test_a_currency_without_a_rate_names_itself_and_the_month_s_last_day():
    with pytest.raises(MissingExchangeRate, match=r"EUR .*2024-01-31"):
        monthly_costs([cost(JAN, "a", 1, "compute", "1.00", "EUR")], convert=USD_ONLY.convert)


def test_cost_per_active_user_is_null_at_0_users():
    assert cost_per_active_user(D("100.00"), 3) == D("33.33")
    assert cost_per_active_user(D("100.00"), 0) is None


# --- the monthly sums, in the database ----------------------------------------------------------


@pytest.mark.django_db
def test_the_database_sums_costs_by_month_cluster_hub_component_and_currency_exactly():
    hub = HubFactory(cluster="a")
    for day in range(31):
        # 31 x 0.10: a float sum would not be exactly 3.10.
        CloudCostFactory(hub=hub, date=JAN + timedelta(days=day), amount=D("0.10"))
    CloudCostFactory(hub=hub, date=FEB, amount=D("1.00"))
    CloudCostFactory(hub=None, cluster="a", date=date(2024, 1, 5), component="core", amount=D("2.50"))
    CloudCostFactory(hub=None, cluster="a", date=date(2024, 1, 6), component="core", amount=D("2.50"))
    CloudCostFactory(hub=hub, date=date(2024, 1, 7), component="core", amount=D("7.00"), currency="EUR")
    CloudCostFactory(hub=hub, date=date(2024, 3, 1), amount=D("99.00"))

    with CaptureQueriesContext(connection) as queries:
        sums = cost_rollups.monthly_cost_sums(end=date(2024, 2, 29))

    assert len(queries) == 1
    assert sums == [
        CostSum(JAN, "a", None, "core", "USD", D("5.00")),
        CostSum(JAN, "a", hub.pk, "compute", "USD", D("3.10")),
        CostSum(JAN, "a", hub.pk, "core", "EUR", D("7.00")),
        CostSum(FEB, "a", hub.pk, "compute", "USD", D("1.00")),
    ]


@pytest.mark.django_db
def test_the_sums_take_one_query_for_2_or_10_hubs(django_assert_num_queries):
    def hubs_with_costs(count: int) -> None:
        for _ in range(count):
            hub = HubFactory(cluster="a")
            for day in (JAN, FEB, date(2024, 3, 15)):
                CloudCostFactory(hub=hub, date=day)

    hubs_with_costs(2)
    with django_assert_num_queries(1):
        few = cost_rollups.monthly_cost_sums(end=date(2024, 3, 31))
    hubs_with_costs(8)
    with django_assert_num_queries(1):
        many = cost_rollups.monthly_cost_sums(end=date(2024, 3, 31))
    assert (len(few), len(many)) == (6, 30)


@pytest.mark.django_db
def test_costs_dated_outside_the_plausible_range_are_left_out_and_counted(settings):
    hub = HubFactory(cluster="a")
    CloudCostFactory(hub=hub, date=date(2001, 1, 1))
    CloudCostFactory(hub=hub, date=JAN)
    settings.OPSITE_PLAUSIBLE_DATES = ("2010-01-01", "2100-12-31")

    assert [row.month for row in cost_rollups.monthly_cost_sums(end=date(2024, 1, 31))] == [JAN]
    assert cost_rollups.implausible_rows() == {"communities.CloudCost": 1}


# --- the 30d active users on month-ends, incrementally ------------------------------------------

MONTH_ENDS = [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)]
WATERMARK = datetime(2024, 4, 1, tzinfo=UTC)


def hubs_with_samples(count: int) -> list:
    hubs = []
    for index in range(count):
        hub = HubFactory()
        for day in MONTH_ENDS:
            ActiveUserCountFactory(hub=hub, date=day, period=UsagePeriod.MONTH, active_users=index)
        hubs.append(hub)
    return hubs


@pytest.mark.django_db
def test_the_users_are_each_hub_s_30d_active_users_on_the_days_asked_none_left_out():
    first, second = hubs_with_samples(2)
    ActiveUserCountFactory(hub=second, date=date(2024, 2, 10), period=UsagePeriod.MONTH, active_users=9)

    run = cost_rollups.hub_users_incremental(MONTH_ENDS, None, watermark=WATERMARK)

    # The first hub has 0 users: left out. The second's latest sample in each window counts.
    assert run.users == {day: {second.pk: 1} for day in MONTH_ENDS}
    assert run.days_read == 3
    assert first.pk not in run.users[MONTH_ENDS[0]]


@pytest.mark.django_db
def test_a_later_run_reads_again_only_the_days_a_changed_sample_reaches(django_assert_num_queries):
    written = datetime(2024, 4, 2, 10, tzinfo=UTC)
    with time_machine.travel(written, tick=False) as clock:
        _hub, second = hubs_with_samples(2)
        # Each run's watermark: a moment before it started reading, after the samples were written.
        clock.shift(timedelta(hours=1))
        first_run = cost_rollups.hub_users_incremental(
            MONTH_ENDS, None, watermark=written + timedelta(minutes=30)
        )

        with django_assert_num_queries(2):  # the deletion stamp, the changed dates
            unchanged = cost_rollups.hub_users_incremental(
                MONTH_ENDS, first_run.state, watermark=written + timedelta(minutes=50)
            )
        assert (unchanged.users, unchanged.days_read) == (first_run.users, 0)

        clock.shift(timedelta(hours=1))
        sample = ActiveUserCount.objects.get(hub=second, date=MONTH_ENDS[2], period=UsagePeriod.MONTH)
        sample.active_users = 7
        sample.save()
        changed = cost_rollups.hub_users_incremental(
            MONTH_ENDS, unchanged.state, watermark=written + timedelta(minutes=110)
        )
        assert changed.days_read == 1
        assert changed.users == {**first_run.users, MONTH_ENDS[2]: {second.pk: 7}}

        ActiveUserCount.objects.filter(date=MONTH_ENDS[0]).delete()
        deleted = cost_rollups.hub_users_incremental(
            MONTH_ENDS, changed.state, watermark=written + timedelta(minutes=115)
        )
        assert deleted.days_read == 3
        assert deleted.users[MONTH_ENDS[0]] == {}


@pytest.mark.django_db
def test_the_users_take_the_same_queries_for_2_or_10_hubs():
    hubs_with_samples(2)
    with CaptureQueriesContext(connection) as few:
        cost_rollups.hub_users_incremental(MONTH_ENDS, None, watermark=WATERMARK)
    hubs_with_samples(8)
    with CaptureQueriesContext(connection) as many:
        run = cost_rollups.hub_users_incremental(MONTH_ENDS, None, watermark=WATERMARK)

    # None to tell what changed on a first run, one per two days read.
    assert len(few) == len(many) == 2
    # The first hub of each batch has 0 users: left out.
    assert len(run.users[MONTH_ENDS[0]]) == 8


# --- the monthly sums, incrementally --------------------------------------------------------------


def sums_run(end, state, clock):
    """One run as the recompute makes it: the watermark a moment before it starts reading."""
    clock.shift(timedelta(hours=2))
    return cost_rollups.cost_sums_incremental(
        end=end, state=state, watermark=datetime.now(tz=UTC) - timedelta(minutes=30)
    )


@pytest.mark.django_db
def test_the_sums_continue_from_the_state_summing_again_only_the_months_written_in_or_open():
    """After each change, the sums equal a sum from scratch, and only the months a written cost
    reaches or not complete by both end days are summed again."""
    with time_machine.travel(datetime(2024, 4, 2, 10, tzinfo=UTC), tick=False) as clock:
        hub = HubFactory(cluster="a")
        for month in (JAN, FEB, date(2024, 3, 1)):
            CloudCostFactory(hub=hub, date=month, amount=D("1.00"))
        CloudCostFactory(hub=hub, date=date(2024, 4, 1), amount=D("1.00"))
        first = sums_run(date(2024, 4, 1), None, clock)
        assert first.months_read == 4
        assert first.sums == cost_rollups.monthly_cost_sums(end=date(2024, 4, 1))

        with CaptureQueriesContext(connection) as queries:
            again = sums_run(date(2024, 4, 1), first.state, clock)
        # The deletion stamp, the months written in, and April, still open.
        assert (len(queries), again.months_read, again.sums) == (3, 1, first.sums)

        # One more day of costs, and a correction of January.
        CloudCostFactory(hub=hub, date=date(2024, 4, 2), amount=D("2.00"))
        january = hub.cloud_costs.get(date=JAN)
        january.amount = D("5.00")
        january.save()
        later = sums_run(date(2024, 4, 2), again.state, clock)
        assert later.months_read == 2  # January and April
        assert later.sums == cost_rollups.monthly_cost_sums(end=date(2024, 4, 2))
        assert [row.amount for row in later.sums] == [D("5.00"), D("1.00"), D("1.00"), D("3.00")]

        # An end day earlier than the state's: the months not complete by it are summed again.
        earlier = sums_run(date(2024, 2, 15), later.state, clock)
        assert earlier.sums == cost_rollups.monthly_cost_sums(end=date(2024, 2, 15))
        assert earlier.months_read == 1  # February; March and April lie after the end day


@pytest.mark.django_db
def test_a_deleted_cost_or_another_plausible_range_sums_every_month_again(settings):
    with time_machine.travel(datetime(2024, 4, 2, 10, tzinfo=UTC), tick=False) as clock:
        hub = HubFactory(cluster="a")
        for month in (JAN, FEB, date(2024, 3, 1)):
            CloudCostFactory(hub=hub, date=month, amount=D("1.00"))
        first = sums_run(date(2024, 3, 31), None, clock)

        hub.cloud_costs.filter(date=FEB).delete()
        deleted = sums_run(date(2024, 3, 31), first.state, clock)
        assert deleted.months_read == 2
        assert deleted.sums == cost_rollups.monthly_cost_sums(end=date(2024, 3, 31))

        settings.OPSITE_PLAUSIBLE_DATES = ("2024-02-01", "2100-12-31")
        narrower = sums_run(date(2024, 3, 31), deleted.state, clock)
        assert [row.month for row in narrower.sums] == [date(2024, 3, 1)]
