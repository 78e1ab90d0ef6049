"""factory_boy factories of the funding app: valid rows by default, deterministic per sequence."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from funding.choices import (
    AdjustmentKind,
    AdjustmentRecurrence,
    BudgetCategory,
    ExpenseCategory,
    FunderKind,
    FunderReportKind,
    GrantCategory,
    GrantRole,
    GrantStatus,
    Pipeline,
    Recurrence,
)
from funding.models import (
    CashPosition,
    Disbursement,
    ExchangeRate,
    Expense,
    Funder,
    FunderReport,
    Grant,
    GrantBudgetLine,
    RunwaySnapshot,
    Scenario,
    ScenarioAdjustment,
    StaffAllocation,
    Subaward,
    SubawardPayment,
)


class FunderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Funder
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"funder-{n}")
    name = factory.Sequence(lambda n: f"Funder {n} Foundation")
    kind = FunderKind.FOUNDATION


class GrantFactory(factory.django.DjangoModelFactory):
    """An awarded sole grant of 100,000.00 over 2024."""

    class Meta:
        model = Grant
        django_get_or_create = ("reference",)

    reference = factory.Sequence(lambda n: f"grant-{n}")
    funder = factory.SubFactory(FunderFactory)
    title = factory.Sequence(lambda n: f"Open infrastructure grant {n}")
    category = GrantCategory.DIRECT_GRANT
    role = GrantRole.SOLE
    status = GrantStatus.AWARDED
    probability = 100
    amount = Decimal("100000.00")
    currency = "USD"
    awarded_on = dt.date(2023, 12, 1)
    start_on = dt.date(2024, 1, 1)
    end_on = dt.date(2024, 12, 31)
    restricted = False

    class Params:
        prime = factory.Trait(role=GrantRole.PRIME)
        prospect = factory.Trait(status=GrantStatus.PROSPECT, awarded_on=None, probability=50)


class SubawardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subaward
        django_get_or_create = ("reference",)

    reference = factory.Sequence(lambda n: f"subaward-{n}")
    grant = factory.SubFactory(GrantFactory, prime=True)
    recipient = factory.Sequence(lambda n: f"Partner University {n}")
    amount = Decimal("20000.00")
    start_on = dt.date(2024, 1, 1)
    end_on = dt.date(2024, 12, 31)


class DisbursementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Disbursement

    grant = factory.SubFactory(GrantFactory)
    expected_on = factory.Sequence(lambda n: dt.date(2024, 1, 1) + dt.timedelta(days=30 * (n % 12)))
    amount = Decimal("10000.00")
    received_on = None


class SubawardPaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SubawardPayment

    subaward = factory.SubFactory(SubawardFactory)
    due_on = factory.Sequence(lambda n: dt.date(2024, 1, 15) + dt.timedelta(days=30 * (n % 12)))
    amount = Decimal("1000.00")
    paid_on = None


class CashPositionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CashPosition
        django_get_or_create = ("as_of",)

    as_of = factory.Sequence(lambda n: dt.date(2024, 1, 31) + dt.timedelta(days=n))
    balance = Decimal("1850000.00")
    currency = "USD"
    note = "From the books"


class ExpenseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Expense

    name = factory.Sequence(lambda n: f"Cloud bill {n}")
    category = ExpenseCategory.CLOUD
    amount = Decimal("2500.00")
    currency = "USD"
    recurrence = Recurrence.MONTHLY
    start_on = dt.date(2024, 1, 1)
    end_on = None


class ExchangeRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExchangeRate
        django_get_or_create = ("currency", "effective_on")

    currency = "EUR"
    effective_on = factory.Sequence(lambda n: dt.date(2024, 1, 1) + dt.timedelta(days=n))
    rate = Decimal("1.08000000")


class ScenarioFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Scenario
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"scenario-{n}")
    name = factory.Sequence(lambda n: f"Scenario {n}")
    pipeline = Pipeline.WEIGHTED
    reserve = Decimal("0.00")
    horizon_months = 60
    is_default = False


class ScenarioAdjustmentFactory(factory.django.DjangoModelFactory):
    """An inflow once; traits for the other kinds."""

    class Meta:
        model = ScenarioAdjustment

    scenario = factory.SubFactory(ScenarioFactory)
    kind = AdjustmentKind.INFLOW
    label = factory.Sequence(lambda n: f"What-if {n}")
    amount = Decimal("50000.00")
    benefits_rate = Decimal("0")
    recurrence = AdjustmentRecurrence.ONCE
    start_on = dt.date(2024, 6, 1)
    end_on = None
    grant = None
    months = None

    class Params:
        hire = factory.Trait(
            kind=AdjustmentKind.HIRE,
            amount=Decimal("120000.00"),
            benefits_rate=Decimal("0.2500"),
            recurrence=AdjustmentRecurrence.ANNUAL_SALARY,
        )
        delay = factory.Trait(
            kind=AdjustmentKind.DELAY,
            amount=Decimal("0.00"),
            grant=factory.SubFactory(GrantFactory),
            months=3,
        )


class RunwaySnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RunwaySnapshot

    scenario = factory.SubFactory(ScenarioFactory)
    as_of = dt.date(2024, 10, 31)
    computed_at = factory.LazyFunction(timezone.now)
    months = Decimal("11.40")
    cash_out_on = dt.date(2025, 10, 12)
    result = factory.LazyFunction(lambda: {"months": "11.40", "periods": []})


class GrantBudgetLineFactory(factory.django.DjangoModelFactory):
    """A personnel line of 60,000.00 on a 100,000.00 grant."""

    class Meta:
        model = GrantBudgetLine

    grant = factory.SubFactory(GrantFactory)
    category = BudgetCategory.PERSONNEL
    amount = Decimal("60000.00")


class StaffAllocationFactory(factory.django.DjangoModelFactory):
    """Half of a person's payroll charged to a grant over the grant's dates."""

    class Meta:
        model = StaffAllocation

    staff = factory.SubFactory("staff.tests.factories.StaffMemberFactory")
    grant = factory.SubFactory(GrantFactory)
    share = Decimal("0.500")
    start_on = factory.LazyAttribute(lambda o: o.grant.start_on)
    end_on = factory.LazyAttribute(lambda o: o.grant.end_on)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"owner-{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")


class FunderReportFactory(factory.django.DjangoModelFactory):
    """An interim report on the first half of 2024, due 30 days after it."""

    class Meta:
        model = FunderReport

    grant = factory.SubFactory(GrantFactory)
    kind = FunderReportKind.INTERIM
    period_start = dt.date(2024, 1, 1)
    period_end = dt.date(2024, 6, 30)
    due_on = dt.date(2024, 7, 30)
    owner = factory.SubFactory(UserFactory)
    submitted_on = None
