"""The runway loader: from database rows to the engine's inputs (docs/definitions.md "Runway")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contracts.tests.factories import ContractPaymentFactory, ServiceContractFactory
from funding.currency import MissingExchangeRate
from funding.models import Scenario
from funding.runway import Adjustment, Employment, Flow, PayLine, Thresholds, project
from funding.runway.loader import NoCashPosition, load_inputs, load_records
from staff.tests.factories import CompensationFactory, StaffMemberFactory

from .factories import (
    CashPositionFactory,
    DisbursementFactory,
    ExchangeRateFactory,
    ExpenseFactory,
    GrantFactory,
    ScenarioAdjustmentFactory,
    ScenarioFactory,
    SubawardFactory,
    SubawardPaymentFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
A = dt.date(2024, 10, 31)  # periods: Nov, Dec, Jan, ...
LOADER_QUERIES = 10  # cash, rates, contract payments, disbursements, subaward payments, expenses,
# staff, compensations, the usage-priced contracts (none here), the scenario's adjustments


@pytest.fixture
def cash():
    return CashPositionFactory(as_of=A, balance=D("100000.00"))


@pytest.fixture
def base() -> Scenario:
    return Scenario.objects.get(slug="base")


def flows_of(inputs, source: str) -> list[Flow]:
    return sorted(
        (flow for flow in inputs.flows if flow.source == source), key=lambda flow: (flow.on, flow.amount)
    )


def contract_payment(status: str, amount: str, due_on: dt.date, probability: int = 100, **extra):
    contract = ServiceContractFactory(
        status=status,
        probability=probability,
        signed_on=dt.date(2024, 1, 1) if status in ("signed", "terminated") else None,
        **extra,
    )
    return ContractPaymentFactory(contract=contract, amount=D(amount), due_on=due_on)


# --- the cash position ----------------------------------------------------------------------------


def test_the_runway_starts_from_the_latest_cash_position(base):
    CashPositionFactory(as_of=dt.date(2024, 9, 30), balance=D("90000.00"))
    CashPositionFactory(as_of=A, balance=D("100000.00"))

    inputs = load_inputs(scenario=base)

    assert inputs.as_of == A
    assert inputs.opening_balance == D("100000.00")


def test_an_earlier_cash_position_can_be_chosen_by_date(base):
    CashPositionFactory(as_of=dt.date(2024, 9, 30), balance=D("90000.00"))
    CashPositionFactory(as_of=A, balance=D("100000.00"))

    inputs = load_inputs(scenario=base, as_of_cash=dt.date(2024, 10, 15))

    assert (inputs.as_of, inputs.opening_balance) == (dt.date(2024, 9, 30), D("90000.00"))


def test_without_a_cash_position_loading_fails_with_a_message_saying_what_to_add(base):
    with pytest.raises(NoCashPosition) as raised:
        load_inputs(scenario=base)

    assert "No cash position is recorded" in str(raised.value)
    assert "add a cash position" in str(raised.value)


def test_a_balance_in_another_currency_converts_at_the_rate_on_the_cash_date(base):
    ExchangeRateFactory(currency="EUR", effective_on=dt.date(2024, 1, 1), rate=D("1.10"))
    CashPositionFactory(as_of=A, balance=D("100000.00"), currency="EUR")

    assert load_inputs(scenario=base).opening_balance == D("110000.00")


# --- which rows count -----------------------------------------------------------------------------


def test_contract_payments_count_by_contract_status(cash, base):
    contract_payment("signed", "1000.00", dt.date(2024, 11, 15))
    contract_payment("proposed", "2000.00", dt.date(2024, 11, 16), probability=40)
    contract_payment("declined", "3000.00", dt.date(2024, 11, 17), probability=10)
    contract_payment("terminated", "4000.00", dt.date(2024, 11, 18))

    flows = flows_of(load_inputs(scenario=base), "contracts")

    assert [(flow.amount, flow.pipeline_probability, flow.direction) for flow in flows] == [
        (D("1000.00"), None, "in"),
        (D("2000.00"), D(40), "in"),
    ]


def test_disbursements_count_by_grant_status_and_name_their_grant(cash, base):
    statuses = {"awarded": 100, "closed": 100, "prospect": 30, "submitted": 60, "declined": 20}
    for n, (grant_status, probability) in enumerate(statuses.items()):
        grant = GrantFactory(
            reference=f"g-{grant_status}",
            status=grant_status,
            probability=probability,
            awarded_on=dt.date(2024, 1, 1) if grant_status in ("awarded", "closed") else None,
        )
        DisbursementFactory(grant=grant, amount=D(1000 + n), expected_on=dt.date(2024, 12, 1))

    flows = flows_of(load_inputs(scenario=base), "grants")

    assert {(flow.grant_ref, flow.pipeline_probability) for flow in flows} == {
        ("g-awarded", None),
        ("g-closed", None),
        ("g-prospect", D(30)),
        ("g-submitted", D(60)),
    }
    assert all(flow.direction == "in" and not flow.settled for flow in flows)


def test_subaward_payments_are_money_out_committed_or_pipeline_like_their_grant(cash, base):
    awarded = SubawardFactory(grant=GrantFactory(prime=True))
    prospect = SubawardFactory(grant=GrantFactory(prime=True, prospect=True, probability=25))
    declined = SubawardFactory(grant=GrantFactory(prime=True, status="declined", awarded_on=None))
    SubawardPaymentFactory(subaward=awarded, amount=D("500.00"), due_on=dt.date(2024, 12, 1))
    SubawardPaymentFactory(subaward=prospect, amount=D("600.00"), due_on=dt.date(2024, 12, 2))
    SubawardPaymentFactory(subaward=declined, amount=D("700.00"), due_on=dt.date(2024, 12, 3))

    flows = flows_of(load_inputs(scenario=base), "subawards")

    assert [(flow.amount, flow.direction, flow.pipeline_probability) for flow in flows] == [
        (D("500.00"), "out", None),
        (D("600.00"), "out", D(25)),
    ]


def test_rows_settled_on_or_before_the_cash_date_are_left_out_and_later_ones_dated_by_settlement(cash, base):
    contract = ServiceContractFactory()
    ContractPaymentFactory(contract=contract, amount=D("1.00"), due_on=A, paid_on=A)
    ContractPaymentFactory(contract=contract, amount=D("2.00"), due_on=A, paid_on=dt.date(2024, 11, 5))
    ContractPaymentFactory(contract=contract, amount=D("3.00"), due_on=dt.date(2024, 9, 1), paid_on=None)
    grant = GrantFactory()
    DisbursementFactory(grant=grant, amount=D("4.00"), expected_on=A, received_on=dt.date(2024, 10, 1))
    DisbursementFactory(grant=grant, amount=D("5.00"), expected_on=A, received_on=dt.date(2024, 11, 2))

    inputs = load_inputs(scenario=base)

    assert [(f.amount, f.on, f.settled) for f in flows_of(inputs, "contracts")] == [
        (D("3.00"), dt.date(2024, 9, 1), False),  # overdue, still to come: lands in period 1
        (D("2.00"), dt.date(2024, 11, 5), True),
    ]
    assert [(f.amount, f.on, f.settled) for f in flows_of(inputs, "grants")] == [
        (D("5.00"), dt.date(2024, 11, 2), True)
    ]
    assert project(inputs).periods[0].in_by_source["contracts"] == D("5.00")


def test_expenses_over_or_once_before_the_cash_date_are_left_out(cash, base):
    ExpenseFactory(name="ended", amount=D("10.00"), start_on=dt.date(2024, 1, 1), end_on=A)
    ExpenseFactory(name="once, past", amount=D("20.00"), recurrence="once", start_on=A)
    ExpenseFactory(name="once, ahead", amount=D("30.00"), recurrence="once", start_on=dt.date(2024, 12, 5))
    ExpenseFactory(name="running", amount=D("40.00"), start_on=dt.date(2024, 1, 1), end_on=None)

    expenses = load_inputs(scenario=base).expenses

    assert sorted((e.name, e.recurrence, e.amount) for e in expenses) == [
        ("once, ahead", "once", D("30.00")),
        ("running", "monthly", D("40.00")),
    ]


def test_payroll_comes_from_staff_spans_and_compensations_superseded_before_the_cash_date_drop(cash, base):
    ada = StaffMemberFactory(slug="ada", start_on=dt.date(2020, 1, 1), end_on=dt.date(2025, 6, 30))
    CompensationFactory(staff=ada, effective_on=dt.date(2020, 1, 1), annual_salary=D("90000.00"))
    CompensationFactory(staff=ada, effective_on=dt.date(2024, 1, 1), annual_salary=D("100000.00"))
    CompensationFactory(staff=ada, effective_on=dt.date(2025, 1, 1), annual_salary=D("110000.00"))
    gone = StaffMemberFactory(slug="gone", start_on=dt.date(2020, 1, 1), end_on=A)
    CompensationFactory(staff=gone, effective_on=dt.date(2020, 1, 1))

    inputs = load_inputs(scenario=base)

    assert inputs.employments == (
        Employment(person="ada", start_on=dt.date(2020, 1, 1), end_on=dt.date(2025, 6, 30)),
    )
    assert [(line.person, line.effective_on, line.annual_salary) for line in inputs.pay_lines] == [
        ("ada", dt.date(2024, 1, 1), D("100000.00")),
        ("ada", dt.date(2025, 1, 1), D("110000.00")),
    ]


def test_a_part_time_salary_is_what_is_paid_and_is_not_multiplied_by_fte_again(cash, base):
    half = StaffMemberFactory(fte=D("0.50"), employment="part_time", start_on=dt.date(2020, 1, 1))
    CompensationFactory(staff=half, effective_on=dt.date(2020, 1, 1), annual_salary=D("60000.00"))

    result = project(load_inputs(scenario=base))

    # 60,000 a year with 25% benefits: 75,000 / 12 a month, whatever the FTE.
    assert result.periods[0].out_by_source["payroll"] == D("6250.00")


# --- currencies -----------------------------------------------------------------------------------


def test_amounts_in_another_currency_convert_at_the_rate_in_effect_on_the_flow_date(cash, base):
    ExchangeRateFactory(currency="EUR", effective_on=dt.date(2024, 1, 1), rate=D("1.10"))
    ExchangeRateFactory(currency="EUR", effective_on=dt.date(2025, 1, 1), rate=D("1.20"))
    contract = ServiceContractFactory(currency="EUR")
    ContractPaymentFactory(contract=contract, amount=D("1000.00"), due_on=dt.date(2024, 12, 31))
    ContractPaymentFactory(contract=contract, amount=D("1000.00"), due_on=dt.date(2025, 1, 1))
    grant = GrantFactory(currency="EUR")
    DisbursementFactory(grant=grant, amount=D("10.00"), expected_on=dt.date(2025, 3, 1))

    inputs = load_inputs(scenario=base)

    assert [flow.amount for flow in flows_of(inputs, "contracts")] == [D("1100.00"), D("1200.00")]
    assert [flow.amount for flow in flows_of(inputs, "grants")] == [D("12.00")]


def test_a_salary_in_another_currency_is_cut_where_the_rate_changes(cash, base):
    ExchangeRateFactory(currency="EUR", effective_on=dt.date(2023, 6, 1), rate=D("1.00"))
    ExchangeRateFactory(currency="EUR", effective_on=dt.date(2024, 6, 1), rate=D("1.10"))
    ExchangeRateFactory(currency="EUR", effective_on=dt.date(2025, 1, 1), rate=D("1.20"))
    person = StaffMemberFactory(slug="eu", start_on=dt.date(2024, 1, 1))
    CompensationFactory(
        staff=person, effective_on=dt.date(2024, 1, 1), annual_salary=D("120000.00"), currency="EUR"
    )

    inputs = load_inputs(scenario=base)

    # The rate of 2024-06-01 is the one in effect on the first day still to come (Nov 1).
    assert inputs.pay_lines == (
        PayLine(
            person="eu",
            effective_on=dt.date(2024, 1, 1),
            annual_salary=D("132000.00"),
            benefits_rate=D("0.25"),
        ),
        PayLine(
            person="eu",
            effective_on=dt.date(2025, 1, 1),
            annual_salary=D("144000.00"),
            benefits_rate=D("0.25"),
        ),
    )


def test_a_monthly_expense_in_another_currency_is_cut_where_the_rate_changes(cash, base):
    ExchangeRateFactory(currency="EUR", effective_on=dt.date(2024, 1, 1), rate=D("1.10"))
    ExchangeRateFactory(currency="EUR", effective_on=dt.date(2025, 1, 1), rate=D("1.20"))
    ExpenseFactory(name="eu cloud", amount=D("100.00"), currency="EUR", start_on=dt.date(2024, 3, 1))

    expenses = load_inputs(scenario=base).expenses

    assert [(e.start_on, e.end_on, e.amount) for e in expenses] == [
        (dt.date(2024, 3, 1), dt.date(2024, 12, 31), D("110.00")),
        (dt.date(2025, 1, 1), None, D("120.00")),
    ]
    periods = project(load_inputs(scenario=base)).periods
    assert [period.out_by_source["expenses"] for period in periods[:3]] == [
        D("110.00"),
        D("110.00"),
        D("120.00"),
    ]


def test_a_missing_rate_fails_naming_the_currency_and_the_date(cash, base):
    ExchangeRateFactory(currency="EUR", effective_on=dt.date(2025, 1, 1), rate=D("1.20"))
    contract = ServiceContractFactory(currency="EUR")
    ContractPaymentFactory(contract=contract, amount=D("1000.00"), due_on=dt.date(2024, 11, 15))

    with pytest.raises(MissingExchangeRate) as raised:
        load_inputs(scenario=base)

    assert raised.value.currency == "EUR"
    assert raised.value.on == dt.date(2024, 11, 15)
    assert "EUR" in str(raised.value) and "2024-11-15" in str(raised.value)


def test_a_currency_with_no_rate_at_all_is_an_error_not_a_rate_of_one(cash, base):
    grant = GrantFactory(currency="CHF")
    DisbursementFactory(grant=grant, amount=D("10.00"), expected_on=dt.date(2025, 3, 1))

    with pytest.raises(MissingExchangeRate, match=r"CHF.*2025-03-01"):
        load_inputs(scenario=base)


# --- the scenario -----------------------------------------------------------------------------------


def test_the_scenario_gives_its_parameters_adjustments_and_the_settings_the_thresholds(cash, settings):
    settings.OPSITE_RUNWAY_THRESHOLDS = {"cost_coverage": {"yellow": "0.90"}}
    scenario = ScenarioFactory(pipeline="full", reserve=D("5000.00"), horizon_months=24)
    grant = GrantFactory(reference="nsf-1")
    ScenarioAdjustmentFactory(scenario=scenario, delay=True, grant=grant, months=2, label="late", start_on=A)
    ScenarioAdjustmentFactory(
        scenario=scenario, hire=True, label="new engineer", start_on=dt.date(2025, 1, 1)
    )
    ScenarioAdjustmentFactory(label="another scenario's")

    inputs = load_inputs(scenario=scenario)

    assert (inputs.params.pipeline, inputs.params.reserve, inputs.params.horizon_months) == (
        "full",
        D("5000.00"),
        24,
    )
    assert inputs.thresholds == Thresholds.from_dict({"cost_coverage": {"yellow": "0.90"}})
    assert inputs.adjustments == (
        Adjustment(kind="delay", label="late", start_on=A, recurrence="once", grant_ref="nsf-1", months=2),
        Adjustment(
            kind="hire",
            label="new engineer",
            start_on=dt.date(2025, 1, 1),
            amount=D("120000.00"),
            benefits_rate=D("0.25"),
            recurrence="annual_salary",
        ),
    )


def test_extra_adjustments_are_added_and_saved_ones_can_be_left_out(cash):
    scenario = ScenarioFactory()
    kept = ScenarioAdjustmentFactory(scenario=scenario, label="kept")
    dropped = ScenarioAdjustmentFactory(scenario=scenario, label="dropped")
    extra = Adjustment(kind="outflow", label="extra", start_on=dt.date(2025, 1, 1), amount=D("1.00"))

    inputs = load_inputs(scenario=scenario, extra_adjustments=[extra], without_adjustments={dropped.pk})

    assert [adjustment.label for adjustment in inputs.adjustments] == [kept.label, "extra"]


# --- end to end -------------------------------------------------------------------------------------


def test_end_to_end_each_pipeline_reads_the_same_rows_differently(cash):
    person = StaffMemberFactory(start_on=dt.date(2022, 1, 1))
    CompensationFactory(staff=person, effective_on=dt.date(2022, 1, 1), annual_salary=D("120000.00"))
    ExpenseFactory(amount=D("2500.00"), start_on=dt.date(2024, 1, 1))
    contract_payment("signed", "40000.00", dt.date(2024, 11, 15))
    contract_payment("proposed", "10000.00", dt.date(2024, 11, 20), probability=50)

    first = {
        slug: project(load_inputs(scenario=Scenario.objects.get(slug=slug))).periods[0]
        for slug in ("committed", "base", "full")
    }

    assert {slug: period.in_ for slug, period in first.items()} == {
        "committed": D("40000.00"),
        "base": D("45000.00"),
        "full": D("50000.00"),
    }
    for period in first.values():
        assert period.opening == D("100000.00")
        assert period.out_by_source["payroll"] == D("12500.00")  # 120,000 * 1.25 / 12
        assert period.out_by_source["expenses"] == D("2500.00")
        assert period.closing == period.opening + period.in_ - period.out


# --- cost -------------------------------------------------------------------------------------------


def _rows(n: int, offset: int) -> None:
    """``n`` of everything the loader reads, some of it in euros."""
    for i in range(offset, offset + n):
        currency = "EUR" if i % 3 == 0 else "USD"
        contract = ServiceContractFactory(
            reference=f"c-{i}",
            status="proposed" if i % 2 else "signed",
            probability=50,
            signed_on=None if i % 2 else dt.date(2024, 1, 1),
            currency=currency,
            community__slug=f"community-q{i}",
        )
        ContractPaymentFactory(contract=contract, amount=D("100.00"), due_on=dt.date(2025, 1, 15))
        ContractPaymentFactory(
            contract=contract, amount=D("100.00"), due_on=dt.date(2024, 9, 15), paid_on=dt.date(2024, 11, 2)
        )
        grant = GrantFactory(reference=f"g-{i}", prime=True, currency=currency, funder__slug=f"funder-q{i}")
        DisbursementFactory(grant=grant, amount=D("50.00"), expected_on=dt.date(2025, 2, 1))
        subaward = SubawardFactory(reference=f"s-{i}", grant=grant)
        SubawardPaymentFactory(subaward=subaward, amount=D("10.00"), due_on=dt.date(2025, 3, 1))
        person = StaffMemberFactory(slug=f"p-{i}", github=f"p-{i}", start_on=dt.date(2023, 1, 1))
        CompensationFactory(staff=person, effective_on=dt.date(2023, 1, 1), currency=currency)
        CompensationFactory(staff=person, effective_on=dt.date(2025, 1, 1), currency=currency)
        ExpenseFactory(amount=D("20.00"), currency=currency, start_on=dt.date(2024, 1, 1))


def test_loading_takes_the_same_queries_for_3_or_30_of_everything(cash, base, django_assert_num_queries):
    ExchangeRateFactory(currency="EUR", effective_on=dt.date(2020, 1, 1), rate=D("1.10"))
    ExchangeRateFactory(currency="EUR", effective_on=dt.date(2025, 1, 1), rate=D("1.20"))
    ScenarioAdjustmentFactory(scenario=base, delay=True, grant=GrantFactory(), start_on=A)

    _rows(3, 0)
    with CaptureQueriesContext(connection) as few:
        few_inputs = load_inputs(scenario=base)
    _rows(27, 3)
    with django_assert_num_queries(LOADER_QUERIES):
        many_inputs = load_inputs(scenario=base)

    assert len(few.captured_queries) == LOADER_QUERIES
    # The rows really were read: ten times the flows, people and expenses.
    assert len(many_inputs.flows) == 10 * len(few_inputs.flows) > 0
    assert len(many_inputs.pay_lines) == 10 * len(few_inputs.pay_lines) > 0
    assert len(many_inputs.employments) == 30


def test_records_are_loaded_once_for_any_number_of_scenarios(cash, django_assert_num_queries):
    _rows(2, 0)
    ExchangeRateFactory(currency="EUR", effective_on=dt.date(2020, 1, 1), rate=D("1.10"))

    with django_assert_num_queries(LOADER_QUERIES - 1):  # everything but the adjustments
        records = load_records()

    assert records.as_of == A and len(records.flows) == 2 * 4
