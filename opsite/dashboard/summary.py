"""The runway figures of one scenario as the page shows them: a card of display strings.

Built from a runway result (the stored snapshot's JSON, or a what-if preview's), so the page and
the what-if endpoint show exactly the same wording. Figures are written by the site's one set of
formatting helpers (``opsite.core.formatting``): money with its currency and thousands
separators, months with two decimals.

A card has a state, its colour on the page:

- ``red``: the runway is below the comfort floor;
- ``amber``: the figures cannot be trusted as they stand: the cash position they start from is
  older than ``OPSITE_CASH_POSITION_STALE_DAYS``, or the cash-out date they project is already
  past (the money ran out on paper, or a bank balance is missing);
- ``green``: otherwise.

So a card is never green with a cash-out date in the past, and each amber card says why.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings

from funding.runway import INDICATORS, Thresholds
from opsite.core.formatting import format_money, format_months, format_percent
from opsite.core.money import reporting_currency

from .health import (
    INDICATOR_HELP,
    INDICATOR_LABELS,
    MONTH_INDICATORS,
    NULL_DISPLAY,
    SHARE_INDICATORS,
    HealthFigures,
    exact_sentence,
    green_sentence,
)

STATUS_LABELS = {"red": "Red", "yellow": "Yellow", "green": "Green", "over": "Above green"}
STATE_LABELS = {"red": "Below the comfort floor", "amber": "Needs checking", "green": "On track"}


def thresholds() -> Thresholds:
    return Thresholds.from_dict(getattr(settings, "OPSITE_RUNWAY_THRESHOLDS", None))


def comfort_months() -> int:
    return int(settings.OPSITE_RUNWAY_COMFORT_MONTHS)


def stale_days() -> int:
    return int(settings.OPSITE_CASH_POSITION_STALE_DAYS)


def months_text(months: Decimal | str) -> str:
    """``19.65 months``."""
    return f"{format_months(months)} months"


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
        return f"{months_text(months - floor)} above the {floor}-month comfort floor.", False
    return f"{months_text(floor - months)} below the {floor}-month comfort floor.", True


def cash_position_age(as_of: date | str, today: date) -> int:
    if isinstance(as_of, str):
        as_of = date.fromisoformat(as_of)
    return (today - as_of).days


def card_warnings(result: dict[str, Any], today: date) -> list[str]:
    """Why a card's figures cannot be trusted as they stand (empty when they can)."""
    warnings = []
    age, limit = cash_position_age(result["as_of"], today), stale_days()
    if age > limit:
        warnings.append(
            f"The cash position is {age} days old ({format_day(result['as_of'])}; the limit is {limit} "
            "days): record a current bank balance."
        )
    cash_out = result["cash_out_on"]
    if cash_out and date.fromisoformat(cash_out) <= today:
        warnings.append(f"Its cash-out date, {format_day(cash_out)}, is already past.")
    return warnings


