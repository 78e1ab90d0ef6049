"""The demo organization: its figures, its determinism, and that loading it twice changes nothing.

The figures are recomputed here from the raw tables with plain ORM queries that follow docs/definitions.md
"Definitions", independently of the rollups, so a bug in either shows up as a disagreement.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date, datetime, timedelta
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
    Subaward,
    SubawardPayment,
)
from opsite.core.roles import OPSITE_APPS
from opsite.demo.loader import DemoBuilder, demo_load
from staff.models import Compensation, StaffMember

END_2023 = date(2023, 12, 31)
END_2024 = date(2024, 12, 31)
WINDOWS = {"30d": 35, "7d": 10, "24h": 2}
KEY_ORGS = {
    "jupyter", "jupyterlab", "jupyter-server", "jupyterhub", "binder-examples", "executablebooks",
    "jupyter-book", "dask", "pydata", "pangeo-data", "rocker-org", "cryptnono",
}  # fmt: skip


@pytest.fixture(scope="class")
def demo(django_db_setup, django_db_blocker):
    """The demo, loaded once for a class of tests and rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        demo_load()
        yield
        transaction.set_rollback(True)


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


def counted_pull_requests():
    merged_on = TruncDate("merged_at")
    return (
        PullRequest.objects.filter(
            merged_at__isnull=False,
            repository__upstream_community__is_key=True,
            is_bot=False,
            author__isnull=False,
        )
        .annotate(merged_on=merged_on)
        .filter(
            merged_on__gte=date(2021, 1, 1), merged_on__lte=END_2024, author__start_on__lte=F("merged_on")
        )
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
        network = Network.objects.annotate(size=Count("communities")).get()
        assert 18 <= network.size <= 22
        regions = set(network.communities.values_list("region", flat=True))
        assert regions == {"latin_america", "africa"}

    def test_hubs_run_on_three_clouds_with_a_few_daskhubs_binderhubs_and_retired_hubs(self):
        assert {"gcp", "aws", "azure"} <= set(Hub.objects.values_list("provider", flat=True))
        kinds = Counter(Hub.objects.values_list("kind", flat=True))
        assert 3 <= kinds["daskhub"] <= 12
        assert 1 <= kinds["binderhub"] <= 2
        assert 2 <= Hub.objects.filter(retired_on__isnull=False).count() <= 4

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

    def test_every_live_hub_has_month_end_samples_of_each_period_from_2021_to_2024(self):
        samples = ActiveUserCount.objects.filter(hub__in=live_hubs(END_2024))
        assert set(samples.values_list("period", flat=True)) == {"24h", "7d", "30d"}
        assert samples.filter(date__lt=date(2021, 1, 1)).count() == 0
        assert ActiveUserCount.objects.filter(date=date(2021, 1, 31)).exists()
        per_hub = samples.filter(period="30d").values("hub").annotate(n=Count("id"))
        assert all(row["n"] >= 1 for row in per_hub)
        assert per_hub.count() == live_hubs(END_2024).count()

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

    def test_the_prime_grant_passes_two_subawards_on_within_its_amount(self):
        prime = Grant.objects.get(role="prime")
        subawards = Subaward.objects.filter(grant=prime)
        assert subawards.count() == 2
        assert subawards.aggregate(total=Sum("amount"))["total"] <= prime.amount
        for subaward in subawards:
            payments = [p.amount for p in subaward.payments.all()]
            assert sum(payments) == subaward.amount
        paid = SubawardPayment.objects.filter(subaward__grant=prime)
        assert paid.filter(paid_on__isnull=False).exists() and paid.filter(paid_on__isnull=True).exists()

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

    def test_the_euro_grant_converts_at_a_rate_in_effect(self):
        grant = Grant.objects.get(currency="EUR")
        for disbursement in grant.disbursements.all():
            assert usd(disbursement.amount, "EUR", disbursement.expected_on) > disbursement.amount * Decimal(
                "0.9"
            )

    def test_cash_and_expenses_are_those_of_a_small_nonprofit(self):
        cash = CashPosition.objects.latest("as_of")
        assert cash.as_of == END_2024
        assert Decimal("1500000") <= cash.balance <= Decimal("2200000")
        monthly = Expense.objects.filter(recurrence="monthly", end_on__isnull=True)
        assert {"cloud", "software", "overhead"} <= set(monthly.values_list("category", flat=True))
        assert Expense.objects.filter(recurrence="once").count() >= 2

    def test_the_runway_under_weighted_pipeline_is_between_10_and_24_months(self):
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


# --- determinism and idempotency --------------------------------------------------------------


def table_fingerprints() -> dict[str, tuple[int, str]]:
    """Row count and a digest of every value (ids and timestamps included) of every opsite table."""
    found = {}
    for label in ("opsite", *OPSITE_APPS):
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            rows = list(model._default_manager.order_by("pk").values_list())
            found[model._meta.label] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return found


def generated(builder: DemoBuilder) -> list:
    """What the builder computes before writing anything (no database read)."""
    specs = builder.community_specs()
    builder.specs = specs
    return [
        [
            (s.community.slug, s.community.joined_on, s.base_users, [(h.slug, h.launched_on) for h in s.hubs])
            for s in specs
        ],
        [(t["reference"], t["value"], t["signed_on"]) for t in builder.contract_terms()],
    ]


def test_what_the_demo_generates_does_not_depend_on_today():
    with time_machine.travel(datetime(2031, 7, 4, 12, 0), tick=False):
        later = generated(DemoBuilder())
    assert generated(DemoBuilder()) == later


@pytest.mark.django_db
def test_if_empty_loads_the_demo_into_an_empty_database():
    call_command("load_demo", "--if-empty")
    assert Community.objects.count() > 100
    assert PullRequest.objects.count() > 2000


@pytest.mark.django_db
def test_a_second_run_another_day_changes_no_count_and_no_value():
    demo_load()
    before = table_fingerprints()
    with time_machine.travel(datetime(2031, 7, 4, 12, 0), tick=False):
        created = demo_load()
    assert sum(created.values()) == 0
    assert table_fingerprints() == before
    assert before["communities.ActiveUserCount"][0] > 5000


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
    from opsite.tests.test_roles import ensure_role_groups

    ensure_role_groups()
    monkeypatch.setenv("OPSITE_DEMO_PASSWORD", "a-demo-password")
    call_command("demo_superuser")
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
