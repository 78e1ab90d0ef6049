"""Every rule of funding.services, with the field it lands on and its exact message."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from funding import services
from funding.models import (
    CashPosition,
    Disbursement,
    Grant,
    RunwaySnapshot,
    Scenario,
    Subaward,
    SubawardPayment,
)

from .factories import (
    CashPositionFactory,
    DisbursementFactory,
    ExchangeRateFactory,
    ExpenseFactory,
    FunderFactory,
    GrantFactory,
    ScenarioAdjustmentFactory,
    ScenarioFactory,
    SubawardFactory,
    SubawardPaymentFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal


def errors_of(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


# --- grants ---------------------------------------------------------------------------------------


def test_grant_create_saves_a_valid_grant_in_the_reporting_currency():
    funder = FunderFactory()
    grant = services.grant_create(
        reference="nsf-2024",
        funder=funder,
        title="Open infrastructure",
        category="direct_grant",
        amount=D("250000.00"),
        start_on=dt.date(2024, 1, 1),
        end_on=dt.date(2025, 12, 31),
    )
    grant.refresh_from_db()
    assert (grant.currency, grant.status, grant.role, grant.amount) == (
        "USD",
        "prospect",
        "sole",
        D("250000.00"),
    )


def test_awarded_grant_needs_its_award_date():
    with pytest.raises(ValidationError) as excinfo:
        services.grant_create(
            reference="g",
            funder=FunderFactory(),
            title="t",
            category="donation",
            amount=D("1.00"),
            start_on=dt.date(2024, 1, 1),
            end_on=dt.date(2024, 1, 2),
            status="awarded",
        )
    assert errors_of(excinfo) == {
        "awarded_on": ["A grant with status 'awarded' needs the date it was awarded."]
    }
    assert not Grant.objects.exists()


def test_closed_grant_needs_its_award_date_too():
    grant = GrantFactory()
    with pytest.raises(ValidationError) as excinfo:
        services.grant_update(grant=grant, data={"status": "closed", "awarded_on": None})
    assert errors_of(excinfo) == {
        "awarded_on": ["A grant with status 'closed' needs the date it was awarded."]
    }


@pytest.mark.parametrize("probability", [101, 250])
def test_grant_probability_is_a_percentage(probability):
    grant = GrantFactory()
    with pytest.raises(ValidationError) as excinfo:
        services.grant_update(grant=grant, data={"probability": probability})
    assert errors_of(excinfo)["probability"] == [
        f"Probability is a percentage from 0 to 100; got {probability}."
    ]


def test_grant_ending_before_it_starts_is_refused_on_its_end_date():
    grant = GrantFactory()
    with pytest.raises(ValidationError) as excinfo:
        services.grant_update(grant=grant, data={"end_on": dt.date(2023, 12, 31)})
    assert errors_of(excinfo) == {"end_on": ["The end date 2023-12-31 is before the start date 2024-01-01."]}


def test_lowering_a_grant_below_its_subawards_is_refused():
    subaward = SubawardFactory(grant__reference="nsf-1", grant__amount=D("100000.00"), amount=D("60000.00"))
    with pytest.raises(ValidationError) as excinfo:
        services.grant_update(grant=subaward.grant, data={"amount": D("50000.00")})
    assert errors_of(excinfo) == {
        "amount": [
            "Amount 50,000.00 USD is below the 60,000.00 USD of subawards of grant nsf-1 "
            "(by 10,000.00 USD); lower the subawards first."
        ]
    }
    subaward.grant.refresh_from_db()
    assert subaward.grant.amount == D("100000.00")


def test_lowering_a_grant_below_its_disbursements_is_refused():
    grant = GrantFactory(reference="nsf-2", amount=D("100000.00"))
    DisbursementFactory(grant=grant, amount=D("40000.00"))
    DisbursementFactory(grant=grant, amount=D("40000.00"))
    with pytest.raises(ValidationError) as excinfo:
        services.grant_update(grant=grant, data={"amount": D("70000.00")})
    assert errors_of(excinfo) == {
        "amount": [
            "Amount 70,000.00 USD is below the 80,000.00 USD of disbursements of grant nsf-2 "
            "(by 10,000.00 USD); lower the disbursements first."
        ]
    }


def test_lowering_a_grant_to_exactly_what_hangs_off_it_is_accepted():
    grant = GrantFactory(amount=D("100000.00"))
    DisbursementFactory(grant=grant, amount=D("80000.00"))
    services.grant_update(grant=grant, data={"amount": D("80000.00")})
    grant.refresh_from_db()
    assert grant.amount == D("80000.00")


def test_a_grant_with_subawards_must_stay_prime():
    subaward = SubawardFactory(grant__reference="nsf-3")
    with pytest.raises(ValidationError) as excinfo:
        services.grant_update(grant=subaward.grant, data={"role": "sole"})
    assert errors_of(excinfo) == {
        "role": [
            "Grant nsf-3 has 1 subaward(s), and only a prime grant passes subawards on; "
            "its role cannot be 'sole'."
        ]
    }


def test_grant_update_refuses_unknown_fields():
    with pytest.raises(TypeError, match="created_at"):
        services.grant_update(grant=GrantFactory(), data={"created_at": None})


def test_grant_update_writes_history():
    grant = GrantFactory()
    services.grant_update(grant=grant, data={"title": "Renamed"})
    assert grant.history.first().title == "Renamed"


def test_money_with_three_places_is_refused_not_rounded():
    grant = GrantFactory()
    with pytest.raises(ValidationError) as excinfo:
        services.grant_update(grant=grant, data={"amount": D("100.005")})
    assert "amount" in errors_of(excinfo)
    grant.refresh_from_db()
    assert grant.amount == D("100000.00")


# --- subawards ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["sole", "subrecipient"])
def test_subaward_goes_only_under_a_prime_grant(role):
    grant = GrantFactory(reference="sole-1", role=role)
    with pytest.raises(ValidationError) as excinfo:
        services.subaward_create(
            reference="s",
            grant=grant,
            recipient="Partner",
            amount=D("1.00"),
            start_on=dt.date(2024, 1, 1),
            end_on=dt.date(2024, 2, 1),
        )
    assert errors_of(excinfo) == {
        "grant": [f"Subawards go only under a prime grant; grant sole-1 has role '{role}'."]
    }
    assert not Subaward.objects.exists()


def test_subawards_never_sum_past_the_grant():
    grant = GrantFactory(reference="prime-1", prime=True, amount=D("100000.00"))
    SubawardFactory(grant=grant, amount=D("70000.00"))
    with pytest.raises(ValidationError) as excinfo:
        services.subaward_create(
            reference="s2",
            grant=grant,
            recipient="Partner",
            amount=D("30000.01"),
            start_on=dt.date(2024, 1, 1),
            end_on=dt.date(2024, 2, 1),
        )
    assert errors_of(excinfo) == {
        "amount": [
            "The subawards of grant prime-1 would sum to 100,000.01 USD, past its amount "
            "100,000.00 USD by 0.01 USD."
        ]
    }


def test_subawards_may_sum_to_exactly_the_grant():
    grant = GrantFactory(prime=True, amount=D("100000.00"))
    SubawardFactory(grant=grant, amount=D("70000.00"))
    subaward = services.subaward_create(
        reference="s3",
        grant=grant,
        recipient="Partner",
        amount=D("30000.00"),
        start_on=dt.date(2024, 1, 1),
        end_on=dt.date(2024, 2, 1),
    )
    assert subaward.pk is not None


def test_raising_a_subaward_counts_the_others_but_not_itself():
    grant = GrantFactory(reference="prime-2", prime=True, amount=D("100000.00"))
    SubawardFactory(grant=grant, amount=D("50000.00"))
    subaward = SubawardFactory(grant=grant, amount=D("40000.00"))
    services.subaward_update(subaward=subaward, data={"amount": D("50000.00")})
    with pytest.raises(ValidationError) as excinfo:
        services.subaward_update(subaward=subaward, data={"amount": D("50000.50")})
    assert errors_of(excinfo)["amount"] == [
        "The subawards of grant prime-2 would sum to 100,000.50 USD, past its amount 100,000.00 USD by 0.50 USD."
    ]


def test_lowering_a_subaward_below_its_payments_is_refused():
    payment = SubawardPaymentFactory(
        subaward__reference="sub-7", subaward__amount=D("20000.00"), amount=D("5000.00")
    )
    with pytest.raises(ValidationError) as excinfo:
        services.subaward_update(subaward=payment.subaward, data={"amount": D("4000.00")})
    assert errors_of(excinfo) == {
        "amount": [
            "Amount 4,000.00 USD is below the 5,000.00 USD of payments of subaward sub-7 (by 1,000.00 USD); "
            "lower the payments first."
        ]
    }


def test_subaward_ending_before_it_starts_is_refused_on_its_end_date():
    subaward = SubawardFactory()
    with pytest.raises(ValidationError) as excinfo:
        services.subaward_update(subaward=subaward, data={"end_on": dt.date(2023, 1, 1)})
    assert errors_of(excinfo) == {"end_on": ["The end date 2023-01-01 is before the start date 2024-01-01."]}


# --- disbursements and payments -------------------------------------------------------------------


def test_disbursements_never_sum_past_the_grant():
    grant = GrantFactory(reference="nsf-5", amount=D("100000.00"), currency="EUR")
    services.disbursement_create(grant=grant, expected_on=dt.date(2024, 1, 1), amount=D("60000.00"))
    with pytest.raises(ValidationError) as excinfo:
        services.disbursement_create(grant=grant, expected_on=dt.date(2024, 7, 1), amount=D("45000.00"))
    assert errors_of(excinfo) == {
        "amount": [
            "The disbursements of grant nsf-5 would sum to 105,000.00 EUR, past its amount "
            "100,000.00 EUR by 5,000.00 EUR."
        ]
    }
    assert Disbursement.objects.count() == 1


def test_changing_a_disbursement_does_not_count_it_twice():
    disbursement = DisbursementFactory(grant__amount=D("100000.00"), amount=D("100000.00"))
    services.disbursement_update(disbursement=disbursement, data={"received_on": dt.date(2024, 2, 1)})
    disbursement.refresh_from_db()
    assert disbursement.received_on == dt.date(2024, 2, 1)


def test_moving_a_disbursement_to_another_grant_checks_the_new_grant():
    full = GrantFactory(reference="full", amount=D("10000.00"))
    DisbursementFactory(grant=full, amount=D("10000.00"))
    disbursement = DisbursementFactory(amount=D("1.00"))
    with pytest.raises(ValidationError) as excinfo:
        services.disbursement_update(disbursement=disbursement, data={"grant": full})
    assert errors_of(excinfo)["amount"] == [
        "The disbursements of grant full would sum to 10,001.00 USD, past its amount 10,000.00 USD by 1.00 USD."
    ]


def test_subaward_payments_never_sum_past_the_subaward():
    subaward = SubawardFactory(reference="sub-1", amount=D("20000.00"))
    services.subaward_payment_create(subaward=subaward, due_on=dt.date(2024, 1, 15), amount=D("15000.00"))
    with pytest.raises(ValidationError) as excinfo:
        services.subaward_payment_create(subaward=subaward, due_on=dt.date(2024, 6, 15), amount=D("5000.01"))
    assert errors_of(excinfo) == {
        "amount": [
            "The payments of subaward sub-1 would sum to 20,000.01 USD, past its amount 20,000.00 USD by 0.01 USD."
        ]
    }
    assert SubawardPayment.objects.count() == 1


def test_subaward_payment_update_changes_the_payment():
    payment = SubawardPaymentFactory()
    services.subaward_payment_update(subaward_payment=payment, data={"paid_on": dt.date(2024, 3, 1)})
    payment.refresh_from_db()
    assert payment.paid_on == dt.date(2024, 3, 1)


# --- cash, expenses, rates ------------------------------------------------------------------------


def test_cash_position_must_be_in_the_reporting_currency():
    with pytest.raises(ValidationError) as excinfo:
        services.cash_position_create(as_of=dt.date(2024, 10, 31), balance=D("1000.00"), currency="EUR")
    assert errors_of(excinfo) == {
        "currency": ["Cash positions are kept in the reporting currency USD; got EUR."]
    }
    assert not CashPosition.objects.exists()


def test_cash_position_message_never_quotes_the_balance():
    with pytest.raises(ValidationError) as excinfo:
        services.cash_position_create(as_of=dt.date(2024, 10, 31), balance=D("987654.32"), currency="GBP")
    assert "987" not in str(excinfo.value)


@override_settings(OPSITE_CURRENCY="EUR")
def test_the_reporting_currency_is_a_setting():
    position = services.cash_position_create(as_of=dt.date(2024, 10, 31), balance=D("10.00"))
    assert position.currency == "EUR"


def test_cash_position_update_changes_the_note():
    position = CashPositionFactory()
    services.cash_position_update(cash_position=position, data={"note": "Reconciled"})
    position.refresh_from_db()
    assert position.note == "Reconciled"


def test_expense_ending_before_it_starts_is_refused_on_its_end_date():
    with pytest.raises(ValidationError) as excinfo:
        services.expense_create(
            name="Cloud",
            category="cloud",
            amount=D("10.00"),
            start_on=dt.date(2024, 2, 1),
            end_on=dt.date(2024, 1, 31),
        )
    assert errors_of(excinfo) == {"end_on": ["The end date 2024-01-31 is before the start date 2024-02-01."]}


def test_expense_update_changes_the_amount():
    expense = ExpenseFactory()
    services.expense_update(expense=expense, data={"amount": D("3000.00")})
    expense.refresh_from_db()
    assert expense.amount == D("3000.00")


def test_no_exchange_rate_for_the_reporting_currency():
    with pytest.raises(ValidationError) as excinfo:
        services.exchange_rate_create(currency="USD", effective_on=dt.date(2024, 1, 1), rate=D("1"))
    assert errors_of(excinfo) == {"currency": ["USD is the reporting currency: its rate is always 1."]}


def test_exchange_rate_must_be_above_zero():
    with pytest.raises(ValidationError) as excinfo:
        services.exchange_rate_create(currency="EUR", effective_on=dt.date(2024, 1, 1), rate=D("0"))
    assert errors_of(excinfo) == {"rate": ["A rate must be above 0; got 0."]}


def test_exchange_rate_update_changes_the_rate():
    rate = ExchangeRateFactory(rate=D("1.08"))
    services.exchange_rate_update(exchange_rate=rate, data={"rate": D("1.09")})
    rate.refresh_from_db()
    assert rate.rate == D("1.09")


# --- scenarios ------------------------------------------------------------------------------------


def test_the_first_scenario_becomes_the_default():
    scenario = services.scenario_create(slug="base", name="Base")
    assert scenario.is_default
    assert Scenario.objects.get(is_default=True) == scenario


def test_a_new_default_scenario_takes_over_from_the_old_one():
    base = services.scenario_create(slug="base", name="Base")
    lean = services.scenario_create(slug="lean", name="Lean", is_default=True)
    assert list(Scenario.objects.filter(is_default=True)) == [lean]
    base.refresh_from_db()
    assert not base.is_default


def test_a_second_scenario_is_not_the_default_unless_asked():
    services.scenario_create(slug="base", name="Base")
    lean = services.scenario_create(slug="lean", name="Lean")
    assert not lean.is_default


def test_set_default_leaves_exactly_one_default():
    base = ScenarioFactory(is_default=True)
    others = [ScenarioFactory() for _ in range(3)]
    services.scenario_set_default(scenario=others[1])
    assert list(Scenario.objects.filter(is_default=True)) == [others[1]]
    services.scenario_set_default(scenario=others[1])
    assert Scenario.objects.filter(is_default=True).count() == 1
    base.refresh_from_db()
    assert not base.is_default


def test_the_default_scenario_cannot_simply_be_unticked():
    base = services.scenario_create(slug="base", name="Base")
    with pytest.raises(ValidationError) as excinfo:
        services.scenario_update(scenario=base, data={"is_default": False})
    assert errors_of(excinfo) == {
        "is_default": [
            "Scenario base is the default; make another scenario the default instead, and this one stops being it."
        ]
    }
    assert Scenario.objects.get(slug="base").is_default


def test_scenario_update_ticking_default_switches_it():
    services.scenario_create(slug="base", name="Base")
    lean = services.scenario_create(slug="lean", name="Lean")
    services.scenario_update(scenario=lean, data={"is_default": True, "reserve": D("100000.00")})
    assert Scenario.objects.get(is_default=True).slug == "lean"
    assert Scenario.objects.get(slug="lean").reserve == D("100000.00")


def test_deleting_the_default_scenario_promotes_another():
    base = services.scenario_create(slug="base", name="Base")
    services.scenario_create(slug="lean", name="Lean")
    services.scenario_delete(scenario=base)
    assert Scenario.objects.get().is_default


def test_scenario_horizon_above_120_months_is_refused():
    with pytest.raises(ValidationError) as excinfo:
        services.scenario_create(slug="long", name="Long", horizon_months=121)
    assert list(errors_of(excinfo)) == ["horizon_months"]


# --- scenario adjustments -------------------------------------------------------------------------


def adjustment(**fields):
    base = {"scenario": ScenarioFactory(), "label": "What-if", "start_on": dt.date(2024, 6, 1)}
    return services.scenario_adjustment_create(**{**base, **fields})


def test_hire_defaults_to_annual_salary_recurrence():
    hire = adjustment(kind="hire", amount=D("120000.00"), benefits_rate=D("0.25"))
    assert hire.recurrence == "annual_salary"


@pytest.mark.parametrize("amount", [D("0.00"), D("-1.00")])
def test_hire_needs_a_positive_annual_salary(amount):
    with pytest.raises(ValidationError) as excinfo:
        adjustment(kind="hire", amount=amount)
    assert (
        errors_of(excinfo)["amount"][-1]
        == f"A hire needs its annual salary as a positive amount; got {amount}."
    )


@pytest.mark.parametrize("recurrence", ["once", "monthly"])
def test_hire_recurs_as_annual_salary(recurrence):
    with pytest.raises(ValidationError) as excinfo:
        adjustment(kind="hire", amount=D("90000.00"), recurrence=recurrence)
    assert errors_of(excinfo) == {
        "recurrence": [
            f"A hire recurs as 'annual_salary' (its amount is the annual salary); got '{recurrence}'."
        ]
    }


@pytest.mark.parametrize("kind", ["inflow", "outflow"])
def test_inflow_and_outflow_recur_once_or_monthly(kind):
    with pytest.raises(ValidationError) as excinfo:
        adjustment(kind=kind, amount=D("10.00"), recurrence="annual_salary")
    assert errors_of(excinfo) == {
        "recurrence": [f"An {kind} recurs 'once' or 'monthly'; got 'annual_salary'."]
    }


@pytest.mark.parametrize("recurrence", ["once", "monthly"])
def test_monthly_or_once_outflow_is_accepted(recurrence):
    assert adjustment(kind="outflow", amount=D("10.00"), recurrence=recurrence).pk


def test_delay_needs_a_grant():
    with pytest.raises(ValidationError) as excinfo:
        adjustment(kind="delay", months=2)
    assert errors_of(excinfo)["grant"] == ["A delay needs the grant whose disbursements it moves."]


@pytest.mark.parametrize("months", [None, 0])
def test_delay_needs_one_month_or_more(months):
    with pytest.raises(ValidationError) as excinfo:
        adjustment(kind="delay", grant=GrantFactory(), months=months)
    assert errors_of(excinfo)["months"] == [f"A delay moves disbursements by 1 month or more; got {months}."]


def test_delay_with_grant_and_months_is_accepted():
    delay = adjustment(kind="delay", grant=GrantFactory(), months=3)
    assert (delay.recurrence, delay.months) == ("once", 3)


def test_adjustment_update_revalidates():
    hire = ScenarioAdjustmentFactory(hire=True)
    with pytest.raises(ValidationError) as excinfo:
        services.scenario_adjustment_update(scenario_adjustment=hire, data={"recurrence": "monthly"})
    assert list(errors_of(excinfo)) == ["recurrence"]


# --- funders and snapshots ------------------------------------------------------------------------


def test_funder_create_and_update():
    funder = services.funder_create(slug="sloan", name="Sloan", kind="foundation")
    services.funder_update(funder=funder, data={"name": "Alfred P. Sloan Foundation"})
    funder.refresh_from_db()
    assert funder.name == "Alfred P. Sloan Foundation"


def test_funder_slug_must_be_unique():
    FunderFactory(slug="sloan")
    with pytest.raises(ValidationError) as excinfo:
        services.funder_create(slug="sloan", name="Again", kind="foundation")
    assert list(errors_of(excinfo)) == ["slug"]


def test_runway_snapshot_create_keeps_the_computation():
    scenario = ScenarioFactory()
    snapshot = services.runway_snapshot_create(
        scenario=scenario,
        as_of=dt.date(2024, 10, 31),
        months=None,
        cash_out_on=None,
        result={"months": None},
    )
    assert RunwaySnapshot.objects.get() == snapshot
    assert snapshot.computed_at is not None
