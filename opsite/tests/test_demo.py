"""The demo organization: its figures, its determinism, and that loading it twice changes nothing.

The figures are recomputed here from the raw tables with plain ORM queries that follow docs/definitions.md
"Definitions", independently of the rollups, so a bug in either shows up as a disagreement. The
demo is loaded for ``DEMO_TODAY``; the figures of its published history (2021-2024) are those of
any other day's load.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from dateutil.relativedelta import relativedelta
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.test import override_settings

from communities.models import ActiveUserCount, Community, Hub, Network
from communities.services import community_derive
from contracts.models import ContractPayment, ServiceContract
from contributions.models import PullRequest, Repository, UpstreamCommunity
from funding.models import (
    CashPosition,
    Disbursement,
    ExchangeRate,
    Expense,
    Grant,
    RunwaySnapshot,
    Scenario,
    Subaward,
    SubawardPayment,
)
from funding.runway.engine import project
from funding.runway.loader import load_inputs
from opsite.core.roles import OPSITE_APPS
from opsite.demo.communities import community_specs
from opsite.demo.contracts import contract_plans
from opsite.demo.dates import demo_end, month_ends
from opsite.demo.forecasts import FORECAST_SCENARIOS, keep_books
from opsite.demo.ledger import DEMO_FISCAL_SPONSOR_FEE, inputs_on
from opsite.demo.loader import DEMO_TODAY, demo_load
from opsite.demo.people import team
from opsite.tests.shared_rows import loaded_demo
from staff.models import Compensation, StaffMember

END_2023 = date(2023, 12, 31)
END_2024 = date(2024, 12, 31)
# The last month-end before DEMO_TODAY: where the loaded demo ends.
END = date(2026, 11, 30)
# A day whose demo is the published history alone (it ends on 2024-12-31).
HISTORY_ONLY = date(2025, 1, 15)
WINDOWS = {"30d": 35, "7d": 10, "24h": 2}
KEY_ORGS = {
    "jupyter", "jupyterlab", "jupyter-server", "jupyterhub", "binder-examples", "executablebooks",
    "jupyter-book", "dask", "pydata", "pangeo-data", "rocker-org", "cryptnono",
}  # fmt: skip


@pytest.fixture(scope="class")
def demo(django_db_setup, django_db_blocker):
    """The demo, loaded once for a class of tests and rolled back after it."""
    with loaded_demo(django_db_blocker):
        yield


# --- the definitions, as plain queries --------------------------------------------------------


def live_hubs(day: date):
    return Hub.objects.filter(launched_on__lte=day).filter(Q(retired_on__isnull=True) | Q(retired_on__gt=day))


def active_users(day: date, period: str, hubs) -> dict[int, int]:
    """Each hub's latest sample of ``period`` on or before ``day`` within the look-back window."""
    rows = ActiveUserCount.objects.filter(
        hub__in=hubs, period=period, date__lte=day, date__gte=day - timedelta(days=WINDOWS[period])
    ).order_by("hub_id", "date")
    # Ordered by date, so each hub's latest sample is the one left in the dict.
    return dict(rows.values_list("hub_id", "active_users"))


def active_communities(day: date):
    active_hubs = [hub for hub, users in active_users(day, "30d", live_hubs(day)).items() if users >= 1]
    return Community.objects.filter(hubs__in=active_hubs).distinct()


def monthly_active_users(day: date, period: str = "30d") -> int:
    return sum(active_users(day, period, live_hubs(day).exclude(kind="binderhub")).values())


def counted_pull_requests(until: date = END_2024):
    merged_on = TruncDate("merged_at")
    return (
        PullRequest.objects.filter(
            merged_at__isnull=False,
            repository__upstream_community__is_key=True,
            is_bot=False,
            author__isnull=False,
        )
        .annotate(merged_on=merged_on)
        .filter(merged_on__gte=date(2021, 1, 1), merged_on__lte=until, author__start_on__lte=F("merged_on"))
        .filter(Q(author__end_on__isnull=True) | Q(author__end_on__gte=F("merged_on")))
    )


def usd(amount: Decimal, currency: str, day: date) -> Decimal:
    if currency == "USD":
        return amount
    rate = ExchangeRate.objects.filter(currency=currency, effective_on__lte=day).latest("effective_on")
    return amount * rate.rate


