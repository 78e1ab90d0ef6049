"""The chance of running out, in words, from a runway's ``monte_carlo`` (docs/definitions.md
"Probabilistic pipeline"): what each runway card says under its figures.

"A 23% chance cash falls below the reserve within 12 months" reads as the share of the draws, so a
share of none or all is said as such ("none of 1,000 draws"), never as a certainty the draws cannot
give. A snapshot stored before the draws were kept has no ``monte_carlo``: the card says nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from opsite.core.formatting import format_count, format_money, format_percent

from .summary import months_text

HEADLINE_MONTHS = "12"


def _falls(reserve: Decimal, currency: str, *, base: bool = False) -> str:
    """ "cash falls below the reserve (50,000 USD)", or its base form after "does"."""
    if reserve > 0:
        verb = "fall" if base else "falls"
        return f"cash {verb} below the reserve ({format_money(reserve, currency, whole=True)})"
    return "cash run out" if base else "cash runs out"


def _share(share: Decimal, draws: int) -> str:
    if share == 0:
        return f"none of {format_count(draws)} draws"
    if share == 1:
        return f"all {format_count(draws)} draws"
    return format_percent(share, fraction=True)


def _runway(months: str | None, horizon: int) -> str:
    return f"beyond the {horizon}-month horizon" if months is None else months_text(Decimal(months))


def odds_sentences(result: dict[str, Any], *, reserve: Decimal, currency: str) -> dict[str, str]:
    """``odds_display`` (the 12-month chance in a sentence) and ``odds_detail_display`` (the chance
    at each horizon, and the middle eight draws of ten's runway); empty strings without draws."""
    drawn = result.get("monte_carlo")
    if not drawn:
        return {"odds_display": "", "odds_detail_display": ""}
    draws = drawn["draws"]
    falls = _falls(reserve, currency)
    if not drawn["items"]:
        return {
            "odds_display": "No pipeline item to draw: the committed figures are the whole forecast.",
            "odds_detail_display": "",
        }
    chances = {months: Decimal(share) for months, share in drawn["chance_out_within"].items()}
    headline = chances[HEADLINE_MONTHS]
    if headline == 0:
        sentence = (
            f"In none of {format_count(draws)} draws of the pipeline does "
            f"{_falls(reserve, currency, base=True)} within 12 months."
        )
    elif headline == 1:
        sentence = f"In every one of {format_count(draws)} draws of the pipeline, {falls} within 12 months."
    else:
        sentence = f"A {format_percent(headline, fraction=True)} chance {falls} within 12 months."
    by_horizon = ", ".join(f"{months} months: {_share(share, draws)}" for months, share in chances.items())
    runway = drawn["runway"]
    horizon = result["horizon_months"]
    if runway["p10"] == runway["p90"]:
        spread = f"The runway is {_runway(runway['p10'], horizon)} in 8 draws of 10."
    else:
        spread = (
            f"In 8 draws of 10 the runway is from {_runway(runway['p10'], horizon)} to "
            f"{_runway(runway['p90'], horizon)} (median {_runway(runway['p50'], horizon)})."
        )
    return {
        "odds_display": sentence,
        "odds_detail_display": f"Chance within {by_horizon}. {spread}",
    }
