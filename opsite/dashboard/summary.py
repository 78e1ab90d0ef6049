"""The runway figures of one scenario as the page shows them: a card of display strings.

Built from a runway result (the stored snapshot's JSON, or a what-if preview's), so the page and
the what-if endpoint show exactly the same wording.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings

from funding.runway import INDICATORS, Thresholds
from opsite.core.money import reporting_currency

from .health import (
    INDICATOR_HELP,
    INDICATOR_LABELS,
    MONTH_INDICATORS,
    HealthFigures,
    format_money,
    green_sentence,
)

STATUS_LABELS = {"red": "Red", "yellow": "Yellow", "green": "Green", "over": "Above green"}


def thresholds() -> Thresholds:
    return Thresholds.from_dict(getattr(settings, "OPSITE_RUNWAY_THRESHOLDS", None))


def comfort_months() -> int:
    return int(settings.OPSITE_RUNWAY_COMFORT_MONTHS)


def format_day(day: date | str | None) -> str:
    """``20 Aug 2026``: unambiguous in every locale a board pack travels to."""
    if day is None:
        return ""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return f"{day.day} {day:%b %Y}"


def comfort_floor_on(as_of: date) -> date:
    """The day the comfort floor falls on: the cash position's date plus the comfort months."""
    return as_of + relativedelta(months=comfort_months())


def comfort_comparison(months: Decimal | None) -> tuple[str, bool]:
    """How a runway compares with the comfort floor: (sentence, whether it is below)."""
    floor = comfort_months()
    if months is None:
        return f"Beyond the horizon: above the {floor}-month comfort floor.", False
    if months >= floor:
        return f"{months - floor} months above the {floor}-month comfort floor.", False
    return f"{floor - months} months below the {floor}-month comfort floor.", True


def runway_card(
    *, slug: str, name: str, reserve: Decimal, result: dict[str, Any] | None, pipeline: str = ""
) -> dict[str, Any]:
    """The display strings of one scenario's runway (``result``: docs/api.md "Runway API" JSON)."""
    card: dict[str, Any] = {"slug": slug, "name": name, "pipeline": pipeline, "computed": result is not None}
    if result is None:
        return {**card, "months_display": "Not computed yet", "indicators": []}
    currency = reporting_currency()
    months = None if result["months"] is None else Decimal(result["months"])
    comfort_text, below = comfort_comparison(months)
    horizon = result["horizon_months"]
    burn = Decimal(result["forward_burn"])
    band_of = thresholds()
    figures = HealthFigures.from_result(result, reserve=reserve, currency=currency)
    indicators = []
    for indicator in INDICATORS:
        data = result["indicators"][indicator]
        value = None if data["value"] is None else Decimal(data["value"])
        unit = " months" if indicator in MONTH_INDICATORS else ""
        indicators.append(
            {
                "name": indicator,
                "label": INDICATOR_LABELS[indicator],
                "help": INDICATOR_HELP[indicator],
                "status": data["status"],
                "status_label": STATUS_LABELS[data["status"]],
                "display": "none" if value is None else f"{value}{unit}",
                "sentence": green_sentence(
                    indicator=indicator,
                    value=value,
                    status=data["status"],
                    band=getattr(band_of, indicator),
                    figures=figures,
                ),
            }
        )
    return {
        **card,
        "months": result["months"],
        "months_display": f"Beyond the {horizon}-month horizon" if months is None else f"{months} months",
        "cash_out_on": result["cash_out_on"],
        "cash_out_display": format_day(result["cash_out_on"])
        if result["cash_out_on"]
        else "Not within the horizon",
        "forward_burn_display": (
            f"{format_money(burn, currency)} a month"
            if burn >= 0
            else f"{format_money(-burn, currency)} a month net income"
        ),
        "burning": burn > 0,
        "comfort_text": comfort_text,
        # The same floor in money: what the comfort months cost at the forward burn.
        "comfort_cash_display": (
            f"{comfort_months()} months of forward burn: {format_money(burn * comfort_months(), currency)}; "
            f"cash on {format_day(result['as_of'])}: {format_money(Decimal(result['opening_balance']), currency)}."
            if burn > 0
            else ""
        ),
        "below_comfort": below,
        "as_of": result["as_of"],
        "as_of_display": format_day(result["as_of"]),
        "indicators": indicators,
    }


def cash_position_warning(cash_as_of: date | None, today: date) -> str:
    """The warning shown when the latest cash position is older than the setting allows."""
    if cash_as_of is None:
        return "No cash position is recorded: the runway cannot be computed until one is."
    age = (today - cash_as_of).days
    limit = int(settings.OPSITE_CASH_POSITION_STALE_DAYS)
    if age > limit:
        return (
            f"The cash position is from {format_day(cash_as_of)}, {age} days ago (more than {limit}): "
            "record a current bank balance so the runway starts from today's cash."
        )
    return ""
