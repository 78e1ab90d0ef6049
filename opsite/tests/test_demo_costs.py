"""The demo's cloud costs (opsite.demo.costs): two years of daily bills on every cluster.

The margins are recomputed here from the raw rows by docs/definitions.md "Cloud costs", with
plain queries and none of the rollups' code, so a bug in either shows up as a disagreement. The
demo is loaded for ``DEMO_TODAY``: its last month-end is 2026-11-30.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from statistics import median

import pytest
from django.db.models import Count, Max, Min, Sum

from communities.models import ActiveUserCount, CloudCost, CostSource, Hub
from contracts.models import ServiceContract
from funding.models import Expense
from opsite.demo import costs
from opsite.demo.communities import community_specs, show_on, usage_samples
from opsite.demo.contracts import contract_plans
from opsite.demo.loader import DEMO_TODAY, demo_load
from opsite.tests.shared_rows import loaded_demo

END = date(2026, 11, 30)
# Two years of whole months up to the end.
FIRST_DAY = date(2024, 12, 1)
# The last 12 complete months.
YEAR_START = date(2025, 12, 1)
HOSTING = {"gcp": "Google Cloud hosting", "aws": "AWS hosting", "azure": "Azure hosting"}


@pytest.fixture(scope="class")
def demo(django_db_setup, django_db_blocker):
    """The demo, loaded once for a class of tests and rolled back after it."""
    with loaded_demo(django_db_blocker):
        yield


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# --- the definitions, as plain queries --------------------------------------------------------


def hub_costs(first: date, last: date) -> dict[int, Decimal]:
    """The cost of each hub over whole months ``first`` to ``last``: month by month, its own costs
    plus a share of its cluster's costs with no hub, in proportion to its own costs that month."""
    own: dict[tuple[str, int, int, int], Decimal] = defaultdict(Decimal)
    shared: dict[tuple[str, int, int], Decimal] = defaultdict(Decimal)
    for day, cluster, hub, amount in CloudCost.objects.filter(date__range=(first, last)).values_list(
        "date", "cluster", "hub_id", "amount"
    ):
        if hub is None:
            shared[cluster, day.year, day.month] += amount
        else:
            own[cluster, day.year, day.month, hub] += amount
    totals: dict[tuple[str, int, int], Decimal] = defaultdict(Decimal)
    for (cluster, year, month, _hub), amount in own.items():
        totals[cluster, year, month] += amount
    cost: dict[int, Decimal] = defaultdict(Decimal)
    for (cluster, year, month, hub), amount in own.items():
        if amount:  # a hub with no costs of its own gets no share
            cost[hub] += amount + shared[cluster, year, month] * amount / totals[cluster, year, month]
    return cost


def recognized(first: date, last: date) -> dict[str, Decimal]:
    """Each community's signed contracts' value recognized evenly over their days, within the dates."""
    value: dict[str, Decimal] = defaultdict(Decimal)
    for contract in ServiceContract.objects.filter(status="signed").select_related("community"):
        start, end = max(contract.start_on, first), min(contract.end_on, last)
        if start <= end:
            term = (contract.end_on - contract.start_on).days + 1
            value[contract.community.slug] += contract.total_value * ((end - start).days + 1) / term
    return value


