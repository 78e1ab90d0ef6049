"""The demo's money rows as plans: each contract, grant and expense with its whole story.

A plan knows when it came onto the books, when it was signed, awarded or declined, and when each
payment was (or will be) made. :meth:`status_on` and friends give the row as it stood on a day,
so the same plans give the rows written at the end of the demo and what was known at every
month-end before it (the forecast history is computed from the latter).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

LONG_AGO = date(2000, 1, 1)


@dataclass
class Payment:
    """A payment, disbursement or subaward payment: due (or expected), and settled when it is."""

    due_on: date
    amount: Decimal
    # When it is paid or received; None when it never is (a contract that ended early, a
    # milestone never entered).
    settled_on: date | None = None
    # When the row is entered on the books: a holdback paid after the final report has no date
    # until the report is accepted, so it is not on the schedule before then.
    shown_on: date = LONG_AGO

    def settled_by(self, day: date) -> date | None:
        return self.settled_on if self.settled_on and self.settled_on <= day else None


@dataclass
class ContractPlan:
    reference: str
    community: str
    category: str
    plan: str
    value: Decimal
    start_on: date
    end_on: date
    # While proposed; signed contracts show 100, declined ones 0.
    probability: int
    shown_on: date
    signed_on: date | None = None
    declined_on: date | None = None
    # The community left during the term: the contract was terminated then.
    ends_early: date | None = None
    payments: list[Payment] = field(default_factory=list)
    # A usage-priced contract: the slug of its usage fee schedule, and the fee of each month-end
    # of its term up to the end of the demo, from its community's usage (docs/definitions.md
    # "Usage fees"); the fees come on top of ``payments``.
    usage_schedule: str | None = None
    usage_fees: dict[date, Decimal] = field(default_factory=dict)

    def status_on(self, day: date) -> str | None:
        if self.shown_on > day:
            return None
        if self.declined_on and self.declined_on <= day:
            return "declined"
        if self.signed_on and self.signed_on <= day:
            return "terminated" if self.ends_early and self.ends_early <= day else "signed"
        return "proposed"

    def probability_on(self, status: str) -> int:
        return {"proposed": self.probability, "declined": 0}.get(status, 100)


@dataclass
class SubawardPlan:
    reference: str
    recipient: str
    amount: Decimal
    start_on: date
    end_on: date
    payments: list[Payment] = field(default_factory=list)


@dataclass
class GrantPlan:
    reference: str
    funder: str
    category: str
    title: str
    amount: Decimal
    start_on: date
    end_on: date
    # As first shown on ``shown_on``; ``changes`` are (day, status, probability) from then on.
    status: str
    probability: int
    shown_on: date = LONG_AGO
    changes: list[tuple[date, str, int]] = field(default_factory=list)
    role: str = "sole"
    currency: str = "USD"
    restricted: bool = False
    awarded_on: date | None = None
    disbursements: list[Payment] = field(default_factory=list)
    subawards: list[SubawardPlan] = field(default_factory=list)

    def state_on(self, day: date) -> tuple[str, int] | None:
        """(status, probability) on ``day``; None before the grant is on the books."""
        if self.shown_on > day:
            return None
        status, probability = self.status, self.probability
        for changed_on, new_status, new_probability in self.changes:
            if changed_on <= day:
                status, probability = new_status, new_probability
        return status, probability


@dataclass
class ExpensePlan:
    name: str
    category: str
    amount: Decimal
    recurrence: str
    start_on: date
    end_on: date | None = None
    # On the books from ``shown_on``; its end known from ``end_known_on`` (a monthly cost ends
    # when its new price starts).
    shown_on: date = LONG_AGO
    end_known_on: date = LONG_AGO

    def end_on_by(self, day: date) -> date | None:
        return self.end_on if self.end_on and self.end_known_on <= day else None
