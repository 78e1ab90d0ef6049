"""The unrestricted runway: how long the money the organization may spend freely lasts
(docs/definitions.md "Restricted money and funder reports").

A `restricted` grant's money may be spent only on its purpose, so counting it in the runway makes
the organization look richer than it is for everything else. Here each restricted grant keeps a
pool of its own: its restricted net assets at `A`, plus its receipts as they arrive. What is
charged to it in a period is paid from that pool while it lasts; only the rest falls on
unrestricted cash. So, period by period (k = 1, 2, ...), for each restricted grant:

    pool += receipts_k;  covered_k = min(charges_k, pool);  pool -= covered_k

and the unrestricted series are

    opening = B - sum of net assets
    in_k    = in_k - sum of receipts_k    (restricted receipts are not unrestricted money)
    out_k   = out_k - sum of covered_k

read by the runway's own rule (`grid.runway`) against the scenario's reserve.

Pure, like the engine: the engine collects each restricted grant's receipts and charges per period
from the very rows it projects (`engine._accumulate`), already to the cent, and calls
:func:`unrestricted_runway`.

Why it is never longer than the runway: a pool never goes below 0 (a charge takes at most what
is there), and the unrestricted balance is always the runway's balance minus the pools, so it falls
below the reserve no later; within that period the interpolated crossing is no later either. With
no restricted grant it is the runway itself. A negative charge (a refund) is covered by nothing: it
lands, like every other refund, on unrestricted cash.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from .grid import Grid, runway
from .inputs import ZERO, RestrictedGrant


@dataclass(frozen=True, slots=True, kw_only=True)
class GrantNetAssets:
    """One restricted grant's net assets at `A`, as the API lists it."""

    grant: str
    net_assets: Decimal

    def as_dict(self) -> dict[str, str]:
        return {"grant": self.grant, "net_assets": f"{self.net_assets:.2f}"}


@dataclass(frozen=True, slots=True, kw_only=True)
class UnrestrictedRunway:
    """The runway of unrestricted money: `months` and `cash_out_on` as the runway's own (null:
    beyond the horizon), from `B` minus `restricted_net_assets`."""

    months: Decimal | None
    cash_out_on: date | None
    restricted_net_assets: Decimal
    grants: tuple[GrantNetAssets, ...]

    def as_dict(self) -> dict[str, Any]:
        """The runway API's ``unrestricted`` (docs/api.md)."""
        return {
            "months": None if self.months is None else f"{self.months:.2f}",
            "cash_out_on": None if self.cash_out_on is None else self.cash_out_on.isoformat(),
            "restricted_net_assets": f"{self.restricted_net_assets:.2f}",
            "grants": [grant.as_dict() for grant in self.grants],
        }


@dataclass(frozen=True, slots=True)
class UnrestrictedSeries:
    """The unrestricted opening balance and in/out by 0-based period, before the runway is read."""

    opening: Decimal
    ins: list[Decimal]
    outs: list[Decimal]


def unrestricted_series(
    *,
    opening: Decimal,
    ins: Sequence[Decimal],
    outs: Sequence[Decimal],
    grants: Sequence[RestrictedGrant],
    receipts: Mapping[str, Sequence[Decimal]],
    charges: Mapping[str, Sequence[Decimal]],
) -> UnrestrictedSeries:
    """Net each restricted grant's receipts and charges out of the scenario's series, grant by grant.

    ``ins``/``outs`` are the scenario's in/out by period; ``receipts``/``charges`` each grant's, by
    its key (a grant missing from either has none). All already to the cent, so the result is too.
    """
    size = len(ins)
    unrestricted_in = list(ins)
    unrestricted_out = list(outs)
    for grant in grants:
        grant_receipts = receipts.get(grant.key)
        grant_charges = charges.get(grant.key)
        pool = grant.net_assets
        for k in range(size):
            receipt = grant_receipts[k] if grant_receipts is not None else ZERO
            charge = grant_charges[k] if grant_charges is not None else ZERO
            pool += receipt
            covered = min(charge, pool) if charge > ZERO and pool > ZERO else ZERO
            pool -= covered
            unrestricted_in[k] -= receipt
            unrestricted_out[k] -= covered
    held = sum((grant.net_assets for grant in grants), ZERO)
    return UnrestrictedSeries(opening=opening - held, ins=unrestricted_in, outs=unrestricted_out)


def unrestricted_runway(
    *,
    grid: Grid,
    opening: Decimal,
    ins: Sequence[Decimal],
    outs: Sequence[Decimal],
    reserve: Decimal,
    grants: Sequence[RestrictedGrant],
    receipts: Mapping[str, Sequence[Decimal]],
    charges: Mapping[str, Sequence[Decimal]],
) -> UnrestrictedRunway:
    """The unrestricted runway of a projection (see the module docstring)."""
    series = unrestricted_series(
        opening=opening, ins=ins, outs=outs, grants=grants, receipts=receipts, charges=charges
    )
    months, cash_out_on = runway(grid, series.opening, series.ins, series.outs, reserve)
    return UnrestrictedRunway(
        months=months,
        cash_out_on=cash_out_on,
        restricted_net_assets=opening - series.opening,
        grants=tuple(GrantNetAssets(grant=grant.key, net_assets=grant.net_assets) for grant in grants),
    )
