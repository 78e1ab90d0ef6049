"""The rules that guard contracts and their payments, and the schedule builder."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from communities.tests.factories import CommunityFactory
from contracts.choices import BillingPlan, ContractCategory, ContractStatus
from contracts.models import ContractPayment
from contracts.services import (
    contract_create,
    contract_payment_create,
    contract_payment_update,
    contract_payments_validate,
    contract_schedule_create,
    contract_update,
    schedule_dates,
    split_amount,
)

from .factories import ContractPaymentFactory, ServiceContractFactory

D = Decimal


def messages(error) -> dict[str, list[str]]:
    return error.value.message_dict


# --- contracts -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_contract_is_created_for_a_community_named_by_slug():
    CommunityFactory(slug="uni-x")
    contract = contract_create(
        reference="uni-x-2024",
        community="uni-x",
        category=ContractCategory.HUB_SERVICE,
        start_on=dt.date(2024, 1, 1),
        end_on=dt.date(2024, 12, 31),
        total_value=D("24000.00"),
    )
    assert contract.community.slug == "uni-x"
    assert contract.currency == "USD"
    assert contract.status == ContractStatus.PROPOSED


@pytest.mark.django_db
def test_a_contract_names_an_unknown_community():
    with pytest.raises(ValidationError) as error:
        contract_create(
            reference="x",
            community="nowhere",
            category=ContractCategory.HUB_SERVICE,
            start_on=dt.date(2024, 1, 1),
            end_on=dt.date(2024, 12, 31),
            total_value=D("1.00"),
        )
    assert messages(error) == {"community": ["No community with slug 'nowhere'."]}


@pytest.mark.django_db
def test_a_signed_contract_needs_its_signing_date():
    contract = ServiceContractFactory(status=ContractStatus.PROPOSED, signed_on=None)
    with pytest.raises(ValidationError) as error:
        contract_update(contract=contract, data={"status": ContractStatus.SIGNED})
    assert messages(error) == {"signed_on": ["A signed contract needs the date it was signed."]}


@pytest.mark.django_db
def test_a_contract_cannot_end_before_it_starts():
    contract = ServiceContractFactory()
    with pytest.raises(ValidationError) as error:
        contract_update(contract=contract, data={"end_on": dt.date(2023, 12, 31)})
    assert messages(error) == {"end_on": ["The contract ends on 2023-12-31 before it starts on 2024-01-01."]}


@pytest.mark.django_db
def test_a_contract_probability_is_a_percentage():
    contract = ServiceContractFactory()
    with pytest.raises(ValidationError) as error:
        contract_update(contract=contract, data={"probability": 120})
    assert messages(error) == {"probability": ["The probability is a percentage from 0 to 100, not 120."]}


@pytest.mark.django_db
def test_a_contract_value_cannot_drop_below_its_payments():
    contract = ServiceContractFactory(reference="uni-2024", total_value=D("12000.00"))
    ContractPaymentFactory(contract=contract, amount=D("7000.00"))
    ContractPaymentFactory(contract=contract, amount=D("5000.00"))
    with pytest.raises(ValidationError) as error:
        contract_update(contract=contract, data={"total_value": D("10000.00")})
    assert messages(error) == {
        "total_value": [
            "The payments of contract uni-2024 already sum to 12,000.00 USD: the total value cannot be "
            "10,000.00 USD, 2,000.00 USD less than that."
        ]
    }


@pytest.mark.django_db
def test_a_contract_value_may_be_raised_or_kept_above_its_payments():
    contract = ServiceContractFactory(total_value=D("12000.00"))
    ContractPaymentFactory(contract=contract, amount=D("7000.00"))
    contract_update(contract=contract, data={"total_value": D("7000.00")})
    contract.refresh_from_db()
    assert contract.total_value == D("7000.00")


@pytest.mark.django_db
def test_a_contract_value_with_three_decimal_places_is_refused_not_rounded():
    contract = ServiceContractFactory()
    with pytest.raises(ValidationError) as error:
        contract_update(contract=contract, data={"total_value": D("100.005")})
    assert "total_value" in messages(error)
    contract.refresh_from_db()
    assert contract.total_value == D("12000.00")


@pytest.mark.django_db
def test_updating_a_contract_with_an_unknown_field_is_a_programming_error():
    with pytest.raises(TypeError, match="cannot be updated with colour"):
        contract_update(contract=ServiceContractFactory(), data={"colour": "red"})


# --- payments --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_payments_may_sum_exactly_to_the_contract_value():
    contract = ServiceContractFactory(total_value=D("12000.00"))
    contract_payment_create(contract=contract, due_on=dt.date(2024, 1, 1), amount=D("6000.00"))
    contract_payment_create(contract=contract.reference, due_on=dt.date(2024, 7, 1), amount=D("6000.00"))
    assert contract.payments.count() == 2


@pytest.mark.django_db
def test_payments_never_sum_past_the_contract_value():
    contract = ServiceContractFactory(reference="uni-2024", total_value=D("12000.00"))
    ContractPaymentFactory(contract=contract, amount=D("10000.00"))
    with pytest.raises(ValidationError) as error:
        contract_payment_create(contract=contract, due_on=dt.date(2024, 7, 1), amount=D("2500.00"))
    assert messages(error) == {
        "amount": [
            "The payments of contract uni-2024 would sum to 12,500.00 USD, 500.00 USD over its total "
            "value of 12,000.00 USD."
        ]
    }
    assert contract.payments.count() == 1


@pytest.mark.django_db
def test_a_payment_raised_past_the_contract_value_is_refused_but_not_counted_twice():
    contract = ServiceContractFactory(reference="uni-2024", total_value=D("12000.00"))
    payment = ContractPaymentFactory(contract=contract, amount=D("12000.00"))
    contract_payment_update(contract_payment=payment, data={"amount": D("11000.00")})
    with pytest.raises(ValidationError) as error:
        contract_payment_update(contract_payment=payment, data={"amount": D("12000.01")})
    assert messages(error) == {
        "amount": [
            "The payments of contract uni-2024 would sum to 12,000.01 USD, 0.01 USD over its total "
            "value of 12,000.00 USD."
        ]
    }


@pytest.mark.django_db
@pytest.mark.parametrize("amount", [D("0.00"), D("-1.00")])
def test_a_payment_must_be_more_than_zero(amount):
    contract = ServiceContractFactory()
    with pytest.raises(ValidationError) as error:
        contract_payment_create(contract=contract, due_on=dt.date(2024, 1, 1), amount=amount)
    assert f"A payment must be more than 0.00, not {amount}." in messages(error)["amount"]


@pytest.mark.django_db
def test_a_payment_names_an_unknown_contract():
    with pytest.raises(ValidationError) as error:
        contract_payment_create(contract="nope", due_on=dt.date(2024, 1, 1), amount=D("1.00"))
    assert messages(error) == {"contract": ["No contract with reference 'nope'."]}


@pytest.mark.django_db
def test_a_set_of_payments_edited_together_is_checked_as_a_whole():
    contract = ServiceContractFactory(reference="uni-2024", total_value=D("1000.00"))
    first = ContractPaymentFactory(contract=contract, amount=D("500.00"))
    second = ContractPaymentFactory(contract=contract, amount=D("500.00"))
    # Moving 200.00 from one payment to the other keeps the total.
    contract_payments_validate(
        contract=contract, amounts=[D("300.00"), D("700.00")], replacing=[first.pk, second.pk]
    )
    with pytest.raises(ValidationError) as error:
        contract_payments_validate(contract=contract, amounts=[D("600.00")], replacing=[first.pk])
    assert messages(error) == {
        "amount": [
            "The payments of contract uni-2024 would sum to 1,100.00 USD, 100.00 USD over its total "
            "value of 1,000.00 USD."
        ]
    }


# --- schedules -------------------------------------------------------------------------------


def test_an_upfront_plan_is_one_payment_on_the_first_day():
    assert schedule_dates(start_on=dt.date(2024, 1, 1), end_on=dt.date(2024, 12, 31), plan="upfront") == [
        dt.date(2024, 1, 1)
    ]


def test_a_monthly_plan_has_one_payment_per_month_started_within_the_term():
    dates = schedule_dates(start_on=dt.date(2024, 1, 15), end_on=dt.date(2025, 1, 14), plan="monthly")
    assert len(dates) == 12
    assert dates[0] == dt.date(2024, 1, 15)
    assert dates[-1] == dt.date(2024, 12, 15)


def test_monthly_dates_come_back_to_the_31st_after_a_short_month():
    dates = schedule_dates(start_on=dt.date(2024, 1, 31), end_on=dt.date(2024, 4, 30), plan="monthly")
    assert dates == [dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 31)]


def test_quarterly_and_annual_plans_over_two_years():
    start, end = dt.date(2024, 1, 1), dt.date(2025, 12, 31)
    assert len(schedule_dates(start_on=start, end_on=end, plan="quarterly")) == 8
    assert schedule_dates(start_on=start, end_on=end, plan="annual") == [
        dt.date(2024, 1, 1),
        dt.date(2025, 1, 1),
    ]


def test_a_first_due_date_shifts_the_whole_schedule():
    dates = schedule_dates(
        start_on=dt.date(2024, 1, 1),
        end_on=dt.date(2024, 12, 31),
        plan="quarterly",
        first_due_on=dt.date(2024, 2, 15),
    )
    assert dates == [dt.date(2024, 2, 15), dt.date(2024, 5, 15), dt.date(2024, 8, 15), dt.date(2024, 11, 15)]


def test_the_rounding_cent_goes_on_the_last_payment():
    assert split_amount(D("1000.00"), 3) == [D("333.33"), D("333.33"), D("333.34")]
    assert split_amount(D("2000.00"), 3) == [D("666.66"), D("666.66"), D("666.68")]


@settings(max_examples=200, deadline=None)
@given(
    total=st.decimals(min_value=D("0.01"), max_value=D("999999999.99"), places=2),
    count=st.integers(min_value=1, max_value=120),
)
def test_a_split_always_sums_exactly_and_only_the_last_payment_differs(total, count):
    amounts = split_amount(total, count)
    assert len(amounts) == count
    assert sum(amounts) == total
    assert len(set(amounts[:-1])) <= 1
    assert all(amount == amount.quantize(D("0.01")) for amount in amounts)
    assert amounts[-1] >= amounts[0]


@pytest.mark.django_db
def test_a_monthly_schedule_sums_exactly_to_the_contract_value():
    contract = ServiceContractFactory(total_value=D("10000.00"))
    payments = contract_schedule_create(contract=contract, plan=BillingPlan.MONTHLY)
    amounts = [payment.amount for payment in payments]
    assert amounts == [D("833.33")] * 11 + [D("833.37")]
    assert sum(amounts) == D("10000.00")
    assert [p.due_on for p in payments][:3] == [dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1)]
    assert ContractPayment.objects.filter(contract=contract).count() == 12
    assert payments[0].history.count() == 1


@pytest.mark.django_db
def test_a_schedule_is_refused_when_payments_exist():
    contract = ServiceContractFactory(reference="uni-2024")
    ContractPaymentFactory(contract=contract)
    with pytest.raises(ValidationError) as error:
        contract_schedule_create(contract=contract, plan="quarterly")
    assert messages(error) == {
        "payments": ["Contract uni-2024 already has 1 payment; delete them before creating a schedule."]
    }
    assert contract.payments.count() == 1


@pytest.mark.django_db
def test_a_schedule_needs_a_known_plan():
    with pytest.raises(ValidationError) as error:
        contract_schedule_create(contract=ServiceContractFactory(), plan="weekly")
    assert messages(error) == {
        "plan": ["'weekly' is not a billing plan; choose one of upfront, monthly, quarterly, annual."]
    }


@pytest.mark.django_db
def test_a_schedule_is_refused_when_the_value_is_too_small_to_split():
    contract = ServiceContractFactory(reference="tiny", total_value=D("0.05"))
    with pytest.raises(ValidationError) as error:
        contract_schedule_create(contract=contract, plan="monthly")
    assert messages(error) == {
        "total_value": [
            "The total value of contract tiny, 0.05 USD, is too small for 12 monthly payments of at least 0.01."
        ]
    }
    assert not contract.payments.exists()


# transaction=True: two threads need real commits. No serialized_rollback: it re-inserts
# content types into a database that still has them; conftest restores migration data instead.
@pytest.mark.django_db(transaction=True)
def test_two_payments_added_at_once_cannot_both_fit_under_the_total():
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serializes writers by itself")
    contract = ServiceContractFactory(reference="race", total_value=D("1000.00"))
    both_inside = threading.Barrier(2)
    outcomes: list[str] = []

    def add_payment() -> None:
        try:
            with transaction.atomic():
                both_inside.wait(timeout=5)
                contract_payment_create(contract="race", due_on=dt.date(2024, 1, 1), amount=D("600.00"))
                # Hold the lock a moment: without it the other would read the same sum now.
                time.sleep(0.3)
            outcomes.append("added")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=add_payment) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert sorted(outcomes) == ["added", "refused"]
    assert contract.payments.count() == 1
