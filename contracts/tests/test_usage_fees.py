"""Usage fee schedules: the graduated arithmetic, the default schedule, and the rules of tiers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError
from hypothesis import given
from hypothesis import strategies as st

from communities.choices import HubKind
from communities.tests.factories import ActiveUserCountFactory, CommunityFactory, HubFactory
from contracts.fee_schedules import usage_fee_schedule_create, usage_fee_tier_create, usage_fee_tier_update
from contracts.models import UsageFeeSchedule
from contracts.services import contract_update
from contracts.tests.factories import ServiceContractFactory
from contracts.usage_fees import cap, monthly_usage_fees, usage_fee

# The default schedule as its migration defines it, written out here by hand.
MAU_2024 = [(10, D("10.00")), (100, D("5.00")), (1_000, D("2.50")), (10_000, D("1.25")), (None, D("0.00"))]


def stored_tiers(slug: str = "mau-2024") -> list[tuple[int | None, D]]:
    return [(t.up_to, t.unit_price) for t in UsageFeeSchedule.objects.get(slug=slug).tiers.all()]


@pytest.mark.django_db
def test_the_default_schedule_is_created_by_its_migration_as_defined():
    assert stored_tiers() == MAU_2024
    assert UsageFeeSchedule.objects.get(slug="mau-2024").currency == "USD"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("users", "fee"),
    [(0, "0.00"), (1, "10.00"), (10, "100.00"), (11, "105.00"), (100, "550.00"), (1_000, "2800.00"),
     (10_000, "14050.00"), (25_000, "14050.00")],
)  # fmt: skip
def test_the_default_schedule_prices_as_published(users, fee):
    assert usage_fee(users, stored_tiers()) == D(fee)


def test_tiers_are_applied_in_order_of_their_bounds_whatever_order_they_come_in():
    assert usage_fee(1_000, list(reversed(MAU_2024))) == D("2800.00")


def test_a_negative_number_of_users_is_refused():
    with pytest.raises(ValueError, match="cannot be negative"):
        usage_fee(-1, MAU_2024)


tiers_strategy = st.lists(
    st.tuples(st.integers(1, 50_000), st.decimals(min_value=0, max_value=100, places=2)),
    min_size=1,
    max_size=6,
    unique_by=lambda tier: tier[0],
).map(lambda tiers: [*tiers, (None, D("0.00"))])


@given(tiers=tiers_strategy, users=st.integers(0, 100_000), more=st.integers(0, 100_000))
def test_the_fee_never_decreases_with_users_and_never_passes_the_cap(tiers, users, more):
    fee, higher = usage_fee(users, tiers), usage_fee(users + more, tiers)
    assert D("0.00") <= fee <= higher
    assert higher <= cap(tiers)


def test_a_schedule_whose_open_tier_charges_has_no_cap():
    assert cap([(10, D("1.00")), (None, D("0.50"))]) is None
    assert usage_fee(30, [(10, D("1.00")), (None, D("0.50"))]) == D("20.00")


@pytest.mark.django_db
def test_a_schedule_takes_one_open_tier_and_each_bound_once():
    schedule = usage_fee_schedule_create(slug="edu", name="Education")
    usage_fee_tier_create(schedule="edu", up_to=50, unit_price=D("2.00"))
    open_tier = usage_fee_tier_create(schedule=schedule, up_to=None, unit_price=D("1.00"))
    with pytest.raises(ValidationError) as bound:
        usage_fee_tier_create(schedule="edu", up_to=50, unit_price=D("3.00"))
    assert "already has a tier up to 50 users" in str(bound.value.message_dict["up_to"])
    with pytest.raises(ValidationError) as second_open:
        usage_fee_tier_create(schedule="edu", up_to=None, unit_price=D("3.00"))
    assert "already has a tier without an upper bound" in str(second_open.value.message_dict["up_to"])
    # Updating the open tier itself is not a second open tier.
    usage_fee_tier_update(usage_fee_tier=open_tier, data={"unit_price": D("0.75")})
    assert usage_fee(60, stored_tiers("edu")) == D("107.50")


@pytest.mark.django_db
def test_a_tier_of_an_unknown_schedule_names_it():
    with pytest.raises(ValidationError) as error:
        usage_fee_tier_create(schedule="nope", up_to=10, unit_price=D("1.00"))
    assert "No usage fee schedule with slug 'nope'" in str(error.value.message_dict["schedule"])


@pytest.mark.django_db
def test_a_contract_is_priced_only_on_a_schedule_in_its_currency():
    contract = ServiceContractFactory(currency="EUR")
    with pytest.raises(ValidationError) as error:
        contract_update(contract=contract, data={"usage_fee_schedule": "mau-2024"})
    assert "prices in USD" in str(error.value.message_dict["usage_fee_schedule"])
    usd = ServiceContractFactory(currency="USD")
    contract_update(contract=usd, data={"usage_fee_schedule": "mau-2024"})
    usd.refresh_from_db()
    assert usd.usage_fee_schedule.slug == "mau-2024"


@pytest.mark.django_db
def test_a_schedule_in_use_cannot_be_deleted():
    ServiceContractFactory(currency="USD", usage_fee_schedule=UsageFeeSchedule.objects.get(slug="mau-2024"))
    with pytest.raises(ProtectedError):
        UsageFeeSchedule.objects.get(slug="mau-2024").delete()


# --- billable users and fees month by month ------------------------------------------------------


def priced_contract(reference: str, community, **extra):
    return ServiceContractFactory(
        reference=reference,
        community=community,
        currency="USD",
        start_on=dt.date(2024, 1, 15),
        end_on=dt.date(2024, 4, 10),
        usage_fee_schedule=UsageFeeSchedule.objects.get(slug="mau-2024"),
        **extra,
    )


@pytest.mark.django_db
def test_billable_users_are_the_communitys_mau_on_each_month_end_the_contract_is_active():
    community = CommunityFactory()
    hub = HubFactory(community=community, launched_on=dt.date(2023, 1, 1))
    second = HubFactory(community=community, launched_on=dt.date(2024, 2, 10))
    binder = HubFactory(community=community, kind=HubKind.BINDERHUB, launched_on=dt.date(2023, 1, 1))
    other_community_hub = HubFactory(launched_on=dt.date(2023, 1, 1))
    for day, users in [(dt.date(2024, 1, 31), 10), (dt.date(2024, 2, 29), 60), (dt.date(2024, 3, 31), 120)]:
        ActiveUserCountFactory(hub=hub, date=day, active_users=users)
        ActiveUserCountFactory(hub=binder, date=day, active_users=1_000)  # sessions, not users
        ActiveUserCountFactory(hub=other_community_hub, date=day, active_users=5_000)
    ActiveUserCountFactory(hub=second, date=dt.date(2024, 2, 29), active_users=40)
    priced_contract("c-usage", community)

    rows = monthly_usage_fees(through=dt.date(2024, 12, 31))

    # Active on the last days of January, February and March; it ends on 10 April.
    assert [(r.month_end, r.billable_users, r.fee) for r in rows] == [
        (dt.date(2024, 1, 31), 10, D("100.00")),
        (dt.date(2024, 2, 29), 100, D("550.00")),  # 60 + 40: both its hubs
        # 31 March: the second hub's sample of 29 February is inside its 35-day window, so counts.
        (dt.date(2024, 3, 31), 160, D("700.00")),
    ]


@pytest.mark.django_db
def test_a_contract_without_a_schedule_has_no_usage_fees_and_through_cuts_the_months():
    community = CommunityFactory()
    ServiceContractFactory(community=community, start_on=dt.date(2024, 1, 1), end_on=dt.date(2024, 12, 31))
    priced_contract("c-usage", community)
    assert [r.month_end for r in monthly_usage_fees(through=dt.date(2024, 2, 29))] == [
        dt.date(2024, 1, 31),
        dt.date(2024, 2, 29),
    ]
    assert [
        r.month_end for r in monthly_usage_fees(through=dt.date(2024, 12, 31), since=dt.date(2024, 3, 1))
    ] == [dt.date(2024, 3, 31)]


@pytest.mark.django_db
def test_the_monthly_fees_cost_the_same_queries_for_two_contracts_as_for_six(django_assert_num_queries):
    def contracts(count: int) -> None:
        for index in range(count):
            community = CommunityFactory()
            hub = HubFactory(community=community, launched_on=dt.date(2023, 1, 1))
            ActiveUserCountFactory(hub=hub, date=dt.date(2024, 2, 29), active_users=10 + index)
            priced_contract(f"c-{count}-{index}", community)

    contracts(2)
    # The contracts, their tiers, their communities' hubs, and the active users of 3 month ends.
    with django_assert_num_queries(4):
        assert len(monthly_usage_fees(through=dt.date(2024, 12, 31))) == 6
    contracts(4)
    with django_assert_num_queries(4):
        assert len(monthly_usage_fees(through=dt.date(2024, 12, 31))) == 18
