"""What would turn each runway health indicator green, in one sentence leadership can act on.

The figures come from each indicator's definition (docs/definitions.md "Runway", step 6) and its thresholds,
read back from the stored runway result: the value, the outflow of each period, the opening
balance and the reserve. The committed inflow ``cin_k`` itself is not stored, so where an indicator
needs it, it is recovered from the indicator values (cost coverage = sum of ``cin_k`` / sum of
``out_k``), which are rounded down: the amounts below may be a little generous, never short.

Amounts are rounded up (to 100 under 10,000, else to 1,000): a sentence that says "18,000 USD a
month" means that doing it does turn the indicator green.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from funding.runway import Band
from opsite.core.formatting import format_money as _format_money
from opsite.core.formatting import format_percent

ZERO = Decimal(0)
NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 12: "twelve"}
COVERAGE_PERIODS = 6
BURN_PERIODS = 3

INDICATOR_LABELS = {
    "committed_runway": "Committed runway",
    "cost_coverage": "Cost coverage",
    "pipeline_coverage": "Pipeline coverage",
    "cash_reserve": "Cash reserve",
    "invoice_collection": "Invoice collection",
    "customer_concentration": "Customer concentration",
}
INDICATOR_HELP = {
    "committed_runway": "Months the cash lasts on signed contracts and awarded grants alone.",
    "cost_coverage": "Committed income over costs, next six months.",
    "pipeline_coverage": "Weighted pipeline over the gap committed income leaves, next six months.",
    "cash_reserve": "Months the cash in the bank lasts if all income stopped today.",
    "invoice_collection": "Share of the contract payments due in the last 90 days that is paid.",
    "customer_concentration": (
        "Share of committed contract income, next twelve months, from the three largest customers "
        "(lower is better)."
    ),
}
MONTH_INDICATORS = ("committed_runway", "cash_reserve")
SHARE_INDICATORS = ("invoice_collection", "customer_concentration")
# What a null value means for an indicator whose null is green.
NULL_DISPLAY = {
    "invoice_collection": "nothing due",
    "customer_concentration": "no contract income",
}
NULL_SENTENCE = {
    "invoice_collection": "Green: no contract payment was due in the last 90 days.",
    "customer_concentration": "Green: no committed contract income in the next twelve months.",
}
# What `needed` buys, indicator by indicator (docs/definitions.md "What turns it better").
REVENUE_NEEDED = ("committed_runway", "cost_coverage", "pipeline_coverage")


def money(amount: Decimal, currency: str) -> str:
    """A rounded amount in a sentence: ``18,000 USD`` (the site's one money format, whole units)."""
    return _format_money(amount, currency, whole=True)


def round_up(amount: Decimal) -> Decimal:
    """Round a positive amount up to a figure worth saying: steps of 100 under 10,000, else 1,000."""
    step = Decimal(1000) if amount >= 10_000 else Decimal(100)
    return (amount / step).to_integral_value(rounding=ROUND_CEILING) * step


def _months_words(count: int) -> str:
    words = NUMBER_WORDS.get(count, str(count))
    return "month" if count == 1 else f"{words} months"


def _uncovered_costs(outflows: Sequence[Decimal], covered: Decimal, target: Decimal) -> Decimal:
    """The outflow of the months between ``covered`` and ``target`` (period k spans [k-1, k))."""
    total = ZERO
    for index, out in enumerate(outflows):
        low, high = max(Decimal(index), covered), min(Decimal(index + 1), target)
        if high > low:
            total += out * (high - low)
    return total


@dataclass(frozen=True)
class HealthFigures:
    """What the sentences read from one runway result (docs/api.md "Runway API" JSON)."""

    outflows: tuple[Decimal, ...]
    opening_balance: Decimal
    reserve: Decimal
    cost_coverage: Decimal | None
    currency: str

    @classmethod
    def from_result(cls, result: dict, *, reserve: Decimal, currency: str) -> HealthFigures:
        cost = result["indicators"]["cost_coverage"]["value"]
        return cls(
            outflows=tuple(Decimal(period["out"]) for period in result["periods"]),
            opening_balance=Decimal(result["opening_balance"]),
            reserve=reserve,
            cost_coverage=None if cost is None else Decimal(cost),
            currency=currency,
        )


def green_sentence(
    *, indicator: str, value: Decimal | None, status: str, band: Band, figures: HealthFigures
) -> str:
    """The sentence that says what would turn ``indicator`` green (or that it already is).

    - ``cost_coverage``: the committed income a month, over the next six months, that lifts
      sum(cin) / sum(out) to the green threshold: (green - value) * sum(out) / 6.
    - ``pipeline_coverage``: the weighted pipeline that lifts it to green: (green - value) * gap,
      the gap sum(out - cin) recovered from the cost coverage as (1 - cost coverage) * sum(out).
    - ``committed_runway``: the costs of the months between the committed runway and the green
      threshold (plus any shortfall below the reserve): committed income of that size received
      now carries the committed cash to the threshold.
    - ``cash_reserve``: the cash that makes B / (mean out over three months) reach green, or the
      lower monthly costs that do.
    """
    if status == "green":
        return "Green: nothing to do."
    if status == "over":
        return "Above the green band: nothing to do."
    currency = figures.currency
    outflows = figures.outflows
    if indicator == "cost_coverage":
        ahead = outflows[:COVERAGE_PERIODS]
        current = value if value is not None else ZERO
        monthly = (band.green - current) * sum(ahead, ZERO) / max(len(ahead), 1)
        return (
            f"{money(round_up(monthly), currency)} more committed income a month over the next "
            f"{_months_words(len(ahead))} would turn it green ({band.green} or more)."
        )
    if indicator == "pipeline_coverage":
        ahead = outflows[:COVERAGE_PERIODS]
        current = value if value is not None else ZERO
        coverage = figures.cost_coverage
        if coverage is not None and coverage < 1:
            gap = (1 - coverage) * sum(ahead, ZERO)
            needed = (band.green - current) * gap
            return (
                f"About {money(round_up(needed), currency)} more weighted pipeline (proposals "
                f"and prospects, times their probability) due in the next {_months_words(len(ahead))} "
                f"would turn it green ({band.green} or more)."
            )
        if current > 0:
            share = ((band.green / current - 1) * 100).to_integral_value(rounding=ROUND_CEILING)
            return (
                f"{share}% more weighted pipeline due in the next {_months_words(len(ahead))} "
                f"would turn it green ({band.green} or more)."
            )
        return (
            f"New pipeline (proposals and prospects) due in the next {_months_words(len(ahead))} "
            f"would turn it green ({band.green} or more)."
        )
    if indicator == "committed_runway":
        covered = value if value is not None else ZERO
        needed = _uncovered_costs(outflows, covered, band.green)
        needed += max(ZERO, figures.reserve - figures.opening_balance)
        return (
            f"Up to {money(round_up(needed), currency)} more committed income, signed or awarded "
            f"now (the costs of the {band.green - covered} months it falls short of {band.green}), "
            "would turn it green."
        )
    if indicator == "cash_reserve":
        near = outflows[:BURN_PERIODS]
        monthly_out = sum(near, ZERO) / max(len(near), 1)
        cash = band.green * monthly_out - figures.opening_balance
        sentence = f"{money(round_up(cash), currency)} more cash in the bank"
        if figures.opening_balance > 0:
            cut = monthly_out - figures.opening_balance / band.green
            sentence += (
                f", or costs {money(round_up(cut), currency)} a month lower over the next "
                f"{_months_words(len(near))},"
            )
        return f"{sentence} would turn it green ({band.green} months or more)."
    raise ValueError(f"Unknown indicator {indicator!r}.")


def band_reached(status: str) -> str:
    """The band an indicator's target opens: from red it is yellow, from yellow green."""
    return "yellow" if status == "red" else "green"


def exact_sentence(*, indicator: str, data: dict, currency: str) -> str | None:
    """What turns ``indicator`` better, read from its stored ``target`` and ``needed`` (the exact
    amount, to the cent). None for a snapshot stored before indicators carried them: the card
    then keeps the rounded wording of :func:`green_sentence`."""
    if "target" not in data:
        return None
    status = data["status"]
    if status == "green":
        return (
            NULL_SENTENCE.get(indicator, "Green: nothing to do.")
            if data["value"] is None
            else "Green: nothing to do."
        )
    if status == "over":
        return "Above the green band: nothing to do."
    target, needed = data["target"], data["needed"]
    name = INDICATOR_LABELS[indicator].lower()
    band = band_reached(status)
    if target is None:  # pragma: no cover - red and yellow always have a target
        return f"Not {band} yet."
    if indicator == "customer_concentration":
        return (
            f"The three largest customers bring {format_percent(data['value'], fraction=True)} of "
            f"committed contract income; {format_percent(target, fraction=True)} or less turns "
            f"{name} {band}."
        )
    if needed is None:
        if indicator == "invoice_collection":
            return f"No amount collected turns {name} {band} ({format_percent(target, fraction=True)})."
        return f"No monthly revenue turns {name} {band} (target {target})."
    amount = _format_money(Decimal(needed), currency)
    if indicator in REVENUE_NEEDED:
        return f"{amount} more committed revenue a month turns {name} {band}."
    if indicator == "cash_reserve":
        return f"{amount} more cash in the bank turns {name} {band}."
    if indicator == "invoice_collection":
        return f"Collect {amount} more of the payments due in the last 90 days to turn {name} {band}."
    raise ValueError(f"Unknown indicator {indicator!r}.")
