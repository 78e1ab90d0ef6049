"""Revenue realism read from the database (docs/definitions.md "Revenue realism"): the usage-fee
inflow of usage-priced contracts, the fiscal sponsor's fee setting, cloud contracts' exemption,
and the payments invoice collection reads."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from communities.tests.factories import ActiveUserCountFactory, CommunityFactory, HubFactory
from contracts.choices import ContractCategory, ContractStatus
from contracts.fee_schedules import usage_fee_schedule_create, usage_fee_tier_create
from contracts.models import UsageFeeSchedule
from contracts.tests.factories import ContractPaymentFactory, ServiceContractFactory
from funding.models import Scenario
from funding.runway import project
from funding.runway.loader import load_inputs, load_records
from funding.runway.revenue import last_complete_month_ends
from opsite.core.periods import month_end

from .factories import CashPositionFactory, ExchangeRateFactory
from .test_runway_loader import LOADER_QUERIES

pytestmark = pytest.mark.django_db

D = Decimal
A = dt.date(2024, 10, 31)  # periods: Nov, Dec, Jan, Feb, Mar, ...
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cash():
    return CashPositionFactory(as_of=A, balance=D("100000.00"))


def scenario(slug: str = "base") -> Scenario:
    return Scenario.objects.get(slug=slug)


def month_ends(first: dt.date, last: dt.date) -> list[dt.date]:
    ends, day = [], month_end(first)
    while day <= last:
        ends.append(day)
        day = month_end(day + dt.timedelta(days=1))
    return ends


def usage_priced(reference: str, users_by_month: dict[dt.date, int], **extra):
    """A contract on the default schedule whose community's one hub had ``users`` on each month end."""
    community = CommunityFactory(slug=f"community-{reference}")
    hub = HubFactory(slug=f"hub-{reference}", community=community, launched_on=dt.date(2022, 1, 1))
    for day, users in users_by_month.items():
        ActiveUserCountFactory(hub=hub, date=day, active_users=users)
    extra.setdefault("schedule", UsageFeeSchedule.objects.get(slug="mau-2024"))
    return ServiceContractFactory(
        reference=reference,
        community=community,
        start_on=extra.pop("start_on", dt.date(2023, 9, 1)),
        end_on=extra.pop("end_on", dt.date(2025, 3, 31)),
        usage_fee_schedule=extra.pop("schedule"),
        **extra,
    )


def usage_column(inputs, periods: int = 6) -> list[Decimal]:
    return [period.in_by_source["usage_fees"] for period in project(inputs).periods[:periods]]


# Fourteen complete months up to A: September and October 2023 at 1,000 users (2,800.00 each), then
# six months at 10 users (100.00) and six at 100 users (550.00).
HISTORY = {
    **dict.fromkeys(month_ends(dt.date(2023, 9, 1), dt.date(2023, 10, 31)), 1000),
    **dict.fromkeys(month_ends(dt.date(2023, 11, 1), dt.date(2024, 4, 30)), 10),
    **dict.fromkeys(month_ends(dt.date(2024, 5, 1), dt.date(2024, 10, 31)), 100),
}


def test_the_last_twelve_complete_months_end_on_as_of_or_the_month_before_it():
    assert last_complete_month_ends(dt.date(2024, 10, 31)) == (dt.date(2023, 11, 1), dt.date(2024, 10, 31))
    assert last_complete_month_ends(dt.date(2024, 10, 30)) == (dt.date(2023, 10, 1), dt.date(2024, 9, 30))


def test_a_usage_priced_contract_expects_the_mean_of_its_last_twelve_complete_months(cash):
    usage_priced("c-usage", HISTORY)

    inputs = load_inputs(scenario=scenario())

    # (6 x 100.00 + 6 x 550.00) / 12 = 325.00; the two older months at 2,800.00 are left out. It
    # lands on 30 November ... 31 March, the month ends of its term after A.
    assert usage_column(inputs) == [D("325.00")] * 5 + [D("0.00")]
    assert [period.committed_in for period in project(inputs).periods[:2]] == [D("325.00")] * 2