def margins(first: date, last: date) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Each community's margin and its hubs' cost over the months ``first`` to ``last``."""
    community = dict(Hub.objects.values_list("pk", "community__slug"))
    cost: dict[str, Decimal] = defaultdict(Decimal)
    for hub, amount in hub_costs(first, last).items():
        cost[community[hub]] += amount
    revenue = recognized(first, last)
    return {slug: revenue.get(slug, Decimal(0)) - cost[slug] for slug in cost.keys() | revenue.keys()}, cost


def users_on(day: date) -> dict[str, int]:
    """Each community's 30d active users of its hubs' samples on a month-end (binderhubs left out)."""
    rows = ActiveUserCount.objects.filter(date=day, period="30d").exclude(hub__kind="binderhub")
    totals = rows.values("hub__community__slug").annotate(users=Sum("active_users"))
    return {row["hub__community__slug"]: row["users"] for row in totals}


# --- the bill ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("demo", "db")
class TestDemoCosts:
    def test_every_cluster_has_costs_on_every_day_of_the_last_two_years_and_no_other(self):
        span = CloudCost.objects.aggregate(first=Min("date"), last=Max("date"))
        assert (span["first"], span["last"]) == (FIRST_DAY, END)
        clusters = set(Hub.objects.values_list("cluster", flat=True))
        assert len(clusters) >= 10
        for component in ("core", "networking", "object_storage", "backup", "other"):
            rows = CloudCost.objects.filter(hub__isnull=True, component=component)
            assert set(rows.values_list("cluster", "date")) == {
                (cluster, day) for cluster in clusters for day in days(FIRST_DAY, END)
            }, component

    def test_every_live_hub_has_its_compute_every_day_and_its_home_storage_unless_a_binderhub(self):
        expected = {"compute": set(), "home_storage": set()}
        for hub in Hub.objects.all():
            for day in days(max(hub.launched_on, FIRST_DAY), END):
                if hub.retired_on is None or day < hub.retired_on:
                    expected["compute"].add((hub.pk, day))
                    if hub.kind != "binderhub":
                        expected["home_storage"].add((hub.pk, day))
        for component, rows in expected.items():
            stored = CloudCost.objects.filter(hub__isnull=False, component=component)
            assert set(stored.values_list("hub_id", "date")) == rows, component
        assert len(expected["compute"]) > 80000
        # Each on its hub's own cluster; a hub owns no other component.
        assert (
            not CloudCost.objects.filter(hub__isnull=False)
            .exclude(component__in=["compute", "home_storage"])
            .exists()
        )
        clusters = dict(Hub.objects.values_list("pk", "cluster"))
        pairs = CloudCost.objects.filter(hub__isnull=False).values_list("hub_id", "cluster").distinct()
        assert all(clusters[hub] == cluster for hub, cluster in pairs)

    def test_amounts_are_us_dollars_and_never_negative_and_the_rows_pass_validation(self):
        assert set(CloudCost.objects.values_list("currency", flat=True).distinct()) == {"USD"}
        assert CloudCost.objects.aggregate(low=Min("amount"))["low"] >= 0
        # Django adds a query per constraint and row: an evenly spread sample.
        pks = list(CloudCost.objects.order_by("pk").values_list("pk", flat=True))
        for row in CloudCost.objects.filter(pk__in=pks[:: len(pks) // 12]):
            row.full_clean()
        for source in CostSource.objects.all():
            source.full_clean()

    def test_compute_is_the_largest_component_and_core_the_largest_shared_one(self):
        totals = dict(CloudCost.objects.values_list("component").annotate(total=Sum("amount")))
        assert max(totals, key=totals.get) == "compute"
        assert totals["compute"] > Decimal("0.4") * sum(totals.values())
        shared = {c: totals[c] for c in ("core", "networking", "object_storage", "backup", "other")}
        assert max(shared, key=shared.get) == "core"
        # Each dedicated cluster's core is the whole of it; a shared cluster's is shared by many hubs.
        hubs = Hub.objects.values("cluster").annotate(n=Count("pk"))
        assert {row["n"] > 1 for row in hubs} == {True, False}

    def test_home_storage_grows_from_quarter_to_quarter(self):
        def storage(first: date, last: date) -> Decimal:
            rows = CloudCost.objects.filter(component="home_storage", date__range=(first, last))
            return rows.aggregate(total=Sum("amount"))["total"]

        first = storage(FIRST_DAY, date(2025, 2, 28))
        middle = storage(date(2025, 9, 1), date(2025, 11, 30))
        last = storage(date(2026, 9, 1), END)
        assert first < middle < last < 3 * first

    def test_weekends_and_the_holidays_cost_less_compute(self):
        compute = CloudCost.objects.filter(component="compute")
        by_day = dict(compute.values_list("date").annotate(total=Sum("amount")))
        november = days(date(2026, 11, 1), END)
        weekdays = [by_day[day] for day in november if day.weekday() < 5]
        weekends = [by_day[day] for day in november if day.weekday() >= 5]
        assert min(weekdays) > max(weekends)
        assert by_day[date(2025, 12, 25)] < Decimal("0.6") * by_day[date(2025, 12, 10)]
        # And it grows with the users.
        assert sum(by_day[day] for day in days(YEAR_START, END)) > sum(
            by_day[day] for day in days(FIRST_DAY, YEAR_START - timedelta(days=1))
        )

    def test_the_clusters_the_organization_pays_for_cost_about_its_books_hosting_lines(self):
        # The pass-through clusters are on the books as bills of their own.
        passed = set(
            Hub.objects.filter(
                community__contracts__category="cloud", community__contracts__status="signed"
            ).values_list("cluster", flat=True)
        )
        provider = dict(Hub.objects.values_list("cluster", "provider"))
        month: dict[str, Decimal] = defaultdict(Decimal)
        june = CloudCost.objects.filter(date__range=(date(2026, 6, 1), date(2026, 6, 30)))
        for cluster, amount in june.values_list("cluster", "amount"):
            if cluster not in passed:
                month[provider[cluster]] += amount
        for name, line in HOSTING.items():
            booked = (
                Expense.objects.filter(name=line, start_on__lte=date(2026, 6, 1)).latest("start_on").amount
            )
            assert booked * Decimal("0.8") < month[name] < booked * Decimal("1.2"), name

    # --- margins ------------------------------------------------------------------------------

    def test_a_few_paying_communities_run_at_a_loss_over_the_last_12_complete_months(self):
        margin, cost = margins(YEAR_START, END)
        revenue = recognized(YEAR_START, END)
        paying = {slug for slug, value in revenue.items() if value > 0}
        at_a_loss = {slug for slug in paying if margin[slug] < 0}
        assert 2 <= len(at_a_loss) <= 4
        # Heavy compute users: their cost per active user is several times the other payers'.
        users = users_on(END)
        per_user = {slug: cost[slug] / users[slug] for slug in paying if users.get(slug)}
        typical = median(per_user[slug] for slug in per_user if slug not in at_a_loss)
        assert all(per_user[slug] > 2 * typical for slug in at_a_loss)
        # Every other payer is comfortably in the black, those who pass their bill through included.
        for slug in paying - at_a_loss:
            assert cost[slug] < Decimal("0.95") * revenue[slug], slug
        # Communities without a contract run at a loss by construction (their margin is -cost).
        assert all(margin[slug] == -cost[slug] for slug in cost.keys() - revenue.keys())

    def test_the_losses_are_the_demos_gpu_courses(self):
        margin, _cost = margins(YEAR_START, END)
        specs = community_specs(END)
        chosen = costs.gpu_communities(specs, contract_plans(specs, END))
        paying = {slug for slug, value in recognized(YEAR_START, END).items() if value > 0}
        assert {slug for slug in paying if margin[slug] < 0} == set(chosen)

    # --- sources and reloading ----------------------------------------------------------------

    def test_each_cluster_has_a_cost_source_that_is_switched_off(self):
        sources = {source.cluster: source for source in CostSource.objects.all()}
        assert set(sources) == set(Hub.objects.values_list("cluster", flat=True))
        for cluster, source in sources.items():
            assert source.url == f"https://cost-monitoring.{cluster}.example.org"
            assert (source.enabled, source.auth, source.secret_env, source.currency) == (
                False,
                "none",
                "",
                "USD",
            )
            assert source.hub_mapping.get("staging") == ""
            if "prod" in source.hub_mapping:
                assert Hub.objects.get(slug=source.hub_mapping["prod"]).cluster == cluster

    def test_a_second_load_for_the_same_day_adds_no_cost(self):
        before = CloudCost.objects.aggregate(n=Count("pk"), total=Sum("amount"))
        created = demo_load(today=DEMO_TODAY)
        assert created["communities.CloudCost"] == created["communities.CostSource"] == 0
        assert CloudCost.objects.aggregate(n=Count("pk"), total=Sum("amount")) == before


def generated(end: date) -> dict[tuple, Decimal]:
    specs = community_specs(end)
    plans = contract_plans(specs, end)
    samples = usage_samples(specs, end)
    rows = costs.cost_rows(show_on(specs, end), samples, plans, end)
    return {(day, cluster, hub, component): amount for day, cluster, hub, component, amount in rows}


def test_a_days_costs_are_the_same_in_every_load_that_covers_it():
    early, late = generated(date(2026, 2, 28)), generated(END)
    assert min(day for day, *_ in early) == date(2024, 3, 1)
    shared = early.keys() & late.keys()
    assert {key for key in early if key[0] >= FIRST_DAY} == shared
    assert {key for key in late if key[0] <= date(2026, 2, 28)} == shared
    assert len(shared) > 60000
    assert all(early[key] == late[key] for key in shared)
    # Money to the cent as generated (read back, Django rounds to the column's places anyway).
    assert all(amount >= 0 and amount.as_tuple().exponent == -2 for amount in late.values())
