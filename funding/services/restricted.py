"""Restricted money: a grant's budget lines, the staff time charged to it, and the reports owed to
its funder (docs/definitions.md "Restricted money and funder reports")."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from opsite.core.services import assign
from staff.models import StaffMember

from ..models import FunderReport, Grant, GrantBudgetLine, StaffAllocation
from ._base import Errors, add_error, create_checked, lock_row, raise_errors, related_or_none, save_checked
from .grants import _check_children_cap

ONE = Decimal("1")

# --- budget lines -------------------------------------------------------------------------------

GRANT_BUDGET_LINE_FIELDS = ("grant", "category", "amount")


def grant_budget_line_validate(line: GrantBudgetLine, *, with_siblings: bool = True) -> None:
    """A grant's budget lines never sum past its amount."""
    errors: Errors = {}
    grant: Grant | None = related_or_none(line, "grant")
    if grant is not None and with_siblings:
        _check_children_cap(
            errors, model=GrantBudgetLine, parent=grant, amount=line.amount, besides=[line.pk]
        )
    raise_errors(errors)


@transaction.atomic
def grant_budget_line_create(*, grant: Grant, category: str, amount: Decimal) -> GrantBudgetLine:
    lock_row(Grant, grant.pk)
    return create_checked(
        GrantBudgetLine(grant=grant, category=category, amount=amount), grant_budget_line_validate
    )


@transaction.atomic
def grant_budget_line_update(
    *, grant_budget_line: GrantBudgetLine, data: Mapping[str, Any]
) -> GrantBudgetLine:
    lock_row(Grant, data["grant"].pk if "grant" in data else grant_budget_line.grant_id)
    assign(grant_budget_line, data, GRANT_BUDGET_LINE_FIELDS)
    return save_checked(grant_budget_line, grant_budget_line_validate)


# --- staff allocations --------------------------------------------------------------------------

STAFF_ALLOCATION_FIELDS = ("staff", "grant", "share", "start_on", "end_on")


def first_day_over_one(
    share: Decimal, start_on: date, end_on: date, others: list[tuple[Decimal, date, date]]
) -> tuple[date, Decimal] | None:
    """The first day from ``start_on`` to ``end_on`` on which ``share`` and the ``others``
    (share, start, end) sum past 1, with that sum; ``None`` when no day does."""
    changes: dict[date, Decimal] = {start_on: Decimal(0)}
    for other_share, other_start, other_end in others:
        begin, finish = max(other_start, start_on), min(other_end, end_on)
        if begin > finish:
            continue
        changes[begin] = changes.get(begin, Decimal(0)) + other_share
        after = finish + timedelta(days=1)
        changes[after] = changes.get(after, Decimal(0)) - other_share
    running = share
    for day in sorted(changes):
        if day > end_on:
            break
        running += changes[day]
        if running > ONE:
            return day, running
    return None


def staff_allocation_validate(allocation: StaffAllocation, *, with_siblings: bool = True) -> None:
    """Within the grant's dates; the person's shares never sum past 1 on any day.

    ``with_siblings=False`` leaves the sum to the caller: an admin inline edits a person's
    allocations together and checks them as a set (:func:`staff_allocations_validate`)."""
    errors: Errors = {}
    grant: Grant | None = related_or_none(allocation, "grant")
    staff: StaffMember | None = related_or_none(allocation, "staff")
    start_on, end_on, share = allocation.start_on, allocation.end_on, allocation.share
    dated = isinstance(start_on, date) and isinstance(end_on, date) and end_on >= start_on
    if grant is not None and dated:
        if start_on < grant.start_on:
            add_error(
                errors,
                "start_on",
                f"The allocation starts on {start_on:%Y-%m-%d}, before grant {grant.reference} starts "
                f"on {grant.start_on:%Y-%m-%d}.",
            )
        if end_on > grant.end_on:
            add_error(
                errors,
                "end_on",
                f"The allocation ends on {end_on:%Y-%m-%d}, after grant {grant.reference} ends "
                f"on {grant.end_on:%Y-%m-%d}.",
            )
    if with_siblings and staff is not None and dated and isinstance(share, Decimal):
        others = list(
            StaffAllocation.objects.filter(staff_id=staff.pk, start_on__lte=end_on, end_on__gte=start_on)
            .exclude(pk=allocation.pk)
            .values_list("share", "start_on", "end_on")
        )
        over = first_day_over_one(share, start_on, end_on, others)
        if over is not None:
            add_error(errors, "share", _over_one_message(staff, *over))
    raise_errors(errors)


def _over_one_message(staff: StaffMember, day: date, total: Decimal) -> str:
    return (
        f"{staff.name}'s allocations would sum to {total.normalize():f} on {day:%Y-%m-%d}, "
        "past 1: a person's shares never sum past 1 on any day."
    )


def staff_allocations_validate(*, staff: StaffMember, rows: list[tuple[Decimal, date, date]]) -> None:
    """``rows`` (share, start, end), all of a person's allocations after an edit, never sum past 1.

    Checked as a set, so one edit may lower one share and raise another, and two new rows cannot
    each pass on their own."""
    for index, (share, start_on, end_on) in enumerate(rows):
        over = first_day_over_one(share, start_on, end_on, rows[:index])
        if over is not None:
            raise ValidationError(_over_one_message(staff, *over))


@transaction.atomic
def staff_allocation_create(
    *, staff: StaffMember, grant: Grant, share: Decimal, start_on: date, end_on: date
) -> StaffAllocation:
    # The person's row is the lock: two allocations written at once cannot both fit under 1.
    lock_row(StaffMember, staff.pk)
    return create_checked(
        StaffAllocation(staff=staff, grant=grant, share=share, start_on=start_on, end_on=end_on),
        staff_allocation_validate,
    )


@transaction.atomic
def staff_allocation_update(*, staff_allocation: StaffAllocation, data: Mapping[str, Any]) -> StaffAllocation:
    lock_row(StaffMember, data["staff"].pk if "staff" in data else staff_allocation.staff_id)
    assign(staff_allocation, data, STAFF_ALLOCATION_FIELDS)
    return save_checked(staff_allocation, staff_allocation_validate)


# --- funder reports -----------------------------------------------------------------------------

FUNDER_REPORT_FIELDS = ("grant", "kind", "period_start", "period_end", "due_on", "owner", "submitted_on")


@transaction.atomic
def funder_report_create(
    *,
    grant: Grant,
    kind: str,
    period_start: date,
    period_end: date,
    due_on: date,
    owner: Any,
    submitted_on: date | None = None,
) -> FunderReport:
    return create_checked(
        FunderReport(
            grant=grant,
            kind=kind,
            period_start=period_start,
            period_end=period_end,
            due_on=due_on,
            owner=owner,
            submitted_on=submitted_on,
        )
    )


@transaction.atomic
def funder_report_update(*, funder_report: FunderReport, data: Mapping[str, Any]) -> FunderReport:
    old_due_on = funder_report.due_on
    assign(funder_report, data, FUNDER_REPORT_FIELDS)
    if funder_report.due_on != old_due_on:
        # A new deadline deserves its own reminders.
        funder_report.reminded_35_at = funder_report.reminded_7_at = None
    return save_checked(funder_report)
