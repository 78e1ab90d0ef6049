"""The database holds the rules it can: each constraint is tried with a row that breaks it.

Rows are written with ``save()`` (no ``full_clean``), so it is the database that refuses them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from funding.models import Scenario

from .factories import (
    CashPositionFactory,
    DisbursementFactory,
    ExchangeRateFactory,
    ExpenseFactory,
    FunderFactory,
    GrantFactory,
    RunwaySnapshotFactory,
    ScenarioAdjustmentFactory,
    ScenarioFactory,
    SubawardFactory,
    SubawardPaymentFactory,
)

pytestmark = pytest.mark.django_db


def refused(factory, **fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        factory(**fields)


def test_funder_slug_is_unique():
    FunderFactory(slug="sloan")
    refused(FunderFactory._meta.model.objects.create, slug="sloan", name="Other", kind="foundation")


def test_grant_reference_is_unique():
    grant = GrantFactory(reference="nsf-1")
    refused(
        GrantFactory._meta.model.objects.create,
        reference="nsf-1",
        funder=grant.funder,
        title="Again",
        category="direct_grant",
        amount=Decimal("1.00"),
        start_on=dt.date(2024, 1, 1),
        end_on=dt.date(2024, 2, 1),
    )


def test_grant_probability_above_100_is_refused():
    refused(GrantFactory, probability=101)


def test_grant_negative_probability_is_refused():
    refused(GrantFactory, probability=-1)


def test_grant_ending_before_it_starts_is_refused():
    refused(GrantFactory, start_on=dt.date(2024, 6, 1), end_on=dt.date(2024, 5, 31))


def test_grant_negative_amount_is_refused():
    refused(GrantFactory, amount=Decimal("-1.00"))


@pytest.mark.parametrize("status", ["awarded", "closed"])
def test_awarded_or_closed_grant_without_award_date_is_refused(status):
    refused(GrantFactory, status=status, awarded_on=None)


def test_prospect_grant_without_award_date_is_accepted():
    assert GrantFactory(prospect=True).awarded_on is None


def test_subaward_reference_is_unique():
    SubawardFactory(reference="sub-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        SubawardFactory._meta.model.objects.create(
            reference="sub-1",
            grant=GrantFactory(prime=True),
            recipient="Other",
            amount=Decimal("1.00"),
            start_on=dt.date(2024, 1, 1),
            end_on=dt.date(2024, 1, 2),
        )


def test_subaward_ending_before_it_starts_is_refused():
    refused(SubawardFactory, start_on=dt.date(2024, 6, 1), end_on=dt.date(2024, 5, 31))


def test_subaward_negative_amount_is_refused():
    refused(SubawardFactory, amount=Decimal("-0.01"))


def test_a_grant_with_subawards_cannot_be_deleted():
    subaward = SubawardFactory()
    with pytest.raises(ProtectedError):
        subaward.grant.delete()


def test_a_funder_with_grants_cannot_be_deleted():
    grant = GrantFactory()
    with pytest.raises(ProtectedError):
        grant.funder.delete()


@pytest.mark.parametrize("amount", [Decimal("0.00"), Decimal("-5.00")])
def test_disbursement_amount_must_be_positive(amount):
    refused(DisbursementFactory, amount=amount)


@pytest.mark.parametrize("amount", [Decimal("0.00"), Decimal("-5.00")])
def test_subaward_payment_amount_must_be_positive(amount):
    refused(SubawardPaymentFactory, amount=amount)


def test_cash_position_date_is_unique():
    CashPositionFactory(as_of=dt.date(2024, 10, 31))
    with pytest.raises(IntegrityError), transaction.atomic():
        CashPositionFactory._meta.model.objects.create(as_of=dt.date(2024, 10, 31), balance=Decimal("1.00"))


def test_cash_position_balance_may_be_negative():
    assert CashPositionFactory(balance=Decimal("-100.00")).balance == Decimal("-100.00")


def test_expense_ending_before_it_starts_is_refused():
    refused(ExpenseFactory, start_on=dt.date(2024, 6, 1), end_on=dt.date(2024, 5, 31))


def test_exchange_rate_is_unique_per_currency_and_date():
    ExchangeRateFactory(currency="EUR", effective_on=dt.date(2024, 1, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        ExchangeRateFactory._meta.model.objects.create(
            currency="EUR", effective_on=dt.date(2024, 1, 1), rate=Decimal("1.1")
        )


@pytest.mark.parametrize("rate", [Decimal("0"), Decimal("-1.5")])
def test_exchange_rate_must_be_positive(rate):
    refused(ExchangeRateFactory, rate=rate)


def test_only_one_scenario_may_be_the_default():
    ScenarioFactory(is_default=True)
    refused(ScenarioFactory, is_default=True)


def test_many_scenarios_may_be_non_default():
    ScenarioFactory(is_default=False)
    ScenarioFactory(is_default=False)
    assert Scenario.objects.filter(is_default=False).count() == 2


@pytest.mark.parametrize("months", [0, 121])
def test_scenario_horizon_is_1_to_120_months(months):
    refused(ScenarioFactory, horizon_months=months)


def test_scenario_slug_is_unique():
    ScenarioFactory(slug="base")
    with pytest.raises(IntegrityError), transaction.atomic():
        Scenario.objects.create(slug="base", name="Again")


def test_adjustment_ending_before_it_starts_is_refused():
    refused(ScenarioAdjustmentFactory, start_on=dt.date(2024, 6, 1), end_on=dt.date(2024, 5, 31))


def test_delay_without_grant_is_refused():
    refused(ScenarioAdjustmentFactory, kind="delay", grant=None, months=3)


def test_delay_without_months_is_refused():
    refused(ScenarioAdjustmentFactory, delay=True, months=None)


def test_models_read_as_their_natural_keys():
    assert str(GrantFactory(reference="nsf-9")) == "nsf-9"
    assert str(SubawardFactory(reference="sub-9")) == "sub-9"
    assert str(CashPositionFactory(as_of=dt.date(2024, 10, 31))) == "Cash as of 2024-10-31"
    disbursement = DisbursementFactory(grant__reference="g-9", expected_on=dt.date(2024, 3, 1))
    assert str(disbursement) == "g-9 expected 2024-03-01"
    snapshot = RunwaySnapshotFactory(scenario__slug="base", months=Decimal("11.40"))
    assert str(snapshot) == "base as of 2024-10-31: 11.40 months"