def monthly_runway() -> Decimal | None:
    """A month-by-month runway under the weighted pipeline: docs/definitions.md "Runway", coarsely.

    Calendar months from the latest cash position, every staff member on their latest salary,
    no proration; good enough to show the demo's runway is finite and believable.
    """
    cash = CashPosition.objects.latest("as_of")
    start, balance = cash.as_of, cash.balance
    ends = [start + relativedelta(months=k) for k in range(61)]

    def period(day: date) -> int | None:
        return next((k for k in range(1, 61) if day <= ends[k]), None)

    net = Counter()

    def flow(day: date, amount: Decimal) -> None:
        if (k := period(max(day, start))) is not None:
            net[k] += amount

    weights = {"signed": 1, "awarded": 1, "proposed": None, "prospect": None, "submitted": None}
    for payment in ContractPayment.objects.select_related("contract"):
        contract, day = payment.contract, payment.paid_on or payment.due_on
        if contract.status in weights and not (payment.paid_on and payment.paid_on <= start):
            flow(day, payment.amount * (weights[contract.status] or Decimal(contract.probability) / 100))
    for disbursement in Disbursement.objects.select_related("grant"):
        grant, day = disbursement.grant, disbursement.received_on or disbursement.expected_on
        if grant.status in weights and not (disbursement.received_on and disbursement.received_on <= start):
            weight = weights[grant.status] or Decimal(grant.probability) / 100
            flow(day, usd(disbursement.amount, grant.currency, day) * weight)
    for payment in SubawardPayment.objects.filter(subaward__grant__status="awarded"):
        if not (payment.paid_on and payment.paid_on <= start):
            flow(payment.paid_on or payment.due_on, -payment.amount)
    for expense in Expense.objects.all():
        if expense.recurrence == "once":
            if expense.start_on > start:
                flow(expense.start_on, -expense.amount)
            continue
        for k in range(1, 61):
            if expense.start_on <= ends[k] and (expense.end_on is None or expense.end_on > ends[k - 1]):
                net[k] -= expense.amount
    for member in StaffMember.objects.filter(end_on__isnull=True):
        pay = member.compensations.latest("effective_on")
        for k in range(1, 61):
            net[k] -= pay.annual_salary * (1 + pay.benefits_rate) / 12
    for k in range(1, 61):
        if balance + net[k] < 0:
            return (k - 1) + balance / -net[k]
        balance += net[k]
    return None


# --- the figures ------------------------------------------------------------------------------


