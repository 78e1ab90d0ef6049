"""Collection flags: contracts and grants whose collection looks wrong (docs/definitions.md
"Revenue realism", "Collection flags").

Leadership reads this list before trusting the forecast: each flag names a record, what is wrong
with it, and why, in words. Signed contracts and awarded grants (``closed`` ones included, as in the
runway, since their open disbursements still count as committed) are checked for ``stale``,
``overdue``, ``ended_uncollected``, ``ending_soon_uncollected`` and ``schedule_incomplete``; the
pipeline (proposed contracts, prospect and submitted grants) only for ``past_close``.

The rules are the kernel's (:mod:`opsite.core.collection`), contracts read by
:mod:`contracts.collection`; this module reads the grants and serves the whole list.

The figures are summed in the database (correlated subqueries, one query for the contracts and one
for the grants, plus one for the cash position's date when no date is given), so the cost does not
grow with the records. Amounts are in each record's own currency, as the records hold them:
a flag is about one record, and converting would make a missing exchange rate hide it.

A row counts as collected once it is marked paid or received, whatever the date written on it: the
flags list what still needs chasing, and a payment received after the cash position's date needs
none.
"""

from __future__ import annotations

from datetime import date

from contracts.collection import contract_records
from opsite.core.collection import (
    CollectionFlag,
    CollectionRecord,
    FlagCode,
    RecordKind,
    collection_as_of,
    flags_of_records,
    open_overdue,
)
from opsite.core.money import quantize

from .choices import AWARDED_STATUSES, PIPELINE_GRANT_STATUSES, GrantStatus
from .models import Disbursement
from .selectors import cash_position_latest, grant_list

__all__ = [
    "CollectionFlag",
    "FlagCode",
    "RecordKind",
    "cash_position_as_of",
    "collection_as_of",
    "collection_flags",
    "grant_records",
]

# How a pipeline grant's status reads in "Still ..., but it was to start on ...".
_STILL = {GrantStatus.PROSPECT: "a prospect", GrantStatus.SUBMITTED: "submitted"}


def cash_position_as_of() -> date | None:
    """The latest cash position's date (one query), None when there is none: the collection
    flags' ``A``, registered with the kernel when funding starts (``funding.apps``)."""
    latest = cash_position_latest()
    return latest.as_of if latest is not None else None


def collection_flags(as_of: date | None = None) -> list[CollectionFlag]:
    """Every collection flag as of ``as_of`` (default: the latest cash position's date).

    Sorted by flag (in the definitions' order), then contracts before grants, then by reference.
    Empty when no date is given and there is no cash position to take one from. Two queries, three
    without ``as_of``.
    """
    as_of = collection_as_of(as_of)
    if as_of is None:
        return []
    return flags_of_records([*contract_records(as_of), *grant_records(as_of)], as_of)


def grant_records(as_of: date) -> list[CollectionRecord]:
    """Awarded (and closed) grants and the grant pipeline with their disbursement sums: one query."""
    grants = (
        grant_list()
        .filter(status__in=(*AWARDED_STATUSES, *PIPELINE_GRANT_STATUSES))
        .annotate(**open_overdue(Disbursement, "grant", "expected_on", "received_on", as_of))
    )
    return [
        CollectionRecord(
            kind=RecordKind.GRANT,
            key=grant.reference,
            counterparty=grant.funder.name,
            status=grant.status,
            pipeline=grant.status in PIPELINE_GRANT_STATUSES,
            amount=grant.amount,
            scheduled=quantize(grant.scheduled),
            collected=quantize(grant.received),
            currency=grant.currency,
            start_on=grant.start_on,
            end_on=grant.end_on,
            row="disbursement",
            settled="received",
            still=_STILL.get(grant.status, ""),
            overdue_count=grant.overdue_count,
            overdue_total=quantize(grant.overdue_total),
            oldest_overdue=grant.oldest_overdue,
        )
        for grant in grants.order_by("reference")
    ]
