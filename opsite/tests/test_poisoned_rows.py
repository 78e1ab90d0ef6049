"""No stored row can stop the figures (issue 10, item 1).

Rows dated outside the plausible range may already be in the database: written before the range
was checked, or by raw SQL. Here they are put there with ``QuerySet.update`` and ``bulk_create``
(no validation), then the rollup recompute and the runway run over them. Both finish; their
figures are exactly those of the same organization without the bad rows; the number of periods a
recompute walks does not grow (a sample dated 0300-01-31 once sent it walking month by month from
year 300); and the data-quality sentences name each table and how many rows it left out, never a
value.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from communities.choices import UsagePeriod
from communities.models import ActiveUserCount, Hub
from communities.tests.factories import ActiveUserCountFactory, CommunityFactory, HubFactory
from contracts.models import ContractPayment, ServiceContract
from contracts.tests.factories import ContractPaymentFactory, ServiceContractFactory
from contributions.models import PullRequest
from contributions.tests.factories import PullRequestFactory, RepositoryFactory, UpstreamCommunityFactory
from funding.models import (
    CashPosition,
    Disbursement,
    ExchangeRate,
    Expense,
    Grant,
    Scenario,
    ScenarioAdjustment,
)
from funding.runway import project
from funding.runway.loader import load_inputs, load_records, runway_data_quality_issues
from funding.runway.snapshots import runway_recompute_all
from funding.tests.factories import (
    CashPositionFactory,
    DisbursementFactory,
    ExchangeRateFactory,
    ExpenseFactory,
    GrantFactory,
    ScenarioAdjustmentFactory,
)
from opsite.kpis import rollups
from opsite.kpis.models import Rollup
from staff.models import Compensation, StaffMember
from staff.tests.factories import CompensationFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
MONTH_ENDS = [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)]
RANGE = "2000-01-01 to 2100-12-31"
LATE, EARLY, ANCIENT = date(9999, 12, 31), date(1, 1, 31), date(300, 1, 31)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def build_organization() -> Hub:
    """Two hubs with month-end samples, a person merging pull requests, a grant and a contract."""
    jupyterhub = UpstreamCommunityFactory(slug="jupyterhub", github_orgs=["jupyterhub"])
    repository = RepositoryFactory(upstream_community=jupyterhub)
    person = StaffMemberFactory(github="octo", start_on=date(2023, 6, 1))
    for index in range(2):
        hub = HubFactory(community=CommunityFactory(), launched_on=date(2023, 12, 1))
        for day in MONTH_ENDS:
            ActiveUserCountFactory(hub=hub, date=day, period=UsagePeriod.MONTH, active_users=10 + index)
            ActiveUserCountFactory(hub=hub, date=day, period=UsagePeriod.WEEK, active_users=4)
        PullRequestFactory(
            repository=repository,
            author_login=person.github,
            created_at=datetime(2024, 2, 1 + index, tzinfo=UTC),
            merged_at=datetime(2024, 2, 2 + index, tzinfo=UTC),
        )
    GrantFactory(awarded_on=date(2024, 1, 10), amount=Decimal("1000.00"))
    ServiceContractFactory(signed_on=date(2024, 3, 1), total_value=Decimal("500.25"))
    return hub


def poison_the_rollup_inputs(hub: Hub) -> None:
    """Rows dated outside the range in every table the rollups read, written without validation."""
    ActiveUserCount.objects.bulk_create(
        [
            ActiveUserCount(hub=hub, date=LATE, period=UsagePeriod.MONTH, active_users=99),
            ActiveUserCount(hub=hub, date=EARLY, period=UsagePeriod.MONTH, active_users=99),
            ActiveUserCount(hub=hub, date=ANCIENT, period=UsagePeriod.WEEK, active_users=99),
        ]
    )
    Hub.objects.filter(pk=HubFactory(launched_on=date(2023, 12, 1)).pk).update(launched_on=ANCIENT)
    StaffMember.objects.filter(pk=StaffMemberFactory(github="old").pk).update(start_on=ANCIENT)
    ghost = PullRequestFactory(repository=RepositoryFactory(), author_login="octo")
    PullRequest.objects.filter(pk=ghost.pk).update(merged_at=datetime(1, 1, 1, tzinfo=UTC))
    Grant.objects.filter(pk=GrantFactory(amount=Decimal("7.00")).pk).update(awarded_on=ANCIENT)
    ServiceContract.objects.filter(pk=ServiceContractFactory().pk).update(signed_on=LATE)


def published() -> dict[str, object]:
    """The stored figures, without the bookkeeping and without the data-quality report."""
    return {
        row.key: row.value
        for row in Rollup.objects.exclude(key__startswith="state:").exclude(key=rollups.DATA_QUALITY)
    }


@pytest.fixture
def periods_walked(monkeypatch):
    """Count the periods and reading days the recompute generates (not the time it takes)."""
    walked = {"periods": 0, "days": 0}
    periods_between, reading_days = rollups.periods_between, rollups.reading_days

    def counting_periods(*args, **kwargs):
        found = periods_between(*args, **kwargs)
        walked["periods"] += len(found)
        return found

    def counting_days(*args, **kwargs):
        found = reading_days(*args, **kwargs)
        walked["days"] += len(found)
        return found

    monkeypatch.setattr(rollups, "periods_between", counting_periods)
    monkeypatch.setattr(rollups, "reading_days", counting_days)
    return walked


def test_a_recompute_over_rows_dated_outside_the_range_gives_the_figures_without_them(periods_walked):
    hub = build_organization()
    clean = rollups.recompute_rollups()
    clean_figures, clean_walk = published(), dict(periods_walked)
    assert rollups.data_quality_issues() == []

    Rollup.objects.all().delete()  # from scratch again, as the clean run was
    poison_the_rollup_inputs(hub)
    periods_walked.update(periods=0, days=0)
    poisoned = rollups.recompute_rollups()

    assert published() == clean_figures
    assert poisoned["as_of"] == clean["as_of"] == "2024-03-31"  # not 9999-12-31, nor today
    # Bounded: the same periods and days as without the bad rows, whatever their dates.
    assert periods_walked == clean_walk
    assert clean_walk["periods"] < 200
    assert poisoned["usage_days_read"] == clean["usage_days_read"]
    assert poisoned["skipped_rows"] == {
        "communities.ActiveUserCount": 3,
        "communities.Hub": 1,
        "contracts.ServiceContract": 1,
        "contributions.PullRequest": 1,
        "funding.Grant": 1,
        "staff.StaffMember": 1,
    }
    issues = rollups.data_quality_issues()
    assert issues[0] == (
        f"3 active user counts (communities.ActiveUserCount) are dated outside {RANGE} and left out "
        "of the impact figures; correct the dates or delete the rows."
    )
    assert [issue.split(" (")[0] for issue in issues] == [
        "3 active user counts",
        "1 hub",
        "1 service contract",
        "1 pull request",
        "1 grant",
        "1 staff member",
    ]
    assert not any("99" in issue or "7.00" in issue for issue in issues)  # counts, never values


def test_the_incremental_recompute_ignores_a_sample_dated_9999_written_since(frozen_clock):
    hub = build_organization()
    rollups.recompute_rollups()
    before = published()

    # Written after the last run's watermark: its look-back window once ran past date.max.
    frozen_clock.shift(timedelta(hours=2))
    ActiveUserCount.objects.bulk_create([ActiveUserCount(hub=hub, date=LATE, period="30d", active_users=5)])
    result = rollups.recompute_rollups()

    assert published() == before
    assert result["skipped_rows"] == {"communities.ActiveUserCount": 1}
    assert rollups.data_quality_issues() == [
        f"1 active user count (communities.ActiveUserCount) is dated outside {RANGE} and left out of "
        "the impact figures; correct the dates or delete the rows."
    ]


def test_the_recompute_takes_the_same_queries_with_bad_rows(django_assert_num_queries):
    hub = build_organization()
    with CaptureQueriesContext(connection) as clean:
        rollups.recompute_rollups()
    Rollup.objects.all().delete()
    poison_the_rollup_inputs(hub)

    with django_assert_num_queries(len(clean)):
        rollups.recompute_rollups()


# --- the runway -----------------------------------------------------------------------------------

A = date(2024, 10, 31)


def build_books() -> None:
    CashPositionFactory(as_of=A, balance=Decimal("100000.00"))
    ExchangeRateFactory(currency="EUR", effective_on=date(2024, 1, 1), rate=Decimal("1.10"))
    DisbursementFactory(grant=GrantFactory(currency="EUR"), expected_on=date(2025, 1, 15))
    ContractPaymentFactory(contract=ServiceContractFactory(), due_on=date(2025, 2, 1))
    ExpenseFactory(start_on=date(2024, 1, 1))
    CompensationFactory(staff=StaffMemberFactory(start_on=date(2023, 1, 1)), effective_on=date(2023, 1, 1))
    ScenarioAdjustmentFactory(scenario=Scenario.objects.get(slug="base"), start_on=date(2025, 3, 1))


def poison_the_books() -> None:
    """A row dated outside the range in every table the runway reads."""
    CashPosition.objects.bulk_create(
        [CashPosition(as_of=LATE, balance=Decimal("987654.32"), currency="USD", note="typo")]
    )
    ExchangeRate.objects.filter(pk=ExchangeRateFactory(currency="EUR").pk).update(effective_on=EARLY)
    Disbursement.objects.filter(pk=DisbursementFactory(grant=GrantFactory()).pk).update(expected_on=LATE)
    ContractPayment.objects.filter(pk=ContractPaymentFactory(contract=ServiceContractFactory()).pk).update(
        due_on=EARLY
    )
    Expense.objects.filter(pk=ExpenseFactory().pk).update(start_on=ANCIENT)
    late_person = StaffMemberFactory(start_on=date(2024, 1, 1))
    StaffMember.objects.filter(pk=late_person.pk).update(end_on=LATE)
    Compensation.objects.filter(pk=CompensationFactory(staff=StaffMemberFactory()).pk).update(
        effective_on=LATE
    )
    ScenarioAdjustment.objects.filter(
        pk=ScenarioAdjustmentFactory(scenario=Scenario.objects.get(slug="base")).pk
    ).update(start_on=LATE)


def test_the_runway_over_rows_dated_outside_the_range_equals_the_runway_without_them(caplog):
    build_books()
    base = Scenario.objects.get(slug="base")
    with CaptureQueriesContext(connection) as clean_queries:
        clean = project(load_inputs(scenario=base)).as_dict()

    poison_the_books()
    with (
        caplog.at_level(logging.WARNING, logger="funding.runway.loader"),
        CaptureQueriesContext(connection) as poisoned_queries,
    ):
        poisoned = project(load_inputs(scenario=base)).as_dict()

    assert poisoned == clean
    assert poisoned["as_of"] == A.isoformat()  # not the cash position dated 9999-12-31
    assert len(poisoned_queries) == len(clean_queries)  # skipped as read: no query more
    assert load_records().skipped == {
        "contracts.ContractPayment": 1,
        "funding.Disbursement": 1,
        "funding.ExchangeRate": 1,
        "funding.Expense": 1,
        "staff.Compensation": 1,
        "staff.StaffMember": 1,
    }
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "runway leaves out rows dated outside the plausible range" in logged
    assert "funding.ScenarioAdjustment 1" in logged
    assert "987654" not in logged and "100000" not in logged  # the runway is sensitive


def test_the_runway_recompute_finishes_and_names_the_tables_holding_bad_rows():
    build_books()
    poison_the_books()

    snapshots = runway_recompute_all()

    assert snapshots and {snapshot.as_of for snapshot in snapshots} == {A}
    issues = runway_data_quality_issues()
    assert issues[0] == (
        f"1 cash position (funding.CashPosition) is dated outside {RANGE} and left out of the runway; "
        "correct the dates or delete the rows."
    )
    assert [issue.split(" (")[1].split(")")[0] for issue in issues] == [
        "funding.CashPosition",
        "funding.ExchangeRate",
        "contracts.ContractPayment",
        "funding.Disbursement",
        "funding.Expense",
        "staff.StaffMember",
        "staff.Compensation",
        "funding.ScenarioAdjustment",
    ]
    assert not any("987654" in issue for issue in issues)


def test_with_only_a_cash_position_dated_9999_there_is_no_runway_rather_than_a_crash():
    CashPosition.objects.bulk_create([CashPosition(as_of=LATE, balance=Decimal("1.00"), currency="USD")])

    assert runway_recompute_all() == []
    assert runway_data_quality_issues()[0].startswith("1 cash position (funding.CashPosition)")
