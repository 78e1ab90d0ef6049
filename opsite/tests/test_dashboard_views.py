"""The leadership dashboard's views: who may see it, what it costs, its CSVs, its health sentences.

The what-if planner's endpoints are in test_dashboard_what_if.py; the figures' formatting, the
runway cards' states, the charts and the charting bundle in test_dashboard_figures.py.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from communities.models import ActiveUserCount
from communities.tests.factories import CommunityFactory, HubFactory
from funding.models import RunwaySnapshot, Scenario, ScenarioAdjustment
from funding.runway import Band
from funding.runway.snapshots import runway_recompute, runway_recompute_all
from funding.tests.factories import GrantFactory
from opsite.dashboard.charts import CHART_SLUGS
from opsite.dashboard.charts.runway import drawn_periods
from opsite.dashboard.health import INDICATOR_LABELS, HealthFigures, green_sentence, money, round_up
from opsite.kpis.rollups import recompute_rollups
from opsite.tests.dashboard_support import (  # noqa: F401 (demo: a fixture)
    SAVE,
    URL,
    WHAT_IF,
    cash_day,
    csv_rows,
    demo,
    figures_of,
    page_on,
    post_json,
)
from staff.tests.factories import StaffMemberFactory

HIRE = {"kind": "hire", "label": "Data engineer", "amount": "150000.00", "start_on": "2025-02-01"}


# --- who may see it ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("client_fixture", ["finance_client", "leadership_client", "super_client"])
def test_finance_leadership_and_superusers_see_the_dashboard(request, client_fixture):
    response = request.getfixturevalue(client_fixture).get(URL)
    assert response.status_code == 200
    assert b"Runway by scenario" in response.content
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method, url",
    [("get", URL), ("get", "/leadership/data/cash.csv"), ("post", WHAT_IF), ("post", SAVE)],
)
def test_operations_gets_403_everywhere_on_the_dashboard(operations_client, method, url):
    if method == "post":
        response = post_json(operations_client, url, {"scenario": "base", "adjustments": []})
        assert response.json()["errors"]["__all__"]
    else:
        response = operations_client.get(url)
    assert response.status_code == 403
    assert b"Runway" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("url", [URL, "/leadership/data/funding.csv"])
def test_anonymous_visitors_are_sent_to_the_login_page_and_back(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={url}"


@pytest.mark.django_db
def test_an_inactive_finance_user_is_treated_as_anonymous(inactive_user):
    client = Client()
    client.force_login(inactive_user)
    assert client.get(URL).status_code == 302


@pytest.mark.django_db
def test_anonymous_what_if_posts_get_a_403_json_answer_not_a_login_page(client):
    response = post_json(client, WHAT_IF, {"scenario": "base", "adjustments": [HIRE]})
    assert response.status_code == 403
    assert response.json() == {"errors": {"__all__": ["Log in to use the what-if planner."]}}


@pytest.mark.django_db
def test_what_if_posts_without_a_csrf_token_are_refused(leadership_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(leadership_user)
    assert post_json(client, WHAT_IF, {"scenario": "base", "adjustments": [HIRE]}).status_code == 403


@pytest.mark.django_db
def test_the_page_renders_its_empty_states_before_anything_is_computed(leadership_client):
    response = leadership_client.get(URL)
    assert response.status_code == 200
    content = response.content.decode()
    assert "No cash position is recorded" in content
    assert "Not computed yet" in content
    assert "No figures yet" in content


# --- the page with the demo -------------------------------------------------------------------


@pytest.mark.usefixtures("demo", "db")
class TestDashboardWithTheDemo:
    def test_every_chart_has_a_figure_a_table_and_a_csv_link(self, leadership_client):
        response = leadership_client.get(URL)
        content = response.content.decode()
        figures = figures_of(content)
        assert list(figures) == list(CHART_SLUGS)
        for slug in CHART_SLUGS:
            assert figures[slug]["data"], slug
            assert f'data-chart="{slug}"' in content
            assert f'href="/leadership/data/{slug}.csv"' in content
        assert content.count('<th scope="col">') > 30

    def test_each_scenario_shows_its_runway_cash_out_date_burn_and_comfort_floor(self, leadership_client):
        content = leadership_client.get(URL).content.decode()
        base = RunwaySnapshot.objects.filter(scenario__slug="base").latest().result
        assert f"{Decimal(base['months']):.2f} months" in content
        assert "months above the 12-month comfort floor" in content
        burn = Decimal(base["forward_burn"])
        # Money as the whole site writes it: separators, then the currency.
        if burn > 0:
            assert f"12 months of forward burn: {round(burn * 12):,} USD" in content
        else:
            assert f"{round(-burn):,} USD net income" in content
        for slug in Scenario.objects.values_list("slug", flat=True):
            assert f'id="runway-{slug}"' in content
        # Every indicator is a light with its status in words and what would turn it better.
        assert content.count('class="indicator status-') == len(INDICATOR_LABELS) * Scenario.objects.count()
        # ... one sentence naming the band reached for each red or yellow light (the snapshots
        # carry each indicator's target and needed, so the sentences are the exact ones).
        lights = [
            RunwaySnapshot.objects.filter(scenario=scenario).latest().result["indicators"][name]["status"]
            for scenario in Scenario.objects.all()
            for name in INDICATOR_LABELS
        ]
        sentences = re.findall(r'<span class="sentence">([^<]*)</span>', content)
        assert len(sentences) == len(lights)
        assert sum(
            re.search(r"turns? [a-z ]+ (yellow|green)", sentence) is not None for sentence in sentences
        ) == sum(status in ("red", "yellow") for status in lights)

    def test_a_stale_cash_position_is_warned_about_and_a_fresh_one_is_not(self, leadership_user):
        as_of = cash_day()
        content = page_on(as_of + timedelta(days=60), leadership_user)
        assert 'id="cash-warning"' in content and "60 days ago (more than 45)" in content
        content = page_on(as_of + timedelta(days=20), leadership_user)
        assert 'id="cash-warning"' not in content
        assert "Cash position of <strong" in content and f"{as_of.day} {as_of:%b %Y}" in content

    def test_the_page_takes_the_same_queries_with_years_more_history(
        self, leadership_client, django_assert_num_queries
    ):
        # For a Leadership user: the session, the user, their permissions and their groups'
        # permissions; then the rollup store (one IN query, data-quality notes included), the
        # scenarios with their latest snapshot ids, those snapshots, the runway history, the
        # latest cash position's date, the saved adjustments, the grants a delay may move,
        # headcount/FTE by team, the upstream communities' names (the pull-request chart names
        # them, the series stores slugs) and the recomputes' state; then the "Needs attention"
        # panel: the collection flags' contracts and grants (one query each, summed in the
        # database) and the flagged records' ids for their admin links (one query); and the
        # stored cloud cost rollups (one query); then the "Grant budgets and reports" panel: the budget
        # selector's pace outliers (seven: the grants in effect, budget lines, rates, allocations,
        # compensations, expenses, subaward payments) and the reports due or late (one).
        leadership_client.get(URL)  # warm up: content types, the permission cache's first fill
        with django_assert_num_queries(26):
            assert leadership_client.get(URL).status_code == 200

        self._add_years_of_history()
        with django_assert_num_queries(26):
            assert leadership_client.get(URL).status_code == 200

    @staticmethod
    def _add_years_of_history() -> None:
        """Two earlier years of usage on new hubs, more staff, grants, scenarios and snapshots."""
        samples = []
        for n in range(6):
            community = CommunityFactory(slug=f"early-{n}", joined_on=date(2018, 1, 1))
            hub = HubFactory(slug=f"early-hub-{n}", community=community, launched_on=date(2018, 1, 1))
            day = date(2018, 1, 31)
            while day < date(2021, 1, 1):
                samples += [
                    ActiveUserCount(hub=hub, date=day, period=period, active_users=40)
                    for period in ("30d", "7d")
                ]
                day += timedelta(days=30)
        ActiveUserCount.objects.bulk_create(samples)
        for n in range(10):
            StaffMemberFactory(slug=f"extra-{n}", github=f"extra-{n}", start_on=date(2018, 1, 1))
            GrantFactory(reference=f"extra-grant-{n}")
        for n in range(3):
            scenario = Scenario.objects.create(slug=f"extra-{n}", name=f"Extra {n}", pipeline="weighted")
            ScenarioAdjustment.objects.create(
                scenario=scenario,
                kind="outflow",
                label="Extra",
                amount=Decimal("1000.00"),
                start_on=date(2025, 3, 1),
            )
        for _ in range(3):
            runway_recompute_all()
            RunwaySnapshot.objects.update(computed_at=timezone.now() - timedelta(days=2))
        recompute_rollups()
        assert ActiveUserCount.objects.filter(date__year=2018).exists()

    # --- CSV downloads -------------------------------------------------------------------------

    @pytest.mark.parametrize("slug", CHART_SLUGS)
    def test_every_chart_downloads_as_csv_with_its_headers_and_rows(self, finance_client, slug):
        response = finance_client.get(f"/leadership/data/{slug}.csv")
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert f'filename="opsite-{slug}-' in response["Content-Disposition"]
        rows = csv_rows(response)
        assert len(rows) >= 2, "a header row and at least one row of figures"
        assert len({len(row) for row in rows}) == 1, "every row as wide as the header"

    def test_the_cash_csv_has_the_drawn_periods_and_a_column_per_scenario(self, finance_client):
        rows = csv_rows(finance_client.get("/leadership/data/cash.csv"))
        names = list(Scenario.objects.order_by("-is_default", "name").values_list("name", flat=True))
        assert rows[0] == ["Period end", *names]
        results = [RunwaySnapshot.objects.filter(scenario__name=name).latest().result for name in names]
        base = results[0]
        assert rows[1] == [base["as_of"], *[base["opening_balance"]] * len(names)]
        # One row per period end any scenario draws (each until a few months after its cash-out).
        drawn = {period["end"] for result in results for period in drawn_periods(result)}
        assert [row[0] for row in rows[2:]] == sorted(drawn)
        base_rows = [row for row in rows[2:] if row[1]]
        assert [row[1] for row in base_rows] == [period["closing"] for period in drawn_periods(base)]

    def test_the_funding_csv_matches_the_stored_quarters(self, finance_client):
        rows = csv_rows(finance_client.get("/leadership/data/funding.csv"))
        assert rows[0][0] == "Quarter" and rows[0][-2:] == ["Total (gross)", "Total (net)"]
        quarters = {row[0]: row for row in rows[1:]}
        assert quarters["2024-Q4"][-2] == "124200.00"

    def test_csv_text_cells_are_neutralized_and_negative_numbers_are_not(self, finance_client):
        scenario = Scenario.objects.create(slug="formula", name='=HYPERLINK("http://x")', pipeline="weighted")
        runway_recompute(scenario=scenario)
        rows = csv_rows(finance_client.get("/leadership/data/cash.csv"))
        assert '\'=HYPERLINK("http://x")' in rows[0]
        flows = csv_rows(finance_client.get("/leadership/data/flows.csv"))
        nets = [row[-1] for row in flows[1:]]
        assert any(net.startswith("-") for net in nets), "a month that burns cash has a negative net"
        assert not any(net.startswith("'") for net in nets)

    def test_an_unknown_chart_is_a_404(self, finance_client):
        assert finance_client.get("/leadership/data/salaries.csv").status_code == 404


# --- what would turn each indicator green ------------------------------------------------------


def _figures(outflows, *, opening="1000000.00", reserve="0", cost_coverage=None) -> HealthFigures:
    return HealthFigures(
        outflows=tuple(Decimal(out) for out in outflows),
        opening_balance=Decimal(opening),
        reserve=Decimal(reserve),
        cost_coverage=None if cost_coverage is None else Decimal(cost_coverage),
        currency="USD",
    )


COST = Band(yellow=Decimal("0.85"), green=Decimal("1.00"), over=Decimal("1.30"))
PIPELINE = Band(yellow=Decimal("1.00"), green=Decimal("1.50"), over=Decimal("2.50"))
RUNWAY = Band(yellow=Decimal(6), green=Decimal(12), over=Decimal(24))
RESERVE = Band(yellow=Decimal(3), green=Decimal(6), over=Decimal(12))


def test_red_cost_coverage_says_how_much_more_committed_income_a_month_turns_it_green():
    # Six months of 81,818.18 out: 0.78 coverage is 22 points short of 1.00, 18,000.00 a month.
    figures = _figures(["81818.18"] * 6 + ["1.00"] * 54)
    sentence = green_sentence(
        indicator="cost_coverage", value=Decimal("0.78"), status="red", band=COST, figures=figures
    )
    assert sentence == (
        "18,000 USD more committed income a month over the next six months would turn it green (1.00 or more)."
    )


def test_pipeline_coverage_asks_for_the_weighted_pipeline_that_covers_the_gap():
    # Out 100,000 a month, cost coverage 0.80: a gap of 120,000 over six months; 1.20 -> 1.50 is 36,000.
    figures = _figures(["100000.00"] * 6, cost_coverage="0.80")
    sentence = green_sentence(
        indicator="pipeline_coverage", value=Decimal("1.20"), status="yellow", band=PIPELINE, figures=figures
    )
    assert sentence.startswith("About 36,000 USD more weighted pipeline")
    covered = _figures(["100000.00"] * 6, cost_coverage="1.10")
    sentence = green_sentence(
        indicator="pipeline_coverage", value=Decimal("1.20"), status="yellow", band=PIPELINE, figures=covered
    )
    assert sentence.startswith("25% more weighted pipeline")


def test_a_short_committed_runway_asks_for_the_costs_of_the_months_it_falls_short():
    figures = _figures(["50000.00"] * 24)
    sentence = green_sentence(
        indicator="committed_runway", value=Decimal("9.50"), status="yellow", band=RUNWAY, figures=figures
    )
    # 2.50 months of 50,000.00 = 125,000.00.
    assert sentence == (
        "Up to 125,000 USD more committed income, signed or awarded now (the costs of the 2.50 months "
        "it falls short of 12), would turn it green."
    )


def test_a_thin_cash_reserve_asks_for_cash_or_lower_costs():
    figures = _figures(["100000.00"] * 3, opening="400000.00")
    sentence = green_sentence(
        indicator="cash_reserve", value=Decimal("4.00"), status="yellow", band=RESERVE, figures=figures
    )
    # Six months of 100,000 is 600,000: 200,000 more; or costs of 400,000 / 6 = 66,666.67 a month.
    assert sentence == (
        "200,000 USD more cash in the bank, or costs 34,000 USD a month lower over the next three months, "
        "would turn it green (6 months or more)."
    )


@pytest.mark.parametrize(
    "status, expected", [("green", "Green: nothing to do."), ("over", "Above the green band: nothing to do.")]
)
def test_green_and_better_need_nothing(status, expected):
    figures = _figures(["1.00"] * 6)
    assert (
        green_sentence(
            indicator="cost_coverage", value=Decimal("1.10"), status=status, band=COST, figures=figures
        )
        == expected
    )


def test_amounts_round_up_to_figures_worth_saying_and_print_in_the_currency():
    assert round_up(Decimal("18000.00")) == Decimal(18000)
    assert round_up(Decimal("18000.01")) == Decimal(19000)
    assert round_up(Decimal("1234.56")) == Decimal(1300)
    assert money(Decimal(18000), "USD") == "18,000 USD"
    assert money(Decimal("18000.50"), "EUR") == "18,001 EUR"
    assert money(Decimal("-5"), "USD") == "-5 USD"


@pytest.mark.django_db
def test_a_failed_recompute_and_rows_left_out_are_said_on_the_dashboard(leadership_client):
    from opsite.core.models import RecomputeState
    from opsite.kpis.models import Rollup
    from opsite.kpis.rollups import DATA_QUALITY

    RecomputeState.objects.create(
        kind="rollups",
        pending=True,
        requested_at=timezone.now(),
        failed_at=timezone.now(),
        last_error="OverflowError: date value out of range",
    )
    Rollup.objects.create(
        key=DATA_QUALITY,
        value={"range": ["2000-01-01", "2100-12-31"], "skipped": {"communities.ActiveUserCount": 2}},
        version="x",
        computed_at=timezone.now(),
    )

    content = leadership_client.get(URL).content.decode()

    assert 'id="recompute-failed-rollups"' in content
    assert "OverflowError: date value out of range" in content
    assert "is still owed" in content
    assert 'id="recompute-failed-runway"' not in content
    assert (
        "2 active user counts (communities.ActiveUserCount) are dated outside 2000-01-01 to 2100-12-31"
        in content
    )


@pytest.mark.django_db
def test_a_cash_position_dated_past_the_plausible_range_is_not_the_one_shown(leadership_client):
    from datetime import date as day
    from decimal import Decimal

    from funding.models import CashPosition
    from opsite.dashboard.selectors import latest_cash_position_date

    CashPosition.objects.bulk_create(
        [
            CashPosition(as_of=day(2024, 12, 31), balance=Decimal("100.00")),
            CashPosition(as_of=day(9999, 12, 31), balance=Decimal("100.00")),
        ]
    )
    assert latest_cash_position_date() == day(2024, 12, 31)