def test_a_contract_with_fewer_months_behind_it_takes_the_mean_of_those(cash):
    usage_priced(
        "c-young", {dt.date(2024, 9, 30): 10, dt.date(2024, 10, 31): 100}, start_on=dt.date(2024, 9, 1)
    )
    # (100.00 + 550.00) / 2
    assert usage_column(load_inputs(scenario=scenario()), 1) == [D("325.00")]


def test_a_month_it_was_active_without_billable_users_counts_as_a_fee_of_zero(cash):
    # Active all twelve months, users only in the last six (10 users: 100.00): 600.00 / 12.
    usage_priced("c-quiet", dict.fromkeys(month_ends(dt.date(2024, 5, 1), A), 10))
    assert usage_column(load_inputs(scenario=scenario()), 1) == [D("50.00")]


def test_a_contract_without_usage_history_expects_nothing(cash):
    usage_priced("c-new", {}, start_on=dt.date(2024, 10, 1))
    usage_priced("c-later", HISTORY, start_on=dt.date(2024, 11, 1))  # starts after A: no history of its own
    assert usage_column(load_inputs(scenario=scenario())) == [D("0.00")] * 6


@pytest.mark.parametrize(
    ("slug", "expected"), [("committed", "0.00"), ("base", "130.00"), ("full", "325.00")]
)
def test_a_proposed_contracts_usage_fee_is_weighted_by_its_probability(cash, slug, expected):
    usage_priced("c-proposed", HISTORY, status=ContractStatus.PROPOSED, probability=40, signed_on=None)
    inputs = load_inputs(scenario=scenario(slug))
    # 325.00 x 40% under the weighted base scenario.
    assert usage_column(inputs, 1) == [D(expected)]
    assert project(inputs).periods[0].weighted_in == D("130.00")


def test_declined_and_terminated_contracts_expect_no_usage_fee(cash):
    usage_priced("c-declined", HISTORY, status=ContractStatus.DECLINED, signed_on=None)
    usage_priced("c-terminated", HISTORY, status=ContractStatus.TERMINATED)
    assert load_records().usage_fees == ()


def test_a_usage_fee_in_another_currency_converts_at_the_rate_of_each_month_end(cash):
    ExchangeRateFactory(currency="EUR", effective_on=dt.date(2020, 1, 1), rate=D("1.10"))
    ExchangeRateFactory(currency="EUR", effective_on=dt.date(2025, 1, 1), rate=D("1.20"))
    euros = usage_fee_schedule_create(slug="per-user-eur", name="Per user (EUR)", currency="EUR")
    usage_fee_tier_create(schedule=euros, up_to=None, unit_price=D("2.00"))
    users = dict.fromkeys(month_ends(dt.date(2024, 5, 1), A), 50)
    usage_priced("c-eur", users, currency="EUR", schedule=euros, start_on=dt.date(2024, 5, 1))
    # 50 users x 2.00 EUR = 100.00 EUR a month: 110.00 in November and December, 120.00 from January.
    assert usage_column(load_inputs(scenario=scenario()), 5) == [D("110.00")] * 2 + [D("120.00")] * 3


@override_settings(OPSITE_FISCAL_SPONSOR_FEE="0.15")
def test_the_fee_setting_reaches_the_engine_and_cloud_contracts_are_exempt(cash):
    hub = ServiceContractFactory(reference="c-hub")
    cloud = ServiceContractFactory(reference="c-cloud", category=ContractCategory.CLOUD)
    ContractPaymentFactory(contract=hub, due_on=dt.date(2024, 11, 15), amount=D("10000.00"))
    ContractPaymentFactory(contract=cloud, due_on=dt.date(2024, 11, 15), amount=D("4000.00"))
    usage_priced("c-cloud-usage", HISTORY, category=ContractCategory.CLOUD)

    inputs = load_inputs(scenario=scenario())

    assert inputs.fiscal_sponsor_fee == D("0.15")
    assert {flow.amount: flow.fee_exempt for flow in inputs.flows} == {
        D("10000.00"): False,
        D("4000.00"): True,
    }
    assert [usage.fee_exempt for usage in inputs.usage_fees] == [True]
    period = project(inputs).periods[0]
    # 15% of the hub contract's 10,000 only: the cloud payment and the cloud usage fee are exempt.
    assert period.out_by_source["fiscal_sponsor_fee"] == D("1500.00")
    assert period.in_ == D("14325.00")


