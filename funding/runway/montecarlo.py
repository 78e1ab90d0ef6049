"""The chance of running out: the pipeline drawn, item by item (docs/definitions.md "Probabilistic
pipeline (Monte Carlo)").

A weighted pipeline says 70% of a grant arrives, which never happens: the grant comes or it does
not. Here each pipeline item (a proposed contract with its payments and usage fees; a prospect or
submitted grant with its disbursements and its subawards' payments) is one Bernoulli trial with
``p = probability / 100``; all its rows come or go together, and items are independent. The
scenario's committed flows and adjustments are kept as they are.

Like the engine, this module is pure (no Django). It asks the engine for the scenario's rows by
period with the pipeline left out (``_accumulate`` under ``committed``) and for each item's rows,
then draws every item at once:

- amounts are whole cents held in float64, which represents them, and every sum of them below 2**53
  cents, exactly: the matrix products are exact whatever order BLAS adds in, so the same inputs
  give the same figures on every machine;
- the fiscal sponsor's fee of each draw and period is ``rate x subject inflow``, rounded half up to
  the cent, none when the subject inflow nets below zero, as the engine takes it;
- a draw's runway is read like the engine's (months until the balance first falls below the
  reserve, the last period's share interpolated, rounded down to two places);
- percentiles of the closing balances interpolate between draws (numpy's "linear"); those of the
  runway are a draw's own value ("inverted_cdf"), since a draw whose cash outlasts the horizon has
  no runway months: a percentile landing there is null, "beyond the horizon".

The result also carries, per period, the closing balance with no pipeline item (``committed``),
with every one (``full``) and with each at its probability (``weighted``), from the same arithmetic,
so the fan chart's lines and band agree to the cent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import numpy as np

from .engine import _accumulate, _Items
from .grid import cents
from .inputs import RunwayInputs

DEFAULT_DRAWS = 1000
DEFAULT_SEED = 42
# The horizons of ``chance_out_within``, in months.
CHANCE_HORIZONS: tuple[int, ...] = (6, 12, 18, 24)
PERCENTILES: tuple[int, ...] = (10, 50, 90)


@dataclass(frozen=True, slots=True, kw_only=True)
class FanPeriod:
    """One period's closing balances over the draws, and the three deterministic lines."""

    end: date
    p10: Decimal
    p50: Decimal
    p90: Decimal
    mean: Decimal
    committed: Decimal
    weighted: Decimal
    full: Decimal

    def as_dict(self) -> dict[str, str]:
        return {
            "end": self.end.isoformat(),
            **{name: f"{getattr(self, name):.2f}" for name in _FAN_FIGURES},
        }


_FAN_FIGURES = ("p10", "p50", "p90", "mean", "committed", "weighted", "full")


