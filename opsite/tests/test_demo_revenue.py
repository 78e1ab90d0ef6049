"""The demo's revenue realism (docs/definitions.md "Revenue realism"): contracts priced on usage,
cloud bills passed through, a contract and a grant behind every collection flag, and the fiscal
sponsor the demo organization pays (15% of its revenue from 2025, as the embedded default's fee).

The demo is loaded for ``DEMO_TODAY`` (its cash position is on 2026-11-30, as it is for
``make run`` in December 2026), under the test settings' fee of 0, except where a test says
otherwise: the demo writes the same rows whatever the setting, which only changes the runway the
site computes from them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import transaction
from django.test import override_settings

from contracts.models import ContractPayment, ServiceContract, UsageFeeTier
from contracts.usage_fees import monthly_usage_fees
from funding.collection import FlagCode, RecordKind, collection_flags
from funding.models import CashPosition, Disbursement, ExchangeRate, Expense, Grant, Scenario
from funding.runway.engine import project
from funding.runway.indicators import fee_on
from funding.runway.loader import load_inputs
from opsite.demo import later, ledger
from opsite.demo.communities import community_specs
from opsite.demo.contracts import contract_plans
from opsite.demo.dates import month_ends
from opsite.demo.forecasts import FORECAST_SCENARIOS, keep_books
from opsite.demo.ledger import DEMO_FISCAL_SPONSOR_FEE, month_net
from opsite.demo.loader import DEMO_TODAY, demo_load
from opsite.demo.people import team
from opsite.tests.shared_rows import loaded_demo
from opsite.tests.test_demo import content_fingerprints

ROOT = Path(__file__).resolve().parents[2]
END_2024 = date(2024, 12, 31)
# The demo's cash position for DEMO_TODAY: the collection flags' date A.
END = date(2026, 11, 30)
PIPELINE = {"proposed", "prospect", "submitted"}


@pytest.fixture(scope="class")
def demo(django_db_setup, django_db_blocker):
    """The demo, loaded once for a class of tests and rolled back after it."""
    with loaded_demo(django_db_blocker):
        yield


def whole_hundreds(amount: Decimal) -> bool:
    return amount % 100 == 0


@pytest.mark.usefixtures("demo", "db")
class TestDemoRevenue:
    def test_every_collection_flag_is_raised_by_a_contract_and_by_a_grant_on_the_cash_position(self):
        assert CashPosition.objects.latest("as_of").as_of == END
        flags = collection_flags()
        assert {flag.as_of for flag in flags} == {END}
        raised = {(flag.flag, flag.kind) for flag in flags}
        assert raised == {(flag, kind) for flag in FlagCode.values for kind in RecordKind.values}
        for flag in flags:
            assert (flag.status in PIPELINE) is (flag.flag == FlagCode.PAST_CLOSE), flag
        # A handful of records to chase, not a mess: most of the books are in order.
        assert len({(flag.kind, flag.key) for flag in flags}) <= 10

    def test_the_flags_have_ordinary_causes_after_the_history(self):
        flags = collection_flags()
        flagged = {(flag.flag, flag.kind): flag for flag in flags}
        # The history's own: a development contract whose last milestone was never entered.
        assert flagged["schedule_incomplete", "contract"].key == "dev-2023-course-tools"
        for (code, _kind), flag in flagged.items():
            if code != FlagCode.SCHEDULE_INCOMPLETE and flag.key != "dev-2023-course-tools":
                assert flag.start_on > END_2024, flag
        # The late payer: an invoice open more than 30 days, on a contract otherwise being paid.
        helpdesk = ServiceContract.objects.get(reference="support-2026-helpdesk")
        assert helpdesk.payments.filter(paid_on__isnull=False).exists()
        assert helpdesk.reference in {flag.key for flag in flags if flag.flag == FlagCode.OVERDUE}
        # A renewal still proposed after its term began, and an application its funder decides late.
        past_close = flagged["past_close", "contract"]
        assert past_close.key.startswith("hs-") and past_close.start_on < END
        assert Grant.objects.get(reference=flagged["past_close", "grant"].key).status == "submitted"
        # A grant whose last disbursement, due after the final report, has not come.
        ended = Grant.objects.get(reference=flagged["ended_uncollected", "grant"].key)
        last = ended.disbursements.order_by("expected_on").last()
        assert last.received_on is None and last.expected_on > ended.end_on

    def test_a_few_hub_service_renewals_are_priced_on_the_default_schedule(self):
        priced = ServiceContract.objects.filter(usage_fee_schedule__slug=later.USAGE_SCHEDULE)
        assert 3 <= priced.count() <= 5
        assert set(priced.values_list("category", flat=True)) == {"hub_service"}
        assert not priced.filter(start_on__lte=END_2024).exists()
        assert ServiceContract.objects.filter(usage_fee_schedule__isnull=False).count() == priced.count()
        # A platform fee for the fixed part, paid in full, like any other term.
        for contract in priced.filter(status="signed"):
            payments = ContractPayment.objects.filter(contract=contract)
            assert sum(p.amount for p in payments) == contract.total_value

    def test_the_usage_priced_contracts_earn_usage_fees_that_the_runway_expects(self):
        fees = monthly_usage_fees(through=END)
        signed = set(
            ServiceContract.objects.filter(usage_fee_schedule__isnull=False, status="signed").values_list(
                "reference", flat=True
            )
        )
        assert {month.reference for month in fees if month.fee > 0} == signed
        assert all(month.billable_users > 0 for month in fees)
        base = project(load_inputs(scenario=Scenario.objects.get(slug="base")))
        assert sum(period.in_by_source["usage_fees"] for period in base.periods[:12]) > 0

    def test_the_demo_prices_usage_as_the_contracts_app_does(self):
        # The demo works the fees out before it writes a row (its runway history counts them);
        # the contracts app reads them from the rows: the two agree month by month.
        plans = contract_plans(community_specs(END), END)
        worked_out = {
            (plan.reference, day): fee
            for plan in plans
            if plan.usage_schedule
            for day, fee in plan.usage_fees.items()
        }
        assert worked_out
        assert worked_out == {
            (month.reference, month.month_end): month.fee for month in monthly_usage_fees(through=END)
        }
        tiers = UsageFeeTier.objects.filter(schedule__slug=later.USAGE_SCHEDULE)
        assert list(tiers.values_list("up_to", "unit_price")) == [
            (up_to, Decimal(price)) for up_to, price in later.USAGE_TIERS
        ]

    def test_cloud_bills_are_passed_through_at_cost(self):
        cloud = ServiceContract.objects.filter(category="cloud")
        assert not cloud.filter(start_on__lte=END_2024).exists()
        signed = cloud.filter(status="signed")
        assert signed.count() >= 2
        for contract in signed:
            amounts = [payment.amount for payment in contract.payments.all()]
            assert len(amounts) == 12 and sum(amounts) == contract.total_value
            # A cloud bill is never a round figure that a salary could equal.
            assert not any(whole_hundreds(amount) for amount in amounts)
            cost = Expense.objects.get(category="cloud", name__contains=contract.reference)
            assert (cost.amount, cost.start_on, cost.end_on) == (
                amounts[0],
                contract.start_on,
                contract.end_on,
            )

    def test_the_funders_who_pay_late_grant_amounts_that_are_never_round_figures(self):
        grants = Grant.objects.filter(reference__regex=r"^(lakeshore-school-hubs|northfield-lab-pilot)-")
        assert grants.count() >= 4
        assert not any(whole_hundreds(grant.amount) for grant in grants)
        # The pilot's last 10% is on no schedule until its final report is accepted.
        pilot = grants.get(reference="northfield-lab-pilot-2026")
        scheduled = sum(row.amount for row in pilot.disbursements.all())
        assert scheduled == pilot.amount - (pilot.amount / 10).quantize(Decimal("0.01"))

    @pytest.mark.parametrize("fee", ["0", str(DEMO_FISCAL_SPONSOR_FEE)])
    def test_the_base_runway_is_between_12_and_24_months_with_or_without_the_fee(self, fee):
        # As the tests' settings compute it (0), and as ``make run`` serves it (the embedded
        # default's 0.15): the same rows either way (test_the_demo_writes_the_same_rows_...).
        with override_settings(OPSITE_FISCAL_SPONSOR_FEE=fee):
            runways = {
                slug: project(load_inputs(scenario=Scenario.objects.get(slug=slug)))
                for slug in FORECAST_SCENARIOS
            }
        base = runways["base"]
        assert base.as_of == END
        assert Decimal(12) <= base.months <= Decimal(24)
        assert runways["committed"].months < base.months
        assert runways["full"].months is None or runways["full"].months > base.months
        assert (base.periods[0].out_by_source["fiscal_sponsor_fee"] > 0) is (fee != "0")

    def test_the_sponsor_is_paid_a_flat_fee_through_2024_and_its_percentage_after(self):
        # Never both: the flat fee ends as the percentage starts, and no runway counts it after.
        flat = Expense.objects.get(name=later.FLAT_FEE)
        assert (flat.start_on, flat.end_on) == (date(2021, 1, 1), END_2024)
        inputs = load_inputs(scenario=Scenario.objects.get(slug="base"))
        assert later.FLAT_FEE not in {expense.name for expense in inputs.expenses}

    def test_from_2025_the_bank_balance_pays_the_sponsor_its_fee_on_the_receipts_subject_to_it(
        self, monkeypatch
    ):
        # Worked out from the written rows: each month's payments of contracts other than cloud
        # ones, usage fees and grant disbursements; the bank kept 15% of them less.
        books, _ = keep_books(team(END), contract_plans(community_specs(END), END), END)
        usage = {(row.reference, row.month_end): row.fee for row in monthly_usage_fees(through=END)}
        signed = dict(ServiceContract.objects.filter(status="signed").values_list("reference", "signed_on"))
        for month in month_ends(date(2025, 1, 1), END):
            first = month.replace(day=1)
            payments = ContractPayment.objects.filter(paid_on__range=(first, month)).exclude(
                contract__category="cloud"
            )
            subject = sum((payment.amount for payment in payments), Decimal(0))
            subject += sum(
                (
                    fee
                    for (reference, day), fee in usage.items()
                    if day == month and signed[reference] <= month
                ),
                Decimal(0),
            )
            for row in Disbursement.objects.filter(received_on__range=(first, month)).select_related("grant"):
                rate = Decimal(1)
                if row.grant.currency != "USD":
                    rate = (
                        ExchangeRate.objects.filter(
                            currency=row.grant.currency, effective_on__lte=row.received_on
                        )
                        .latest("effective_on")
                        .rate
                    )
                subject += row.amount * rate
            with_fee = month_net(books, month)
            monkeypatch.setattr(ledger, "DEMO_FISCAL_SPONSOR_FEE", Decimal(0))
            without = month_net(books, month)
            monkeypatch.undo()
            assert subject > 0, month
            assert without - with_fee == fee_on(DEMO_FISCAL_SPONSOR_FEE, subject), month
        cash = CashPosition.objects.filter(as_of__gt=END_2024).order_by("as_of")
        assert [row.balance for row in cash] == [books.cash[row.as_of] for row in cash]


@pytest.mark.django_db
def test_the_demo_writes_the_same_rows_whatever_the_fiscal_sponsor_fee_setting():
    # The demo organization pays its sponsor 15%, whatever the site's setting: its books, the
    # applications it made when its runway ran short and its forecast history do not move.
    fingerprints = {}
    for fee in ("0", str(DEMO_FISCAL_SPONSOR_FEE), "0.3"):
        with override_settings(OPSITE_FISCAL_SPONSOR_FEE=fee), transaction.atomic():
            demo_load(today=DEMO_TODAY)
            fingerprints[fee] = content_fingerprints()
            transaction.set_rollback(True)
    first, *others = fingerprints.values()
    assert all(other == first for other in others)


def settings_probe(module: str, **env: str) -> subprocess.CompletedProcess:
    """The fee a fresh interpreter reads with settings ``module`` and only ``env`` set."""
    base = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "SYSTEMROOT") if key in os.environ}
    probe = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.OPSITE_FISCAL_SPONSOR_FEE)"
    )
    return subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": module, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("module", "env", "fee"),
    [
        ("opsite.settings.local", {}, str(DEMO_FISCAL_SPONSOR_FEE)),
        ("opsite.settings.local", {"OPSITE_FISCAL_SPONSOR_FEE": "0"}, "0"),
        ("opsite.settings.local", {"OPSITE_FISCAL_SPONSOR_FEE": "0.08"}, "0.08"),
        ("opsite.settings.test", {}, "0"),
    ],
)
def test_the_embedded_default_gives_the_demo_a_fee_of_0_15_unless_the_environment_sets_one(module, env, fee):
    result = settings_probe(module, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == fee


def test_the_embedded_default_refuses_a_bad_fee_at_start_up():
    result = settings_probe("opsite.settings.local", OPSITE_FISCAL_SPONSOR_FEE="15%")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "OPSITE_FISCAL_SPONSOR_FEE" in result.stderr
