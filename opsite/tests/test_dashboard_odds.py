"""The chance of running out on the dashboard: the cards' sentences, the fan chart, and the what-if
preview's redrawn fan (docs/definitions.md "Probabilistic pipeline")."""

from __future__ import annotations

from decimal import Decimal

import pytest

from funding.models import RunwaySnapshot, Scenario
from opsite.dashboard.odds import odds_sentences
from opsite.tests.dashboard_support import URL, WHAT_IF, demo, hire, months_after_cash, post_json  # noqa: F401

D = Decimal


def drawn(chances: dict[str, str], runway: dict[str, str | None], items: int = 12) -> dict:
    return {
        "horizon_months": 60,
        "monte_carlo": {
            "draws": 1000,
            "seed": 42,
            "items": items,
            "runway": runway,
            "chance_out_within": chances,
            "periods": [],
        },
    }


CHANCES = {"6": "0.020", "12": "0.231", "18": "0.512", "24": "0.700"}


def test_the_chance_within_12_months_is_the_headline():
    sentences = odds_sentences(
        drawn(CHANCES, {"p10": "9.50", "p50": "15.25", "p90": None}), reserve=D("50000"), currency="USD"
    )
    assert sentences["odds_display"] == (
        "A 23.1% chance cash falls below the reserve (50,000 USD) within 12 months."
    )
    assert sentences["odds_detail_display"] == (
        "Chance within 6 months: 2%, 12 months: 23.1%, 18 months: 51.2%, 24 months: 70%. "
        "In 8 draws of 10 the runway is from 9.50 months to beyond the 60-month horizon "
        "(median 15.25 months)."
    )


def test_none_and_all_are_said_as_shares_of_the_draws_not_as_certainties():
    none = odds_sentences(
        drawn(
            {"6": "0.000", "12": "0.000", "18": "0.004", "24": "1.000"},
            {"p10": None, "p50": None, "p90": None},
        ),
        reserve=D("0"),
        currency="USD",
    )
    assert (
        none["odds_display"] == "In none of 1,000 draws of the pipeline does cash run out within 12 months."
    )
    assert "6 months: none of 1,000 draws" in none["odds_detail_display"]
    assert "24 months: all 1,000 draws" in none["odds_detail_display"]
    assert "The runway is beyond the 60-month horizon in 8 draws of 10." in none["odds_detail_display"]
    every = odds_sentences(
        drawn(
            {"6": "1.000", "12": "1.000", "18": "1.000", "24": "1.000"}, {"p10": "1", "p50": "2", "p90": "3"}
        ),
        reserve=D("0"),
        currency="USD",
    )
    assert (
        every["odds_display"]
        == "In every one of 1,000 draws of the pipeline, cash runs out within 12 months."
    )


def test_without_draws_the_card_says_nothing_and_without_items_says_so():
    assert odds_sentences({"horizon_months": 60}, reserve=D("0"), currency="USD") == {
        "odds_display": "",
        "odds_detail_display": "",
    }
    empty = odds_sentences(
        drawn(CHANCES, {"p10": "1", "p50": "1", "p90": "1"}, items=0), reserve=D("0"), currency="USD"
    )
    assert empty["odds_display"].startswith("No pipeline item to draw")


@pytest.mark.usefixtures("demo", "db")
class TestTheDemosOdds:
    def test_each_card_says_its_chance_and_the_fan_chart_draws_the_default_scenario(self, leadership_client):
        response = leadership_client.get(URL)
        assert response.status_code == 200
        content = response.content.decode()
        for scenario in Scenario.objects.all():
            result = RunwaySnapshot.objects.filter(scenario=scenario).latest().result
            assert result["monte_carlo"]["draws"] == 1000
            card = next(card for card in response.context["cards"] if card["slug"] == scenario.slug)
            assert card["odds_display"], scenario.slug
            assert card["odds_display"] in content.replace("&#x27;", "'")
        figure = response.context["figures"]["odds"]
        names = [trace["name"] for trace in figure["data"]]
        assert names == [
            "10th percentile",
            "8 draws of 10 (10th to 90th percentile)",
            "Median draw",
            "Committed only",
            "Weighted pipeline",
        ]
        fan = {trace["name"]: [D(value) for value in trace["y"]] for trace in figure["data"]}
        low, high = fan["10th percentile"], fan["8 draws of 10 (10th to 90th percentile)"]
        assert all(a <= b for a, b in zip(low, high, strict=True))
        assert any(a < b for a, b in zip(low, high, strict=True)), "the demo's pipeline spreads the draws"
        chart = next(chart for chart in response.context["runway_charts"] if chart["slug"] == "odds")
        assert chart["rows"], "the table of the same figures"

    def test_a_what_if_on_the_default_scenario_redraws_the_fan_and_the_odds(self, leadership_client):
        stored = RunwaySnapshot.objects.filter(scenario__slug="base").latest().result["monte_carlo"]
        big_hire = hire(start_on=months_after_cash(1), amount="900000.00")
        response = post_json(leadership_client, WHAT_IF, {"scenario": "base", "adjustments": [big_hire]})
        assert response.status_code == 200, response.content
        answer = response.json()
        assert answer["card"]["odds_display"]
        median = next(trace for trace in answer["fan"] if trace["name"] == "Median draw")
        stored_median = [period["p50"] for period in stored["periods"]]
        # A 900,000 hire lowers the median draw's balance from the second period on.
        assert D(median["y"][3]) < D(stored_median[2])