@dataclass(frozen=True, slots=True, kw_only=True)
class MonteCarloResult:
    draws: int
    seed: int
    items: int
    runway: dict[str, Decimal | None]
    chance_out_within: dict[int, Decimal]
    periods: tuple[FanPeriod, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """The runway API's ``monte_carlo`` (docs/api.md)."""
        return {
            "draws": self.draws,
            "seed": self.seed,
            "items": self.items,
            "runway": {key: None if value is None else f"{value:.2f}" for key, value in self.runway.items()},
            "chance_out_within": {
                str(months): f"{share:.3f}" for months, share in self.chance_out_within.items()
            },
            "periods": [period.as_dict() for period in self.periods],
        }


@dataclass(frozen=True, slots=True)
class Draws:
    """The draws themselves, in cents: each draw's closing balance by period (``closing``, draws x
    periods), which items came in it (``drawn``, draws x items, in the order of ``keys``), and the
    three deterministic lines."""

    keys: tuple[str, ...]
    drawn: np.ndarray
    closing: np.ndarray
    committed: np.ndarray
    weighted: np.ndarray
    full: np.ndarray
    opening: float
    reserve: float
    ends: tuple[date, ...]


def draw(inputs: RunwayInputs, *, draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED) -> Draws:
    """Draw the scenario's pipeline ``draws`` times from a generator seeded with ``seed``."""
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise ValueError(f"draws must be a positive int, got {draws!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")

    collector = _Items()
    flows = _accumulate(inputs, "committed", collector)
    grid, inflows = flows.grid, flows.inflows
    size = grid.size

    # The committed side, in cents, before the fee: what every draw shares.
    committed_net = _cents_row(
        [sum((row[k] for row in inflows.by_source.values()), Decimal(0)) for k in range(size)]
    ) - _cents_row([sum((row[k] for row in flows.out_by.values()), Decimal(0)) for k in range(size)])
    committed_base = _cents_row(inflows.fee_base)

    # The items, in a fixed order (their keys), as rows of cents.
    keys = tuple(sorted(collector.items))
    probability = np.array([float(collector.items[key].probability) / 100 for key in keys], dtype=np.float64)
    net = np.zeros((len(keys), size))
    base = np.zeros((len(keys), size))
    for row, key in enumerate(keys):
        item = collector.items[key]
        for k, amount in item.net.items():
            net[row, k] = _cents(amount)
        for k, amount in item.fee_base.items():
            base[row, k] = _cents(amount)

    rng = np.random.default_rng(seed)
    # One uniform per draw and item, in that order: item i of draw d comes when u[d, i] < p_i, so
    # probability 0 never comes and 100 always does.
    drawn = (rng.random((draws, len(keys))) < probability).astype(np.float64)
    lines = np.vstack([np.zeros(len(keys)), probability, np.ones(len(keys))])

    rate = float(inputs.fiscal_sponsor_fee)
    opening = _cents(inputs.opening_balance)

    def closings(chosen: np.ndarray) -> np.ndarray:
        # Whole cents per period: exact for draws (0 or 1 of each item), rounded for the weighted
        # line, as the engine rounds each period's figures.
        period_net = committed_net + np.round(chosen @ net)
        subject = committed_base + chosen @ base
        fee = np.where(subject > 0, np.floor(rate * subject + 0.5), 0.0) if rate else 0.0
        return opening + np.cumsum(period_net - fee, axis=1)

    committed, weighted, full = closings(lines)
    return Draws(
        keys=keys,
        drawn=drawn,
        closing=closings(drawn),
        committed=committed,
        weighted=weighted,
        full=full,
        opening=opening,
        reserve=_cents(inputs.params.reserve),
        ends=tuple(grid.bounds[1:]),
    )


def simulate(
    inputs: RunwayInputs, *, draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED
) -> MonteCarloResult:
    """The draws summarized: the fan of closing balances, the runway's percentiles and the chances
    of falling below the reserve."""
    drawn = draw(inputs, draws=draws, seed=seed)
    closing = drawn.closing
    months, first_below = _runways(closing, drawn.opening, drawn.reserve)

    low, mid, high = np.percentile(closing, PERCENTILES, axis=0)
    mean = closing.mean(axis=0)
    periods = tuple(
        FanPeriod(
            end=end,
            p10=_money(low[k]),
            p50=_money(mid[k]),
            p90=_money(high[k]),
            mean=_money(mean[k]),
            committed=_money(drawn.committed[k]),
            weighted=_money(drawn.weighted[k]),
            full=_money(drawn.full[k]),
        )
        for k, end in enumerate(drawn.ends)
    )
    runway_quantiles = np.quantile(months, [p / 100 for p in PERCENTILES], method="inverted_cdf")
    runway = {
        f"p{p}": None if not np.isfinite(value) else _floor2(value)
        for p, value in zip(PERCENTILES, runway_quantiles, strict=True)
    }
    chance = {
        horizon: (Decimal(int(np.count_nonzero(first_below < horizon))) / Decimal(draws)).quantize(
            Decimal("0.001")
        )
        for horizon in CHANCE_HORIZONS
    }
    return MonteCarloResult(
        draws=draws,
        seed=seed,
        items=len(drawn.keys),
        runway=runway,
        chance_out_within=chance,
        periods=periods,
    )


def _runways(closing: np.ndarray, opening: float, reserve: float) -> tuple[np.ndarray, np.ndarray]:
    """Each draw's runway months (inf when its cash outlasts the horizon) and the 0-based period in
    which it first falls below the reserve (the horizon when never)."""
    draws, size = closing.shape
    if opening < reserve:
        return np.zeros(draws), np.zeros(draws, dtype=np.int64)
    below = closing < reserve
    ever = below.any(axis=1)
    first = np.where(ever, below.argmax(axis=1), size)
    rows = np.arange(draws)
    at = np.minimum(first, size - 1)
    before = np.where(at > 0, closing[rows, np.maximum(at - 1, 0)], opening)
    after = closing[rows, at]
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = (before - reserve) / (before - after)
    months = np.where(ever, at + fraction, np.inf)
    return months, first


def _cents(amount: Decimal) -> float:
    """An amount as whole cents (half up, as the engine rounds)."""
    return float(cents(amount) * 100)


def _cents_row(amounts: Sequence[Decimal]) -> np.ndarray:
    return np.array([_cents(amount) for amount in amounts], dtype=np.float64)


def _money(value_in_cents: float) -> Decimal:
    """Cents back to money, to the cent."""
    return (Decimal(round(float(value_in_cents))) / 100).quantize(Decimal("0.01"))


def _floor2(months: float) -> Decimal:
    """Runway months to two places, rounded down, as the engine reads them."""
    return Decimal(repr(float(months))).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
