"""The restricted grants of the unrestricted runway, from the database: their net assets at ``A``
and the staff allocations charged to them (docs/definitions.md "Restricted money and funder
reports"). The loader (``loader.py``) finds them while it reads the disbursements, in its own query;
this module reads the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ..budget import spent_by_grant
from ..models import StaffAllocation
from .inputs import ZERO, Allocation, RestrictedGrant


@dataclass(slots=True)
class Holding:
    """A restricted grant with a disbursement: its reference and what it received up to ``A``, in
    the reporting currency (each disbursement converted at the rate of its ``received_on``)."""

    reference: str
    received: Decimal = ZERO


def restricted_grants(
    *, as_of: date, held: Mapping[int, Holding], keep: Callable[..., bool]
) -> tuple[tuple[RestrictedGrant, ...], tuple[Allocation, ...]]:
    """The grants of ``held`` (by id) with their net assets at ``as_of``, received minus spent,
    floored at 0, in reference order; and the staff allocations charged to them still running after
    ``as_of``. No query when ``held`` is empty; else one, and those of ``spent_by_grant`` when some
    grant received something.

    ``keep(label, *days)`` says whether a row's dates are plausible (the loader's count of rows left
    out).
    """
    if not held:
        return (), ()
    receiving = [grant_id for grant_id, grant in held.items() if grant.received > ZERO]
    spent = spent_by_grant(grant_ids=receiving, until=as_of, in_reporting_currency=True) if receiving else {}
    grants = tuple(
        RestrictedGrant(
            key=grant.reference,
            net_assets=max(ZERO, grant.received - sum(spent.get(grant_id, {}).values(), ZERO)),
        )
        for grant_id, grant in sorted(held.items(), key=lambda item: item[1].reference)
    )
    rows = (
        StaffAllocation.objects.filter(grant_id__in=list(held), end_on__gt=as_of)
        .order_by("grant__reference", "staff__slug", "start_on", "pk")
        .values_list("staff__slug", "grant__reference", "share", "start_on", "end_on")
    )
    allocations = tuple(
        Allocation(person=slug, grant=reference, share=share, start_on=start_on, end_on=end_on)
        for slug, reference, share, start_on, end_on in rows
        if keep("funding.StaffAllocation", start_on, end_on)
    )
    return grants, allocations