def runway_card(
    *,
    slug: str,
    name: str,
    reserve: Decimal,
    result: dict[str, Any] | None,
    today: date,
    pipeline: str = "",
) -> dict[str, Any]:
    """The display strings of one scenario's runway (``result``: docs/api.md "Runway API" JSON)."""
    card: dict[str, Any] = {"slug": slug, "name": name, "pipeline": pipeline, "computed": result is not None}
    if result is None:
        return {
            **card,
            "months_display": "Not computed yet",
            "indicators": [],
            "state": "none",
            "warnings": [],
        }
    currency = reporting_currency()
    months = None if result["months"] is None else Decimal(result["months"])
    comfort_text, below = comfort_comparison(months)
    horizon = result["horizon_months"]
    burn = Decimal(result["forward_burn"])
    band_of = thresholds()
    figures = HealthFigures.from_result(result, reserve=reserve, currency=currency)
    indicators = []
    # The indicators the card can explain (a label and what turns each green), in their order;
    # any other indicator of the runway result stays in the runway API.
    for indicator in INDICATORS:
        data = result["indicators"].get(indicator)
        if indicator not in INDICATOR_LABELS or data is None:
            continue
        value = None if data["value"] is None else Decimal(data["value"])
        sentence = exact_sentence(indicator=indicator, data=data, currency=currency)
        if sentence is None:  # a snapshot stored before indicators carried target and needed
            sentence = green_sentence(
                indicator=indicator,
                value=value,
                status=data["status"],
                band=getattr(band_of, indicator),
                figures=figures,
            )
        indicators.append(
            {
                "name": indicator,
                "label": INDICATOR_LABELS[indicator],
                "help": INDICATOR_HELP[indicator],
                "status": data["status"],
                "status_label": STATUS_LABELS[data["status"]],
                "display": _indicator_display(indicator, value),
                "sentence": sentence,
            }
        )
    warnings = card_warnings(result, today)
    state = "red" if below else ("amber" if warnings else "green")
    return {
        **card,
        "state": state,
        "state_label": STATE_LABELS[state],
        "warnings": warnings,
        "warnings_display": " ".join(warnings),
        "months": result["months"],
        "months_display": f"Beyond the {horizon}-month horizon" if months is None else months_text(months),
        "cash_out_on": result["cash_out_on"],
        "cash_out_display": format_day(result["cash_out_on"])
        if result["cash_out_on"]
        else "Not within the horizon",
        # Said "a month" by its label on the card ("Forward burn a month").
        "forward_burn_display": (
            format_money(burn, currency, whole=True)
            if burn >= 0
            else f"{format_money(-burn, currency, whole=True)} net income"
        ),
        "burning": burn > 0,
        "comfort_text": comfort_text,
        # The same floor in money: what the comfort months cost at the forward burn.
        "comfort_cash_display": (
            f"{comfort_months()} months of forward burn: "
            f"{format_money(burn * comfort_months(), currency, whole=True)}; cash on "
            f"{format_day(result['as_of'])}: {format_money(Decimal(result['opening_balance']), currency, whole=True)}."
            if burn > 0
            else ""
        ),
        "below_comfort": below,
        "as_of": result["as_of"],
        "as_of_display": format_day(result["as_of"]),
        "indicators": indicators,
        **unrestricted_sentences(result, currency=currency),
    }


def unrestricted_sentences(result: dict[str, Any], *, currency: str) -> dict[str, str]:
    """``unrestricted_display`` (the runway of unrestricted money) and ``restricted_display`` (the
    restricted net assets set aside for it); empty strings for a snapshot stored before either was
    kept (docs/definitions.md "Restricted money and funder reports")."""
    data = result.get("unrestricted")
    if not data:
        return {"unrestricted_display": "", "restricted_display": ""}
    if data["months"] is None:
        runway = f"beyond the {result['horizon_months']}-month horizon"
    else:
        runway = months_text(Decimal(data["months"]))
    cash_out = f" (cash out on {format_day(data['cash_out_on'])})" if data["cash_out_on"] else ""
    held = Decimal(data["restricted_net_assets"])
    count = len(data["grants"])
    grants = f"{count} restricted grant" + ("" if count == 1 else "s")
    return {
        "unrestricted_display": f"Unrestricted runway: {runway}{cash_out}.",
        "restricted_display": (
            f"Restricted net assets: {format_money(held, currency, whole=True)}, held by {grants}."
            if count
            else "No restricted grant holds money."
        ),
    }


def _indicator_display(indicator: str, value: Decimal | None) -> str:
    """An indicator's value as the card shows it: months, a share, or a ratio."""
    if value is None:
        return NULL_DISPLAY.get(indicator, "none")
    if indicator in MONTH_INDICATORS:
        return months_text(value)
    if indicator in SHARE_INDICATORS:
        return format_percent(value, fraction=True)
    return format_months(value)


def cash_position_warning(cash_as_of: date | None, today: date) -> str:
    """The warning shown when the latest cash position is older than the setting allows."""
    if cash_as_of is None:
        return "No cash position is recorded: the runway cannot be computed until one is."
    age, limit = cash_position_age(cash_as_of, today), stale_days()
    if age > limit:
        return (
            f"The cash position is from {format_day(cash_as_of)}, {age} days ago (more than {limit}): "
            "record a current bank balance so the runway starts from today's cash."
        )
    return ""