@pytest.mark.usefixtures("demo", "db")
class TestDemoFigures:
    def test_about_105_communities_are_active_at_the_end_of_2024(self):
        assert 100 <= active_communities(END_2024).count() <= 110

    def test_about_70_communities_are_active_at_the_end_of_2023(self):
        assert 65 <= active_communities(END_2023).count() <= 75

    def test_about_a_third_of_active_communities_are_historically_marginalized(self):
        active = active_communities(END_2024)
        share = active.filter(historically_marginalized=True).count() / active.count()
        assert 0.28 <= share <= 0.40
        assert active_communities(END_2023).filter(historically_marginalized=True).count() >= 12

    def test_the_marginalized_flag_and_region_follow_the_definition_for_every_community(self):
        for community in Community.objects.all():
            expected = community.marginalized_override
            if expected is None:
                expected = community.kind in ("university", "community_college", "school") or (
                    community.region not in ("north_america", "western_europe")
                )
            assert community.historically_marginalized is expected, community.slug
            assert community.region, community.slug
        assert Community.objects.filter(marginalized_override__isnull=False).count() >= 2

    def test_the_regional_network_has_about_20_communities_in_latin_america_and_africa(self):
        network = Network.objects.get()
        assert 18 <= network.communities.filter(joined_on__lte=END_2024).count() <= 22
        assert network.communities.filter(joined_on__gt=END_2024).exists(), "and it goes on growing"
        regions = set(network.communities.values_list("region", flat=True))
        assert regions == {"latin_america", "africa"}

    def test_hubs_run_on_three_clouds_with_a_few_daskhubs_binderhubs_and_retired_hubs(self):
        assert {"gcp", "aws", "azure"} <= set(Hub.objects.values_list("provider", flat=True))
        kinds = Counter(Hub.objects.values_list("kind", flat=True))
        assert 3 <= kinds["daskhub"] <= 12
        assert 1 <= kinds["binderhub"] <= 2
        assert 2 <= Hub.objects.filter(retired_on__lte=END_2024).count() <= 4

    def test_monthly_active_users_are_about_7200_at_the_end_of_2023_and_9100_at_the_end_of_2024(self):
        assert 6900 <= monthly_active_users(END_2023) <= 7500
        assert 8800 <= monthly_active_users(END_2024) <= 9400

    def test_binderhub_sessions_are_not_counted_as_users(self):
        binder = live_hubs(END_2024).filter(kind="binderhub")
        sessions = sum(active_users(END_2024, "30d", binder).values())
        everything = sum(active_users(END_2024, "30d", live_hubs(END_2024)).values())
        assert sessions > 1000
        assert everything - sessions == monthly_active_users(END_2024)

    def test_usage_follows_the_academic_calendar(self):
        assert monthly_active_users(date(2024, 7, 31)) < 0.8 * monthly_active_users(date(2024, 10, 31))
        assert monthly_active_users(END_2024, "7d") < monthly_active_users(date(2024, 11, 30), "7d")
        assert 0 < monthly_active_users(END_2024, "24h") < monthly_active_users(END_2024, "7d")

    def test_every_live_hub_has_month_end_samples_of_each_period_from_2021_to_the_end(self):
        for day in (END_2024, END):
            samples = ActiveUserCount.objects.filter(hub__in=live_hubs(day))
            assert set(samples.values_list("period", flat=True)) == {"24h", "7d", "30d"}
            assert set(samples.filter(date=day, period="30d").values_list("hub", flat=True)) == set(
                live_hubs(day).values_list("pk", flat=True)
            )
        assert not ActiveUserCount.objects.filter(date__lt=date(2021, 1, 1)).exists()
        assert not ActiveUserCount.objects.filter(date__gt=END).exists()
        assert ActiveUserCount.objects.filter(date=date(2021, 1, 31)).exists()
        dates = set(ActiveUserCount.objects.values_list("date", flat=True))
        assert dates == set(month_ends(date(2021, 1, 1), END))

    def test_staff_grow_from_2_in_2021_to_12_at_the_end_of_2024(self):
        def headcount(day: date) -> int:
            return (
                StaffMember.objects.filter(start_on__lte=day)
                .filter(Q(end_on__isnull=True) | Q(end_on__gte=day))
                .count()
            )

        assert headcount(date(2021, 1, 1)) == 2
        assert headcount(END_2024) == 12
        assert StaffMember.objects.filter(end_on__isnull=False).exists()
        assert not StaffMember.objects.filter(Q(title="") | Q(github=None)).exists()
        assert StaffMember.objects.values("team").distinct().count() >= 4

    def test_everyone_is_paid_from_their_first_day_and_some_got_a_raise(self):
        for member in StaffMember.objects.prefetch_related("compensations"):
            first = min(member.compensations.all(), key=lambda c: c.effective_on)
            assert first.effective_on == member.start_on, member.slug
        raises = Compensation.objects.values("staff").annotate(n=Count("id")).filter(n__gt=1)
        assert raises.count() >= 2

    def test_upstream_communities_cover_the_key_organizations_and_a_non_key_one(self):
        orgs = {
            org
            for orgs in UpstreamCommunity.objects.filter(is_key=True).values_list("github_orgs", flat=True)
            for org in orgs
        }
        assert orgs == KEY_ORGS
        assert UpstreamCommunity.objects.filter(is_key=False).exists()

    def test_over_2000_counted_pull_requests_since_2021_across_over_600_repositories(self):
        counted = counted_pull_requests()
        assert counted.count() > 2000
        assert counted.values("repository").distinct().count() > 600

    def test_bots_outsiders_non_key_repositories_and_earlier_work_are_present_but_not_counted(self):
        merged = PullRequest.objects.filter(merged_at__isnull=False)
        bots = merged.filter(author_login__in=["dependabot[bot]", "pre-commit-ci[bot]"])
        assert bots.count() >= 50
        assert not bots.filter(is_bot=False).exists()
        assert merged.filter(author__isnull=True, is_bot=False).count() >= 50
        assert merged.filter(author__isnull=False, repository__upstream_community__is_key=False).exists()
        staff_in_key = merged.filter(
            author__isnull=False, is_bot=False, repository__upstream_community__is_key=True
        )
        assert staff_in_key.count() > counted_pull_requests().count()  # some merged before they joined
        assert PullRequest.objects.filter(merged_at__isnull=True).exists()

    def test_pull_request_authors_resolve_from_staff_handles(self):
        handles = {m.github.lower(): m.pk for m in StaffMember.objects.all()}
        for login, author_id, is_bot in PullRequest.objects.values_list(
            "author_login", "author_id", "is_bot"
        ):
            assert author_id == handles.get(login.lower())
            assert is_bot is login.endswith("[bot]")
        assert Repository.objects.filter(full_name__startswith="jupyterhub/").count() > 50

    def test_grants_and_contracts_bring_in_about_5_6_million_over_2021_to_2023(self):
        grants = sum(
            usd(g.amount, g.currency, g.awarded_on)
            for g in Grant.objects.filter(
                status__in=["awarded", "closed"], awarded_on__year__in=[2021, 2022, 2023]
            )
        )
        contracts = ServiceContract.objects.filter(status="signed", signed_on__year__in=[2021, 2022, 2023])
        total = grants + contracts.aggregate(total=Sum("total_value"))["total"]
        assert Decimal("5400000") <= total <= Decimal("5800000")

    def test_signed_contract_schedules_sum_to_their_value_but_one(self):
        incomplete = []
        for contract in ServiceContract.objects.filter(status="signed").prefetch_related("payments"):
            paid_in = sum((p.amount for p in contract.payments.all()), Decimal("0"))
            assert paid_in <= contract.total_value, contract.reference
            if paid_in != contract.total_value:
                incomplete.append(contract.reference)
        assert len(incomplete) == 1

    def test_prime_grants_pass_two_subawards_on_within_their_amount(self):
        primes = Grant.objects.filter(role="prime")
        assert primes.filter(reference="nra-regional-2022").exists()
        for prime in primes:
            subawards = Subaward.objects.filter(grant=prime)
            assert subawards.count() == 2
            assert subawards.aggregate(total=Sum("amount"))["total"] <= prime.amount
            for subaward in subawards:
                payments = [p.amount for p in subaward.payments.all()]
                assert sum(payments) == subaward.amount
        paid = SubawardPayment.objects.filter(paid_on__isnull=False)
        assert paid.exists() and not paid.filter(paid_on__gt=END).exists()
        assert not paid.filter(subaward__grant__status__in=["prospect", "submitted", "declined"]).exists()

    def test_awarded_grants_are_partly_received_and_never_over_disbursed(self):
        for grant in Grant.objects.filter(status__in=["awarded", "closed"]).prefetch_related("disbursements"):
            assert sum(d.amount for d in grant.disbursements.all()) <= grant.amount, grant.reference
        open_rows = Disbursement.objects.filter(grant__status="awarded", received_on__isnull=True)
        assert open_rows.exists()
        assert Disbursement.objects.filter(grant__status="awarded", received_on__isnull=False).exists()

    def test_the_pipeline_has_grants_and_contracts_with_probabilities(self):
        pipeline = Grant.objects.filter(status__in=["prospect", "submitted"])
        assert pipeline.count() >= 2
        assert all(0 < g.probability < 100 for g in pipeline)
        proposed = ServiceContract.objects.filter(status="proposed")
        assert proposed.count() >= 3
        assert all(0 < c.probability < 100 for c in proposed)

    def test_euro_grants_convert_at_a_rate_in_effect(self):
        grants = Grant.objects.filter(currency="EUR")
        assert grants.filter(reference="eort-notebooks-2023").exists()
        for grant in grants:
            for disbursement in grant.disbursements.all():
                converted = usd(disbursement.amount, "EUR", min(disbursement.expected_on, END))
                assert converted > disbursement.amount * Decimal("0.9")

    def test_cash_and_expenses_are_those_of_a_small_nonprofit(self):
        assert CashPosition.objects.get(as_of=END_2024).balance == Decimal("1850000.00")
        cash = CashPosition.objects.latest("as_of")
        assert cash.as_of == END
        assert Decimal("500000") <= cash.balance <= Decimal("3000000")
        monthly = Expense.objects.filter(recurrence="monthly", end_on__isnull=True)
        assert {"cloud", "software", "overhead"} <= set(monthly.values_list("category", flat=True))
        assert Expense.objects.filter(recurrence="once").count() >= 2

    def test_a_rough_runway_under_weighted_pipeline_is_between_10_and_24_months(self):
        # Independently of the runway engine: see test_the_base_runway_... for the engine's own.
        months = monthly_runway()
        assert months is not None
        assert 10 <= months <= 24

    def test_demo_records_pass_model_validation(self):
        # Every rule of the services runs in full_clean(); Django adds a query per constraint and
        # row, so an evenly spread sample of each table keeps this fast.
        models = [StaffMember, Compensation, Network, Community, Hub, UpstreamCommunity, Repository,
                  PullRequest, ActiveUserCount, ServiceContract, ContractPayment, Grant, Subaward,
                  Disbursement, SubawardPayment, CashPosition, Expense, ExchangeRate]  # fmt: skip
        for model in models:
            rows = list(model.objects.order_by("pk"))
            for obj in rows[:: max(1, len(rows) // 12)]:
                obj.full_clean()


# --- after the published history -----------------------------------------------------------


@pytest.mark.usefixtures("demo", "db")
class TestDemoGoesOn:
    def test_it_ends_on_the_last_month_end_before_today_with_a_cash_position_there(self):
        assert demo_end(DEMO_TODAY) == END
        assert CashPosition.objects.latest("as_of").as_of == END
        assert ActiveUserCount.objects.latest("date").date == END
        # Kept month by month since the history's quarter-ends.
        later = set(CashPosition.objects.filter(as_of__gt=END_2024).values_list("as_of", flat=True))
        assert later == set(month_ends(date(2025, 1, 1), END))

    def test_nothing_had_happened_after_the_end(self):
        cutoff = datetime(2026, 12, 1, tzinfo=UTC)
        assert not PullRequest.objects.filter(Q(merged_at__gte=cutoff) | Q(created_at__gte=cutoff)).exists()
        assert not ContractPayment.objects.filter(paid_on__gt=END).exists()
        assert not Disbursement.objects.filter(received_on__gt=END).exists()
        assert not ServiceContract.objects.filter(signed_on__gt=END).exists()
        assert not Grant.objects.filter(awarded_on__gt=END).exists()
        assert not StaffMember.objects.filter(Q(start_on__gt=END) | Q(end_on__gt=END)).exists()
        assert not Compensation.objects.filter(effective_on__gt=END).exists()
        assert not Community.objects.filter(Q(joined_on__gt=END) | Q(left_on__gt=END)).exists()
        assert not Hub.objects.filter(retired_on__gt=END).exists()
        assert not ExchangeRate.objects.filter(effective_on__gt=END).exists()

    def test_every_series_goes_on_after_the_published_history(self):
        after = date(2025, 1, 1)
        assert StaffMember.objects.filter(start_on__gte=after).count() >= 2
        assert StaffMember.objects.filter(end_on__gte=after).exists(), "someone moved on"
        assert Compensation.objects.filter(effective_on=date(2026, 1, 1)).count() >= 8, "January raises"
        assert Community.objects.filter(joined_on__gte=after).count() >= 20
        assert Community.objects.filter(left_on__gte=after).exists()
        assert Hub.objects.filter(launched_on__gte=after).count() >= 20
        assert (
            monthly_active_users(END)
            > monthly_active_users(date(2025, 11, 30))
            > monthly_active_users(END_2024)
        )
        assert counted_pull_requests(END).filter(merged_at__year=2026).count() > 500
        assert PullRequest.objects.filter(merged_at__isnull=True, created_at__year=2026).exists(), (
            "in progress"
        )
        signed = ServiceContract.objects.filter(status="signed", signed_on__gte=after)
        assert signed.filter(category="hub_service").count() >= 40
        assert signed.exclude(category="hub_service").exists()
        assert ContractPayment.objects.filter(paid_on__year=2026).count() > 100
        assert ServiceContract.objects.filter(status="declined", start_on__gte=after).exists(), (
            "not all renew"
        )
        assert Grant.objects.filter(awarded_on__gte=after, status__in=["awarded", "closed"]).count() >= 3
        assert Grant.objects.filter(status="declined", start_on__gte=after).exists()
        assert Disbursement.objects.filter(received_on__year=2026).exists()
        assert (
            Expense.objects.filter(start_on=date(2026, 1, 1), recurrence="monthly", end_on=None).count() >= 5
        )
        assert ExchangeRate.objects.filter(effective_on=date(2026, 11, 1)).exists()

    def test_the_forecast_history_has_a_snapshot_of_each_month_end_before_the_last(self):
        months = month_ends(date(2024, 12, 1), date(2026, 10, 31))
        for slug in ("base", "committed", "full"):
            snapshots = RunwaySnapshot.objects.filter(scenario__slug=slug).order_by("computed_at")
            assert [s.as_of for s in snapshots] == months, slug
        base = list(RunwaySnapshot.objects.filter(scenario__slug="base").order_by("computed_at"))
        cash = dict(CashPosition.objects.values_list("as_of", "balance"))
        for snapshot in base:
            # Computed after its month's books were closed, from that month-end's cash position.
            assert snapshot.as_of < snapshot.computed_at.date() <= snapshot.as_of + timedelta(days=10)
            assert Decimal(snapshot.result["opening_balance"]) == cash[snapshot.as_of]
            assert snapshot.result["as_of"] == snapshot.as_of.isoformat()
            assert snapshot.months == Decimal(snapshot.result["months"])
        assert len({snapshot.months for snapshot in base}) > 5, "the forecast moved"
        # What was known then: a forecast a year back counted on the grants then pending.
        assert base[0].result["periods"][0]["end"] == "2025-01-31"

    def test_the_base_runway_from_the_last_month_end_is_between_12_and_24_months(self):
        runways = {
            slug: project(load_inputs(scenario=Scenario.objects.get(slug=slug)))
            for slug in FORECAST_SCENARIOS
        }
        base = runways["base"]
        assert base.as_of == END
        assert Decimal(12) <= base.months <= Decimal(24)
        assert END + relativedelta(months=12) <= base.cash_out_on <= END + relativedelta(months=24)
        assert runways["committed"].months < base.months
        assert runways["full"].months is None or runways["full"].months > base.months

    def test_the_demo_saw_its_last_month_end_as_the_runway_loader_reads_it(self):
        # The forecast history is computed from the demo's own view of each month-end; on the last
        # one, that view and the loader reading the written rows give the same runway, when the
        # site's fee is the one the demo organization pays (the embedded default's).
        specs = community_specs(END)
        contracts = contract_plans(specs, END)
        books, _ = keep_books(team(END), contracts, END)
        for slug, params in FORECAST_SCENARIOS.items():
            with override_settings(OPSITE_FISCAL_SPONSOR_FEE=str(DEMO_FISCAL_SPONSOR_FEE)):
                loaded = project(load_inputs(scenario=Scenario.objects.get(slug=slug)))
            seen = project(inputs_on(books, END, params, books.cash[END]))
            assert seen.as_dict() == loaded.as_dict(), slug

    def test_the_growth_scenario_is_about_the_coming_year(self):
        grow = Scenario.objects.get(slug="grow-2027")
        hire, delay = (grow.adjustments.get(kind=kind) for kind in ("hire", "delay"))
        assert hire.start_on == date(2027, 4, 1)
        assert delay.grant.status in ("submitted", "awarded") and delay.start_on > END


def test_the_demo_ends_on_the_last_month_end_before_the_day_and_never_before_2025():
    assert demo_end(date(2026, 12, 3)) == date(2026, 11, 30)
    assert demo_end(date(2026, 12, 1)) == date(2026, 11, 30)
    assert demo_end(date(2026, 11, 30)) == date(2026, 10, 31)
    assert demo_end(date(2025, 3, 1)) == date(2025, 2, 28)
    assert demo_end(date(2025, 1, 15)) == END_2024
    assert demo_end(date(2023, 6, 1)) == END_2024


# --- determinism and idempotency --------------------------------------------------------------


def table_fingerprints() -> dict[str, tuple[int, str]]:
    """Row count and a digest of every value (ids and timestamps included) of every opsite table."""
    found = {}
    for label in ("opsite", *OPSITE_APPS):
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            rows = list(model._default_manager.order_by("pk").values_list())
            found[model._meta.label] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return found


def content_fingerprints() -> dict[str, str]:
    """A digest of every table's content, whatever ids the database handed out (PostgreSQL's
    sequences do not roll back) and whenever it was written: ids are replaced by each row's rank,
    and the write times are left out."""
    found = {}
    models = [
        model
        for label in ("opsite", *OPSITE_APPS)
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
    ]
    ranks = {
        model: {
            pk: rank
            for rank, pk in enumerate(model._default_manager.order_by("pk").values_list("pk", flat=True))
        }
        for model in models
    }
    written = {"created_at", "updated_at", "recorded_at", "history_date"}
    for model in models:
        fields = [
            field
            for field in model._meta.concrete_fields
            if field.name not in written or (model is PullRequest and field.name == "created_at")
        ]
        # A history row's ``id`` is its record's id, a plain column: ranked like the record's.
        tracked = getattr(model, "instance_type", None)
        rows = []
        for row in model._default_manager.order_by("pk").values_list(*(field.attname for field in fields)):
            rows.append(
                [
                    ranks[model][value]
                    if field.primary_key
                    else ranks[field.related_model].get(value)
                    if field.is_relation and field.related_model in ranks
                    else ranks[tracked].get(value)
                    if tracked in ranks and field.name == "id"
                    else value
                    for field, value in zip(fields, row, strict=True)
                ]
            )
        found[model._meta.label] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return found


def published_figures(day: date) -> dict[str, object]:
    """The figures the public reports give for ``day`` (docs/definitions.md), from plain queries."""
    active = active_communities(day)
    headcount = StaffMember.objects.filter(start_on__lte=day).filter(
        Q(end_on__isnull=True) | Q(end_on__gte=day)
    )
    counted = counted_pull_requests(day)
    return {
        "active communities": active.count(),
        "historically marginalized": active.filter(historically_marginalized=True).count(),
        "countries": active.values("country").distinct().count(),
        "users": [monthly_active_users(day, period) for period in ("30d", "7d", "24h")],
        "pull requests": counted.count(),
        "repositories": counted.values("repository").distinct().count(),
        "headcount": headcount.count(),
        "fte": headcount.aggregate(fte=Sum("fte"))["fte"],
        "grants": sorted(
            Grant.objects.filter(status__in=["awarded", "closed"], awarded_on__lte=day).values_list(
                "reference", "amount"
            )
        ),
        "contracts": sorted(
            ServiceContract.objects.filter(status="signed", signed_on__lte=day).values_list(
                "reference", "total_value"
            )
        ),
    }


@pytest.mark.django_db
def test_the_figures_of_2023_and_2024_do_not_depend_on_the_day_the_demo_is_loaded_for():
    figures = {}
    for today in (DEMO_TODAY, HISTORY_ONLY):
        with transaction.atomic():
            demo_load(today=today)
            figures[today] = {day: published_figures(day) for day in (END_2023, END_2024)}
            transaction.set_rollback(True)
    assert figures[DEMO_TODAY] == figures[HISTORY_ONLY]
    assert figures[HISTORY_ONLY][END_2024]["headcount"] == 12
    assert 100 <= figures[HISTORY_ONLY][END_2024]["active communities"] <= 110


@pytest.mark.django_db
def test_two_loads_for_the_same_day_write_the_same_rows():
    fingerprints = []
    for _ in range(2):
        with transaction.atomic():
            demo_load(today=DEMO_TODAY)
            fingerprints.append(content_fingerprints())
            transaction.set_rollback(True)
    assert fingerprints[0] == fingerprints[1]
    assert fingerprints[0]["funding.RunwaySnapshot"] != content_fingerprints()["funding.RunwaySnapshot"]


def test_a_later_load_tells_the_same_story_up_to_where_an_earlier_one_ends():
    stories = {}
    for end in (date(2025, 9, 30), date(2026, 3, 31)):
        books, forecasts = keep_books(team(end), contract_plans(community_specs(end), end), end)
        stories[end] = (books.cash, {(f.scenario, f.result.as_of): f.result.as_dict() for f in forecasts})
    (early_cash, early_forecasts), (late_cash, late_forecasts) = stories.values()
    assert early_cash == {day: balance for day, balance in late_cash.items() if day <= date(2025, 9, 30)}
    assert early_forecasts == {
        key: value for key, value in late_forecasts.items() if key[1] < date(2025, 9, 30)
    }


def test_what_the_demo_generates_for_a_day_does_not_depend_on_the_clock():
    def generated() -> list:
        specs = community_specs(END)
        return [
            [
                (
                    s.community.slug,
                    s.community.joined_on,
                    s.base_users,
                    [(h.slug, h.launched_on) for h in s.hubs],
                )
                for s in specs
            ],
            [(c.reference, c.value, c.signed_on, c.declined_on) for c in contract_plans(specs, END)],
            [(p.slug, p.start_on, p.end_on, p.pay) for p in team(END)],
        ]

    with time_machine.travel(datetime(2031, 7, 4, 12, 0), tick=False):
        later = generated()
    assert generated() == later


@pytest.mark.django_db
def test_if_empty_loads_the_demo_into_an_empty_database_up_to_the_real_today():
    with time_machine.travel(datetime(2025, 3, 10, 12, 0, tzinfo=UTC), tick=False):
        call_command("load_demo", "--if-empty", verbosity=0)
    assert CashPosition.objects.latest("as_of").as_of == date(2025, 2, 28)
    assert Community.objects.count() > 100
    assert PullRequest.objects.count() > 2000


@pytest.mark.django_db
def test_load_demo_today_sets_where_the_demo_ends(capsys):
    call_command("load_demo", "--today", "2025-04-02")
    assert "Demo data loaded to 2025-03-31" in capsys.readouterr().out
    assert CashPosition.objects.latest("as_of").as_of == date(2025, 3, 31)


@pytest.mark.parametrize(
    "value", ["2026-13-01", "2026-02-30", "3 Dec 2026", "2026-12-3", "20261203", "2026-W49-4", ""]
)
@pytest.mark.django_db
def test_load_demo_refuses_a_malformed_today_with_a_clear_error(value):
    with pytest.raises(CommandError, match=r"--today takes a date written YYYY-MM-DD, such as 2026-12-03"):
        call_command("load_demo", "--today", value)
    assert not Community.objects.exists()


@pytest.mark.django_db
def test_load_demo_refuses_a_today_that_has_not_come_yet():
    with (
        time_machine.travel(datetime(2026, 12, 3, 12, 0, tzinfo=UTC), tick=False),
        pytest.raises(CommandError, match="is after today"),
    ):
        call_command("load_demo", "--today", "2026-12-04")
    assert not Community.objects.exists()


@pytest.mark.django_db
def test_a_second_run_another_day_changes_no_count_and_no_value():
    demo_load(today=DEMO_TODAY)
    before = table_fingerprints()
    with time_machine.travel(datetime(2031, 7, 4, 12, 0), tick=False):
        created = demo_load(today=DEMO_TODAY)
    assert sum(created.values()) == 0
    assert table_fingerprints() == before
    assert before["communities.ActiveUserCount"][0] > 10000


@pytest.mark.django_db
def test_if_empty_does_nothing_when_the_database_has_a_community():
    community = Community(slug="existing", name="Existing", kind="school", country="US", joined_on=END_2024)
    community_derive(community)
    community.save()
    call_command("load_demo", "--if-empty")
    assert list(Community.objects.values_list("slug", flat=True)) == ["existing"]
    assert not StaffMember.objects.exists()
    assert not PullRequest.objects.exists()


# --- demo logins ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_demo_superuser_creates_one_login_per_role_and_a_second_run_changes_nothing(monkeypatch, capsys):
    from funding.tests.factories import FunderReportFactory
    from opsite.tests.test_roles import ensure_role_groups

    ensure_role_groups()
    ownerless = FunderReportFactory(owner=None)
    monkeypatch.setenv("OPSITE_DEMO_PASSWORD", "a-demo-password")
    call_command("demo_superuser")
    ownerless.refresh_from_db()
    assert ownerless.owner.username == "finance"  # the reminders of the demo's reports go to Finance
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8000/admin/" in out and "a-demo-password" in out
    users = {u.username: u for u in get_user_model().objects.prefetch_related("groups")}
    assert users["admin"].is_superuser and users["admin"].check_password("a-demo-password")
    for username, group in (
        ("operations", "Operations"),
        ("finance", "Finance"),
        ("leadership", "Leadership"),
    ):
        user = users[username]
        assert user.is_staff and not user.is_superuser
        assert [g.name for g in user.groups.all()] == [group]
    before = list(get_user_model().objects.order_by("pk").values_list())
    call_command("demo_superuser")
    assert list(get_user_model().objects.order_by("pk").values_list()) == before


@pytest.mark.django_db
def test_demo_superuser_wants_a_chosen_password_when_debug_is_off(monkeypatch, settings):
    monkeypatch.delenv("OPSITE_DEMO_PASSWORD", raising=False)
    settings.DEBUG = False
    with pytest.raises(CommandError, match="OPSITE_DEMO_PASSWORD"):
        call_command("demo_superuser")
    assert not get_user_model().objects.exists()
