"""What the dashboard shows a person: figures formatted, names not slugs, runway cards that say when
their figures need checking, a cash chart that stops after cash-out and marks today, and a
charting bundle small enough for a phone."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.views import serve
from django.test import RequestFactory

from contributions.models import UpstreamCommunity
from funding.models import RunwaySnapshot, Scenario
from opsite.dashboard.cells import COUNT, DAY, DECIMAL, MONEY, MONTHS, PERCENT, TEXT, display_cell
from opsite.dashboard.charts.runway import AFTER_CASH_OUT_MONTHS, drawn_periods
from opsite.dashboard.summary import runway_card
from opsite.tests.dashboard_support import (  # noqa: F401 (demo: a fixture)
    URL,
    cash_day,
    csv_rows,
    demo,
    figures_of,
    page_on,
)

BUNDLE = "vendor/plotly-basic.min.js"
BUNDLE_LIMIT = 1_500_000  # bytes: what a phone downloads before the charts draw


# --- cells of the tables ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind", "shown"),
    [
        ("1850000.00", MONEY, "1,850,000.00"),
        ("-2500.5", MONEY, "-2,500.50"),
        (1234567, COUNT, "1,234,567"),
        (Decimal("18.8000000000000"), MONTHS, "18.80"),
        ("35.2", PERCENT, "35.2%"),
        ("2024-12-31", DAY, "31 Dec 2024"),
        (date(2025, 2, 1), DAY, "1 Feb 2025"),
        (Decimal("11.50"), DECIMAL, "11.50"),
        ("2024", TEXT, "2024"),
        ("JupyterHub", TEXT, "JupyterHub"),
        (None, MONEY, "–"),
        ("", COUNT, "–"),
    ],
)
def test_a_table_cell_is_written_by_what_its_column_holds(value, kind, shown):
    assert display_cell(value, kind) == shown


# --- the runway cards ---------------------------------------------------------------------------


def _card(result: dict, today: date) -> dict:
    scenario = Scenario.objects.get(slug="base")
    return runway_card(
        slug=scenario.slug, name=scenario.name, reserve=scenario.reserve, result=result, today=today
    )


@pytest.mark.usefixtures("demo", "db")
class TestRunwayCards:
    def _base(self) -> dict:
        result = RunwaySnapshot.objects.filter(scenario__slug="base").latest().result
        assert result["cash_out_on"] and Decimal(result["months"]) >= 12, "the demo's base is above the floor"
        return result

    def test_a_card_on_a_fresh_cash_position_before_cash_out_is_green(self, settings):
        result = self._base()
        card = _card(result, date.fromisoformat(result["as_of"]) + timedelta(days=5))
        assert (card["state"], card["warnings"]) == ("green", [])
        assert card["months_display"] == f"{Decimal(result['months']):.2f} months"
        assert re.fullmatch(r"\d{1,3}(,\d{3})* USD( net income)?", card["forward_burn_display"])

    def test_a_stale_cash_position_turns_the_card_amber_and_says_how_old_it_is(self, settings):
        settings.OPSITE_CASH_POSITION_STALE_DAYS = 30
        result = self._base()
        card = _card(result, date.fromisoformat(result["as_of"]) + timedelta(days=31))
        assert card["state"] == "amber"
        assert card["warnings"] == [
            f"The cash position is 31 days old ({card['as_of_display']}; the limit is 30 days): "
            "record a current bank balance."
        ]
        assert _card(result, date.fromisoformat(result["as_of"]) + timedelta(days=30))["state"] == "green"

    def test_a_card_is_never_green_with_its_cash_out_date_past(self, settings):
        settings.OPSITE_CASH_POSITION_STALE_DAYS = 100_000  # the cash position counts as fresh
        result = self._base()
        cash_out = date.fromisoformat(result["cash_out_on"])
        assert _card(result, cash_out - timedelta(days=1))["state"] == "green"
        card = _card(result, cash_out)
        assert card["state"] == "amber"
        assert card["warnings"] == [f"Its cash-out date, {card['cash_out_display']}, is already past."]

    def test_a_runway_below_the_comfort_floor_stays_red_when_stale_too(self, settings):
        result = self._base()
        settings.OPSITE_RUNWAY_COMFORT_MONTHS = int(Decimal(result["months"])) + 1
        card = _card(result, date.fromisoformat(result["as_of"]) + timedelta(days=400))
        assert card["state"] == "red" and card["below_comfort"]
        assert any("days old" in warning for warning in card["warnings"])

    def test_the_page_paints_stale_cards_amber_with_the_sentence(self, leadership_user, settings):
        as_of = cash_day()
        limit = settings.OPSITE_CASH_POSITION_STALE_DAYS
        content = page_on(as_of + timedelta(days=limit + 10), leadership_user)
        card = content.split('id="runway-base"')[1].split("</article>")[0]
        assert 'data-state="amber"' in card
        assert f"The cash position is {limit + 10} days old" in card
        content = page_on(as_of + timedelta(days=3), leadership_user)
        card = content.split('id="runway-base"')[1].split("</article>")[0]
        assert 'data-state="green"' in card and "days old" not in card


# --- the charts ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("demo", "db")
class TestCharts:
    def test_each_scenario_is_drawn_until_a_few_months_after_its_cash_out(self, leadership_client):
        figure = figures_of(leadership_client.get(URL).content.decode())["cash"]
        cut = 0
        for trace in figure["data"]:
            result = RunwaySnapshot.objects.filter(scenario__slug=trace["meta"]["scenario"]).latest().result
            last = date.fromisoformat(trace["x"][-1])
            if result["cash_out_on"] is None:
                assert trace["x"][-1] == result["periods"][-1]["end"]
                continue
            stop = date.fromisoformat(result["cash_out_on"]) + relativedelta(months=AFTER_CASH_OUT_MONTHS)
            assert stop <= last < stop + relativedelta(months=1) + timedelta(days=1), trace["name"]
            cut += len(result["periods"]) > len(drawn_periods(result))
        assert cut, "at least one scenario of the demo runs out within its horizon"

    def test_the_cash_chart_marks_today(self, leadership_user):
        day = cash_day() + timedelta(days=10)
        layout = figures_of(page_on(day, leadership_user))["cash"]["layout"]
        lines = [shape for shape in layout["shapes"] if shape.get("x0") == day.isoformat()]
        assert len(lines) == 1 and lines[0]["x1"] == day.isoformat() and lines[0]["yref"] == "paper"
        labels = [note["text"] for note in layout["annotations"] if note["x"] == day.isoformat()]
        assert labels == [f"Today, {day.day} {day:%b %Y}"]

    def test_charts_and_their_csv_name_upstream_communities_by_name_not_slug(self, leadership_client):
        names = dict(UpstreamCommunity.objects.values_list("slug", "name"))
        # The demo has names a title-cased slug gets wrong ("Jupyterhub" for "JupyterHub").
        assert any(slug.replace("-", " ").title() != name for slug, name in names.items())
        traces = figures_of(leadership_client.get(URL).content.decode())["pull-requests"]["data"]
        drawn = {trace["name"] for trace in traces}
        assert drawn and drawn <= set(names.values())
        header = csv_rows(leadership_client.get("/leadership/data/pull-requests.csv"))[0]
        assert set(header[1:-2]) == drawn
        for slug, name in names.items():
            if slug.replace("-", " ").title() != name and name in drawn:
                assert slug.replace("-", " ").title() not in header

    def test_money_in_the_page_tables_has_separators_and_the_currency_is_said(self, leadership_client):
        content = leadership_client.get(URL).content.decode()
        table = content.split('id="chart-cash"')[1].split("</figure>")[0]
        assert "Amounts in USD." in table
        base = RunwaySnapshot.objects.filter(scenario__slug="base").latest().result
        assert f"<td>{Decimal(base['opening_balance']):,.2f}</td>" in table
        assert re.search(r"<th scope=\"row\">\d{1,2} [A-Z][a-z]{2} \d{4}</th>", table)

    def test_a_chart_legend_sits_above_its_plot_and_axes_make_room_for_their_labels(self, leadership_client):
        for slug, figure in figures_of(leadership_client.get(URL).content.decode()).items():
            legend = figure["layout"]["legend"]
            assert (legend["orientation"], legend["yanchor"]) == ("h", "bottom") and legend["y"] >= 1, slug
            assert figure["layout"]["xaxis"]["automargin"] is True, slug


# --- the charting bundle ------------------------------------------------------------------------


def test_the_charting_bundle_is_served_from_the_site_and_is_under_its_size_limit(rf: RequestFactory):
    found = finders.find(BUNDLE)
    # From the npm package package-lock.json pins, not a copy in the repository.
    assert found and found.endswith("node_modules/plotly.js-basic-dist-min/plotly-basic.min.js")
    response = serve(rf.get(f"/static/{BUNDLE}"), BUNDLE, insecure=True)
    served = b"".join(response.streaming_content)
    assert 0 < len(served) < BUNDLE_LIMIT
    assert served.startswith(b"/**\n* plotly.js (basic - minified)")
    listed = [path for finder in finders.get_finders() for path, _ in finder.list([]) if path.endswith(".js")]
    assert "plotly-basic.min.js" in listed and "plotly.min.js" not in listed


@pytest.mark.django_db
def test_the_page_loads_only_the_small_bundle_and_its_own_script(leadership_client):
    content = leadership_client.get(URL).content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', content)
    assert scripts == [f"/static/{BUNDLE}", "/static/leadership/dashboard.js"]


def test_a_changed_bundle_fails_the_system_check(monkeypatch):
    from opsite import staticfinders

    pinned = staticfinders.VENDOR_FILES[BUNDLE]
    assert staticfinders.VendorFinder().check() == []
    monkeypatch.setitem(
        staticfinders.VENDOR_FILES,
        BUNDLE,
        staticfinders.VendorFile(pinned.package, pinned.relative, "0", "0" * 64),
    )
    assert [error.id for error in staticfinders.VendorFinder().check()] == ["opsite.E002"]
