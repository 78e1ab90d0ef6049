"""Budget vs actual (docs/definitions.md "Budget vs actual"): figures computed by hand here."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from funding.budget import budget_vs_actual, charges_by_grant, pace_outliers, spent_by_grant
from funding.choices import BudgetCategory, ExpenseCategory, GrantStatus, Recurrence
from funding.currency import MissingExchangeRate
from funding.models import Grant
from staff.tests.factories import CompensationFactory, StaffMemberFactory

from .factories import (
    ExchangeRateFactory,
    ExpenseFactory,
    GrantBudgetLineFactory,
    GrantFactory,
    StaffAllocationFactory,
    SubawardFactory,
    SubawardPaymentFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
day = dt.date
# Queries of budget_vs_actual, whatever the number of grants and rows: budget lines, exchange
# rates, allocations (joined to the person's employment), compensations of the people allocated,
# expenses, paid subaward payments.
BUDGET_QUERIES = 6
LONG_AGO = day(2021, 1, 4)


def cents(value: Decimal) -> Decimal:
    return value.quantize(D("0.01"), rounding=ROUND_HALF_UP)


def person(start_on=LONG_AGO, end_on=None, pay=()):
    """A person employed over ``start_on..end_on`` with compensations ``(effective_on, salary,
    benefits_rate[, currency])``."""
    member = StaffMemberFactory(start_on=start_on, end_on=end_on)
    for effective_on, salary, benefits, *currency in pay:
        CompensationFactory(
            staff=member,
            effective_on=effective_on,
            annual_salary=D(salary),
            benefits_rate=D(benefits),
            currency=currency[0] if currency else "USD",
        )
    return member


def only(budgets):
    (budget,) = budgets
    return budget


def line(budget, category):
    return next(figures for figures in budget.lines if figures.category == category)


def test_payroll_follows_a_raise_in_the_middle_of_a_month():
    grant = GrantFactory(start_on=day(2024, 1, 1), end_on=day(2024, 12, 31))
    GrantBudgetLineFactory(grant=grant, category=BudgetCategory.PERSONNEL, amount=D("24000.00"))
    member = person(pay=[(day(2024, 1, 1), "60000.00", "0.2"), (day(2024, 3, 16), "72000.00", "0.2")])
    StaffAllocationFactory(
        staff=member, grant=grant, share=D("0.5"), start_on=day(2024, 2, 1), end_on=day(2024, 4, 30)
    )

    budget = only(budget_vs_actual(grants=[grant], as_of=day(2024, 4, 30)))

    # Monthly cost: 60,000 x 1.2 / 12 = 6,000 until 15 March, 72,000 x 1.2 / 12 = 7,200 from 16 March.
    # February (whole month): 6,000 x 0.5 = 3,000.
    # March: (15 days x 6,000/31 + 16 days x 7,200/31) x 0.5 = (90,000 + 115,200) / 31 x 0.5
    #        = 102,600 / 31 = 3,309.677...
    # April (whole month): 7,200 x 0.5 = 3,600.
    spent = cents(D(3000) + D(102600) / D(31) + D(3600))
    assert spent == D("9909.68")
    personnel = line(budget, BudgetCategory.PERSONNEL)
    assert personnel.spent == spent
    assert personnel.remaining == D("24000.00") - spent == D("14090.32")
    # Elapsed: 1 Jan to 30 Apr 2024 = 31 + 29 + 31 + 30 = 121 of 366 days.
    # Pace: (9,909.68 / 24,000) / (121 / 366) = 9,909.68 x 366 / (24,000 x 121) = 1.2489...
    assert personnel.pace == D("1.25")
    assert budget.pace == D("1.25")
    assert budget.elapsed_share == D(121) / D(366)

    # Part of a month: as of 20 March, 15 days at the old pay and 5 at the new one.
    # 3,000 + (15 x 6,000 + 5 x 7,200) / 31 x 0.5 = 3,000 + 63,000 / 31 = 5,032.258...
    march_20 = spent_by_grant(grant_ids=[grant.pk], until=day(2024, 3, 20))
    assert march_20 == {grant.pk: {BudgetCategory.PERSONNEL: D("5032.26")}}


def test_payroll_is_charged_only_while_employed_and_paid():
    grant = GrantFactory(start_on=day(2024, 1, 1), end_on=day(2024, 12, 31))
    # Joins on 15 February (a leap year: February has 29 days), paid 60,000 (5,000 a month).
    joiner = person(start_on=day(2024, 2, 15), pay=[(day(2024, 2, 15), "60000.00", "0")])
    StaffAllocationFactory(
        staff=joiner, grant=grant, share=D("1"), start_on=day(2024, 1, 1), end_on=day(2024, 3, 31)
    )
    # Employed all along but with no compensation before March (nothing is charged in January
    # and February), 120,000 (10,000 a month) from 1 March, leaves on 15 May.
    leaver = person(
        start_on=day(2021, 1, 4), end_on=day(2024, 5, 15), pay=[(day(2024, 3, 1), "120000.00", "0")]
    )
    StaffAllocationFactory(
        staff=leaver, grant=grant, share=D("0.25"), start_on=day(2024, 1, 1), end_on=day(2024, 6, 30)
    )

    spent = spent_by_grant(grant_ids=[grant.pk], until=day(2024, 12, 31))

    # Joiner: 15 days of February (15..29) x 5,000/29, and March whole: 5,000.
    # Leaver: March and April whole, 2 x 2,500, and 15 days of May x 2,500/31.
    expected = cents(D(15) * D(5000) / D(29) + D(5000) + D(5000) + D(15) * D(2500) / D(31))
    assert expected == D("13795.88")
    assert spent == {grant.pk: {BudgetCategory.PERSONNEL: expected}}


def test_expenses_are_charged_as_they_recur_under_their_budget_category():
    grant = GrantFactory(start_on=day(2024, 1, 1), end_on=day(2024, 12, 31))
    GrantBudgetLineFactory(grant=grant, category=BudgetCategory.CLOUD, amount=D("36600.00"))
    # 3,100 a month from 10 January to 20 March.
    ExpenseFactory(
        grant=grant,
        category=ExpenseCategory.CLOUD,
        amount=D("3100.00"),
        recurrence=Recurrence.MONTHLY,
        start_on=day(2024, 1, 10),
        end_on=day(2024, 3, 20),
    )
    ExpenseFactory(
        grant=grant,
        category=ExpenseCategory.TRAVEL,
        amount=D("1500.00"),
        recurrence=Recurrence.ONCE,
        start_on=day(2024, 2, 5),
    )
    # Software and overhead have no budget category of their own: "other".
    ExpenseFactory(
        grant=grant,
        category=ExpenseCategory.SOFTWARE,
        amount=D("400.00"),
        recurrence=Recurrence.ONCE,
        start_on=day(2024, 2, 6),
    )
    ExpenseFactory(
        grant=grant,
        category=ExpenseCategory.OVERHEAD,
        amount=D("100.00"),
        recurrence=Recurrence.ONCE,
        start_on=day(2024, 3, 1),
    )
    # Not charged as of 31 March: a later one, and an expense of no grant.
    ExpenseFactory(
        grant=grant,
        category=ExpenseCategory.SERVICES,
        amount=D("900.00"),
        recurrence=Recurrence.ONCE,
        start_on=day(2024, 4, 1),
    )
    ExpenseFactory(grant=None, category=ExpenseCategory.CLOUD, amount=D("5000.00"), start_on=day(2024, 1, 1))

    budget = only(budget_vs_actual(grants=[grant], as_of=day(2024, 3, 31)))

    # Cloud: 22 days of January (10..31) x 3,100/31 = 2,200; February 3,100; 20 days of March
    # x 3,100/31 = 2,000. 7,300 in all.
    # Pace: (7,300 / 36,600) / (91 / 366) = 7,300 x 366 / (36,600 x 91) = 0.8021...
    assert [(f.category, f.budget, f.spent, f.remaining, f.pace) for f in budget.lines] == [
        (BudgetCategory.CLOUD, D("36600.00"), D("7300.00"), D("29300.00"), D("0.80")),
        (BudgetCategory.TRAVEL, D("0"), D("1500.00"), D("-1500.00"), None),
        (BudgetCategory.OTHER, D("0"), D("500.00"), D("-500.00"), None),
    ]
    assert all(type(figures.category) is str for figures in budget.lines)
    # The total: budget 36,600, spent 7,300 + 1,500 + 500 = 9,300;
    # pace 9,300 x 366 / (36,600 x 91) = 1.0219...
    assert (budget.total.category, budget.total.budget, budget.total.spent, budget.total.remaining) == (
        "total",
        D("36600.00"),
        D("9300.00"),
        D("27300.00"),
    )
    assert budget.total.pace == budget.pace == D("1.02")


def test_an_open_ended_monthly_expense_runs_up_to_the_day_asked_about():
    grant = GrantFactory()
    ExpenseFactory(grant=grant, amount=D("3000.00"), start_on=day(2024, 1, 1), end_on=None)

    # As of 15 February: January's 3,000 and 15 of February's 29 days.
    # As of 15 April: January to March, 9,000, and 15 of April's 30 days, 1,500.
    assert spent_by_grant(grant_ids=[grant.pk], until=day(2024, 2, 15)) == {
        grant.pk: {BudgetCategory.CLOUD: cents(D(3000) + D(15) * D(3000) / D(29))}
    }
    assert spent_by_grant(grant_ids=[grant.pk], until=day(2024, 4, 15)) == {
        grant.pk: {BudgetCategory.CLOUD: D("10500.00")}
    }


def test_only_paid_subaward_payments_are_spent_and_on_their_payment_day():
    grant = GrantFactory(prime=True)
    GrantBudgetLineFactory(grant=grant, category=BudgetCategory.SUBAWARDS, amount=D("20000.00"))
    subaward = SubawardFactory(grant=grant)
    SubawardPaymentFactory(
        subaward=subaward, due_on=day(2024, 1, 15), paid_on=day(2024, 2, 1), amount=D("5000")
    )
    SubawardPaymentFactory(subaward=subaward, due_on=day(2024, 2, 15), paid_on=None, amount=D("2000"))
    SubawardPaymentFactory(
        subaward=subaward, due_on=day(2024, 3, 15), paid_on=day(2024, 5, 1), amount=D("3000")
    )
    other = SubawardFactory(grant=GrantFactory(prime=True))
    SubawardPaymentFactory(subaward=other, paid_on=day(2024, 2, 1), amount=D("7000"))

    budget = only(budget_vs_actual(grants=[grant], as_of=day(2024, 3, 31)))

    subawards = line(budget, BudgetCategory.SUBAWARDS)
    assert (subawards.spent, subawards.remaining) == (D("5000.00"), D("15000.00"))
    # (5,000 / 20,000) / (91 / 366) = 5,000 x 366 / (20,000 x 91) = 1.0054...
    assert subawards.pace == D("1.01")
    assert spent_by_grant(grant_ids=[grant.pk], until=day(2024, 5, 1))[grant.pk] == {
        BudgetCategory.SUBAWARDS: D("8000.00")
    }


def test_a_grant_without_budget_lines_has_no_pace():
    grant = GrantFactory()
    ExpenseFactory(grant=grant, amount=D("100.00"), recurrence=Recurrence.ONCE, start_on=day(2024, 3, 1))

    budget = only(budget_vs_actual(grants=[grant], as_of=day(2024, 6, 30)))

    assert [(f.category, f.budget, f.spent, f.pace) for f in budget.lines] == [
        (BudgetCategory.CLOUD, D("0"), D("100.00"), None)
    ]
    assert budget.total.pace is None and budget.pace is None


def test_nothing_has_elapsed_before_the_grant_starts():
    grant = GrantFactory(start_on=day(2024, 7, 1), end_on=day(2024, 12, 31))
    GrantBudgetLineFactory(grant=grant, category=BudgetCategory.TRAVEL, amount=D("1000.00"))
    GrantBudgetLineFactory(grant=grant, category=BudgetCategory.PERSONNEL, amount=D("5000.00"))
    # Charged before the grant starts: still charged to it.
    ExpenseFactory(
        grant=grant,
        category=ExpenseCategory.TRAVEL,
        amount=D("250.00"),
        recurrence=Recurrence.ONCE,
        start_on=day(2024, 6, 1),
    )

    budget = only(budget_vs_actual(grants=[grant], as_of=day(2024, 6, 30)))

    assert budget.elapsed_share == 0
    # In BudgetCategory order, personnel before travel, whatever order the lines were written.
    assert [(f.category, f.spent, f.remaining, f.pace) for f in budget.lines] == [
        (BudgetCategory.PERSONNEL, D("0.00"), D("5000.00"), None),
        (BudgetCategory.TRAVEL, D("250.00"), D("750.00"), None),
    ]
    assert (budget.total.budget, budget.total.spent, budget.total.pace) == (D("6000.00"), D("250.00"), None)


def test_after_the_grant_ends_the_whole_grant_has_elapsed():
    grant = GrantFactory(start_on=day(2024, 1, 1), end_on=day(2024, 12, 31))
    GrantBudgetLineFactory(grant=grant, category=BudgetCategory.OTHER, amount=D("1000.00"))
    ExpenseFactory(
        grant=grant,
        category=ExpenseCategory.OTHER,
        amount=D("900.00"),
        recurrence=Recurrence.ONCE,
        start_on=day(2024, 12, 1),
    )

    budget = only(budget_vs_actual(grants=[grant], as_of=day(2025, 3, 1)))

    assert budget.elapsed_share == 1
    assert budget.pace == D("0.90")


def test_amounts_in_another_currency_convert_at_the_rate_of_each_day():
    # A euro grant; the reporting currency is USD, and rates are USD per unit.
    grant = GrantFactory(currency="EUR", start_on=day(2024, 1, 1), end_on=day(2024, 12, 31))
    ExchangeRateFactory(currency="EUR", effective_on=day(2024, 1, 1), rate=D("1.08"))
    ExchangeRateFactory(currency="EUR", effective_on=day(2024, 3, 16), rate=D("1.20"))
    # Paid in dollars, 72,000 a year: 6,000 a month; all of it charged in March.
    member = person(pay=[(day(2024, 1, 1), "72000.00", "0")])
    StaffAllocationFactory(
        staff=member, grant=grant, share=D("1"), start_on=day(2024, 3, 1), end_on=day(2024, 3, 31)
    )
    # 1,080 dollars on 1 February: 1,000 euros. A euro expense is not converted.
    ExpenseFactory(
        grant=grant,
        category=ExpenseCategory.TRAVEL,
        currency="USD",
        amount=D("1080.00"),
        recurrence=Recurrence.ONCE,
        start_on=day(2024, 2, 1),
    )
    ExpenseFactory(
        grant=grant,
        category=ExpenseCategory.SERVICES,
        currency="EUR",
        amount=D("310.00"),
        recurrence=Recurrence.MONTHLY,
        start_on=day(2024, 3, 1),
        end_on=day(2024, 3, 31),
    )

    spent = spent_by_grant(grant_ids=[grant.pk], until=day(2024, 3, 31))

    # Personnel: 15 days x 6,000/31 / 1.08 + 16 days x 6,000/31 / 1.20
    #          = (83,333.33... + 80,000) / 31 = 5,268.817...
    personnel = cents((D(90000) / D("1.08") + D(96000) / D("1.20")) / D(31))
    assert personnel == D("5268.82")
    assert spent == {
        grant.pk: {
            BudgetCategory.PERSONNEL: personnel,
            BudgetCategory.TRAVEL: D("1000.00"),
            BudgetCategory.SERVICES: D("310.00"),
        }
    }
    # In the reporting currency: dollars as paid, euros converted (310 euros in March: 15 days
    # at 1.08 and 16 at 1.20, 310/31 = 10 a day: 150 x 1.08 + 160 x 1.20 = 354).
    in_usd = spent_by_grant(grant_ids=[grant.pk], until=day(2024, 3, 31), in_reporting_currency=True)
    assert in_usd[grant.pk] == {
        BudgetCategory.PERSONNEL: D("6000.00"),
        BudgetCategory.TRAVEL: D("1080.00"),
        BudgetCategory.SERVICES: D("354.00"),
    }


def test_a_missing_rate_is_an_error_naming_the_currency_and_the_day():
    grant = GrantFactory()
    ExpenseFactory(
        grant=grant, currency="GBP", amount=D("10.00"), recurrence=Recurrence.ONCE, start_on=day(2024, 2, 1)
    )

    with pytest.raises(MissingExchangeRate) as raised:
        budget_vs_actual(grants=[grant], as_of=day(2024, 3, 31))

    assert (raised.value.currency, raised.value.on) == ("GBP", day(2024, 2, 1))
    assert "GBP" in raised.value.messages[0] and "2024-02-01" in raised.value.messages[0]


def test_daily_charges_add_up_to_the_spent_figures():
    grant = GrantFactory(prime=True)
    member = person(pay=[(day(2024, 1, 1), "60000.00", "0.2"), (day(2024, 3, 16), "72000.00", "0.2")])
    StaffAllocationFactory(
        staff=member, grant=grant, share=D("0.5"), start_on=day(2024, 2, 1), end_on=day(2024, 4, 30)
    )
    ExpenseFactory(grant=grant, amount=D("3100.00"), start_on=day(2024, 1, 10), end_on=day(2024, 3, 20))
    ExpenseFactory(grant=grant, amount=D("77.00"), recurrence=Recurrence.ONCE, start_on=day(2024, 2, 6))
    SubawardPaymentFactory(subaward=SubawardFactory(grant=grant), paid_on=day(2024, 2, 6), amount=D("5000"))

    daily = charges_by_grant(grant_ids=[grant.pk], start=day(2024, 1, 1), end=day(2024, 3, 31))[grant.pk]

    assert min(daily) == day(2024, 1, 10) and max(daily) == day(2024, 3, 31)
    # 6 February: a day of cloud (3,100/29) and of payroll (6,000/29 x 0.5), the once expense and
    # the subaward payment.
    assert cents(daily[day(2024, 2, 6)]) == cents(D(3100) / D(29) + D(3000) / D(29) + D(77) + D(5000))
    spent = spent_by_grant(grant_ids=[grant.pk], until=day(2024, 3, 31))[grant.pk]
    assert cents(sum(daily.values())) == sum(spent.values())
    # A window: February alone.
    february = charges_by_grant(grant_ids=[grant.pk], start=day(2024, 2, 1), end=day(2024, 2, 29))[grant.pk]
    assert list(february) == [day(2024, 2, 1) + dt.timedelta(days=n) for n in range(29)]
    assert cents(sum(february.values())) == D("3100.00") + D("3000.00") + D("77.00") + D("5000.00")


def outlier_grant(reference: str, spent: str, **extra) -> Grant:
    """A 2024 grant with a budget of 36,600 under "other" and ``spent`` charged on 1 January."""
    dates = {"start_on": day(2024, 1, 1), "end_on": day(2024, 12, 31)}
    grant = GrantFactory(reference=reference, **{**dates, **extra})
    GrantBudgetLineFactory(grant=grant, category=BudgetCategory.OTHER, amount=D("36600.00"))
    ExpenseFactory(
        grant=grant,
        category=ExpenseCategory.OTHER,
        amount=D(spent),
        recurrence=Recurrence.ONCE,
        start_on=day(2024, 1, 1),
    )
    return grant


def test_pace_outliers_are_the_grants_spending_too_fast_or_too_slow():
    # As of 30 June 2024, 182 of 366 days have elapsed: an even pace has spent
    # 36,600 x 182 / 366 = 18,200. Pace = spent / 18,200.
    as_of = day(2024, 6, 30)
    outlier_grant("even", "18200.00")  # 1.00
    outlier_grant("on-the-bound", "21840.00")  # 1.20: on the bound, not an outlier
    fast = outlier_grant("fast", "27300.00")  # 1.50
    slow = outlier_grant("slow", "4550.00")  # 0.25
    outlier_grant("closed-fast", "27300.00", status=GrantStatus.CLOSED)  # not awarded
    outlier_grant("ended-fast", "27300.00", end_on=day(2024, 3, 31))  # not in effect on as_of
    unbudgeted = GrantFactory(reference="no-budget")
    ExpenseFactory(
        grant=unbudgeted, amount=D("30000.00"), recurrence=Recurrence.ONCE, start_on=day(2024, 1, 1)
    )

    outliers = pace_outliers(as_of=as_of)

    # The furthest from 1.00 first: 0.25 is 0.75 off, 1.50 is 0.50 off.
    assert [(budget.grant, budget.pace) for budget in outliers] == [(slow, D("0.25")), (fast, D("1.50"))]
    # A narrower band catches the 1.20 grant; a wider one only the slow grant.
    assert [budget.grant.reference for budget in pace_outliers(as_of=as_of, low=D("0.9"), high=D("1.1"))] == [
        "slow",
        "fast",
        "on-the-bound",
    ]
    assert [budget.grant.reference for budget in pace_outliers(as_of=as_of, low=D("0.3"), high=D("2"))] == [
        "slow"
    ]


def _grant_with_rows(n: int, rows: int) -> Grant:
    """A prime EUR grant with ``rows`` of each kind of charge and a budget line per category."""
    grant = GrantFactory(reference=f"sized-{n}", prime=True, currency="EUR")
    for category in (BudgetCategory.PERSONNEL, BudgetCategory.CLOUD, BudgetCategory.SUBAWARDS):
        GrantBudgetLineFactory(grant=grant, category=category, amount=D("10000.00"))
    subaward = SubawardFactory(grant=grant)
    for row in range(rows):
        member = person(pay=[(day(2023, 1, 1), "60000.00", "0.2"), (day(2024, 4, 1), "66000.00", "0.2")])
        StaffAllocationFactory(staff=member, grant=grant, share=D("0.2"))
        ExpenseFactory(grant=grant, currency="USD", start_on=day(2024, 1, 1) + dt.timedelta(days=row))
        ExpenseFactory(
            grant=grant,
            category=ExpenseCategory.TRAVEL,
            recurrence=Recurrence.ONCE,
            start_on=day(2024, 2, 1) + dt.timedelta(days=row),
        )
        SubawardPaymentFactory(subaward=subaward, paid_on=day(2024, 3, 1) + dt.timedelta(days=row))
    return grant


def test_the_reads_take_the_same_queries_for_1_or_6_grants(django_assert_num_queries):
    ExchangeRateFactory(currency="EUR", effective_on=day(2023, 1, 1), rate=D("1.10"))
    ExchangeRateFactory(currency="EUR", effective_on=day(2024, 5, 1), rate=D("1.05"))
    as_of = day(2024, 6, 30)
    few = [_grant_with_rows(0, 1)]
    with CaptureQueriesContext(connection) as one:
        few_budgets = budget_vs_actual(grants=few, as_of=as_of)
    many = [few[0], *(_grant_with_rows(n, 4) for n in range(1, 6))]

    with django_assert_num_queries(BUDGET_QUERIES):
        many_budgets = budget_vs_actual(grants=many, as_of=as_of)
    assert len(one.captured_queries) == BUDGET_QUERIES
    # The rows really were read: every grant has spent something in each of its three categories.
    assert len(few_budgets) == 1 and len(many_budgets) == 6
    assert all(figures.spent > 0 for budget in many_budgets for figures in budget.lines)
    assert [len(budget.lines) for budget in many_budgets] == [4] * 6  # personnel, cloud, travel, subawards

    # By id: the grants' dates and currencies, then the five tables of charges (no budget lines).
    with django_assert_num_queries(BUDGET_QUERIES):
        spent_by_grant(grant_ids=[grant.pk for grant in few], until=as_of)
    with django_assert_num_queries(BUDGET_QUERIES):
        spent_by_grant(grant_ids=[grant.pk for grant in many], until=as_of)
    with django_assert_num_queries(BUDGET_QUERIES):
        charges_by_grant(grant_ids=[grant.pk for grant in many], start=day(2024, 1, 1), end=as_of)
    # The grants in effect with a budget, then budget_vs_actual's six.
    with django_assert_num_queries(BUDGET_QUERIES + 1):
        pace_outliers(as_of=as_of)