@pytest.mark.parametrize("fee", ["1", "-0.05", "fifteen", 1.5])
def test_a_fee_setting_outside_zero_to_one_is_refused_naming_it(cash, fee):
    with override_settings(OPSITE_FISCAL_SPONSOR_FEE=fee), pytest.raises(ImproperlyConfigured) as error:
        load_records()
    assert "OPSITE_FISCAL_SPONSOR_FEE" in str(error.value)


@pytest.mark.parametrize(("fee", "refused"), [("0.15", False), ("1", True), ("-0.1", True), ("15%", True)])
def test_the_settings_refuse_a_bad_fee_at_start_up(fee, refused):
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "SYSTEMROOT") if key in os.environ}
    env |= {"DJANGO_SETTINGS_MODULE": "opsite.settings.test", "OPSITE_FISCAL_SPONSOR_FEE": fee}
    probe = "import django; django.setup(); from django.conf import settings; print(settings.OPSITE_FISCAL_SPONSOR_FEE)"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    if refused:
        assert result.returncode != 0
        assert "ImproperlyConfigured" in result.stderr and "OPSITE_FISCAL_SPONSOR_FEE" in result.stderr
    else:
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == fee


def test_invoice_collection_reads_the_signed_contracts_payments_due_in_the_90_days_up_to_as_of(cash):
    signed = ServiceContractFactory(reference="c-signed", start_on=dt.date(2024, 1, 1))
    proposed = ServiceContractFactory(
        reference="c-proposed", status=ContractStatus.PROPOSED, probability=50, signed_on=None
    )
    pay = ContractPaymentFactory
    pay(
        contract=signed, due_on=dt.date(2024, 8, 3), amount=D("800.00"), paid_on=dt.date(2024, 8, 10)
    )  # first day
    pay(
        contract=signed, due_on=dt.date(2024, 10, 31), amount=D("150.00"), paid_on=dt.date(2024, 11, 5)
    )  # late
    pay(contract=signed, due_on=dt.date(2024, 10, 1), amount=D("50.00"))  # open
    pay(contract=signed, due_on=dt.date(2024, 8, 2), amount=D("9000.00"))  # the day before the window
    pay(contract=proposed, due_on=dt.date(2024, 10, 1), amount=D("9000.00"))  # not invoiced

    inputs = load_inputs(scenario=scenario())

    assert sorted((i.due_on, i.amount) for i in inputs.invoices) == [
        (dt.date(2024, 8, 3), D("800.00")),
        (dt.date(2024, 10, 1), D("50.00")),
        (dt.date(2024, 10, 31), D("150.00")),
    ]
    # The payment paid before A is read for collection only: it is in the bank already.
    assert D("800.00") not in {flow.amount for flow in inputs.flows}
    # 800 paid by A of 1,000 due: 0.80, yellow.
    indicator = project(inputs).indicators["invoice_collection"]
    assert (indicator.value, indicator.status) == (D("0.80"), "yellow")


def _usage_priced_contracts(count: int, offset: int) -> None:
    for index in range(offset, offset + count):
        users = dict.fromkeys(month_ends(dt.date(2024, 8, 1), A), 10 + index)
        usage_priced(f"c-q{index}", users, start_on=dt.date(2024, 8, 1))


def test_loading_usage_fees_takes_the_same_queries_for_3_or_30_contracts(cash, django_assert_num_queries):
    base = scenario()
    _usage_priced_contracts(3, 0)
    with CaptureQueriesContext(connection) as few:
        few_inputs = load_inputs(scenario=base)
    _usage_priced_contracts(27, 3)
    # The loader's ten, and for the usage fees: the contracts with their tiers (two), their
    # communities' hubs, and the 30d active users of the three month ends August-October (one).
    with django_assert_num_queries(LOADER_QUERIES + 4):
        many_inputs = load_inputs(scenario=base)

    assert len(few.captured_queries) == LOADER_QUERIES + 4
    assert len(few_inputs.usage_fees) == 3 and len(many_inputs.usage_fees) == 30
