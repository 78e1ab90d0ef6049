"""Benchmark: the Monte Carlo draws of the pipeline (docs/definitions.md "Probabilistic pipeline").

Pure inputs, no database: 60 periods, 300 pipeline items (proposed contracts paid monthly over a
year, prospect grants paid in two disbursements with a subaward paid out of the second, usage-priced
proposals), committed contracts and grants, a payroll of 40 people, expenses, and a fiscal
sponsor's fee of 0.15. Two timings, each the best of a few runs:

* ``monte_carlo_1000_draws``: ``simulate()`` with 1,000 draws (the rows read into items, the draws,
  the percentiles and the runway of every draw);
* the baseline, ``project()`` of the same inputs under the weighted pipeline: the deterministic
  projection a snapshot already computes.

Budget: the draws under 1 s. Run alone with ``python bench/montecarlo.py``, or through ``make bench``.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

if not __package__:
    # Run as a script: the repository's root, for ``bench`` and the project.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import over_budget, smoke

BUDGET_SECONDS = 1.0
DRAWS = 1000
HORIZON = 60
ITEMS = 300
RUNS = 1 if smoke() else 3
AS_OF = date(2026, 11, 30)


def _inputs():
    from funding.runway import (
        Employment,
        Expense,
        Flow,
        PayLine,
        RunwayInputs,
        ScenarioParams,
        UsageFeeInflow,
    )

    stream = random.Random(13)

    def day(low: int, high: int) -> date:
        return AS_OF + timedelta(days=stream.randint(low, high))

    def money(low: int, high: int) -> Decimal:
        return Decimal(stream.randint(low * 100, high * 100)).scaleb(-2)

    flows: list[Flow] = []
    usage: list[UsageFeeInflow] = []
    for n in range(ITEMS):
        probability = Decimal(stream.choice((10, 25, 40, 50, 60, 75, 90)))
        kind = n % 3
        if kind == 0:  # a proposed contract, paid monthly over a year
            start = day(0, 900)
            amount = money(1_000, 6_000)
            flows += [
                Flow(
                    on=start + timedelta(days=30 * month),
                    amount=amount,
                    direction="in",
                    source="contracts",
                    pipeline_probability=probability,
                    item=f"contract:{n}",
                    customer=f"c{n % 40}",
                )
                for month in range(12)
            ]
        elif kind == 1:  # a prospect grant: two disbursements, a subaward paid from the second
            first = day(30, 700)
            amount = money(50_000, 400_000)
            flows += [
                Flow(on=first, amount=amount, direction="in", source="grants",
                     pipeline_probability=probability, grant_ref=f"g{n}", item=f"grant:{n}"),
                Flow(on=first + timedelta(days=365), amount=amount, direction="in", source="grants",
                     pipeline_probability=probability, grant_ref=f"g{n}", item=f"grant:{n}"),
                Flow(on=first + timedelta(days=380), amount=amount / 4, direction="out", source="subawards",
                     pipeline_probability=probability, item=f"grant:{n}"),
            ]  # fmt: skip
        else:  # a usage-priced proposal
            start = day(0, 600)
            flows.append(
                Flow(on=start, amount=money(5_000, 20_000), direction="in", source="contracts",
                     pipeline_probability=probability, item=f"contract:{n}")
            )  # fmt: skip
            usage.append(
                UsageFeeInflow(amount=money(100, 3_000), start_on=start, end_on=start + timedelta(days=730),
                               pipeline_probability=probability, item=f"contract:{n}")
            )  # fmt: skip
    for n in range(400):  # committed money
        flows.append(
            Flow(on=day(-30, 1_700), amount=money(2_000, 60_000), direction="in",
                 source="contracts" if n % 2 else "grants", fee_exempt=n % 7 == 0, customer=f"c{n % 40}")
        )  # fmt: skip
    employments = [Employment(person=f"p{n}", start_on=date(2022, 1, 1)) for n in range(40)]
    pay_lines = [
        PayLine(person=f"p{n}", effective_on=date(2022, 1, 1), annual_salary=money(80_000, 150_000),
                benefits_rate=Decimal("0.25"))
        for n in range(40)
    ]  # fmt: skip
    expenses = [
        Expense(name=f"e{n}", amount=money(1_000, 20_000), recurrence="monthly", start_on=date(2023, 1, 1))
        for n in range(10)
    ]
    return RunwayInputs(
        as_of=AS_OF,
        opening_balance=Decimal("4000000"),
        flows=flows,
        usage_fees=usage,
        employments=employments,
        pay_lines=pay_lines,
        expenses=expenses,
        params=ScenarioParams(pipeline="weighted", horizon_months=HORIZON, reserve=Decimal("500000")),
        fiscal_sponsor_fee=Decimal("0.15"),
    )


def _best(function, runs: int = RUNS) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from funding.runway import project
    from funding.runway.montecarlo import simulate

    inputs = _inputs()
    result = simulate(inputs, draws=DRAWS)  # warm up: imports, numpy's first calls
    project(inputs)
    # Interleaved, so both see the same minutes of a noisy machine.
    seconds = baseline = float("inf")
    for _ in range(RUNS):
        seconds = min(seconds, _best(lambda: simulate(inputs, draws=DRAWS), runs=1))
        baseline = min(baseline, _best(lambda: project(inputs), runs=1))
    ok = seconds < BUDGET_SECONDS
    print(
        f"monte_carlo_1000_draws seconds={seconds:.3f} ratio_vs_weighted_projection={seconds / baseline:.2f} "
        f"baseline_seconds={baseline:.3f} items={result.items} periods={len(result.periods)} "
        f"draws={result.draws} budget={BUDGET_SECONDS}s {'ok' if ok else 'OVER BUDGET'}",
        flush=True,
    )
    if not ok:
        over_budget(f"monte carlo: {seconds:.3f} s, over the {BUDGET_SECONDS} s budget")


if __name__ == "__main__":
    main()
