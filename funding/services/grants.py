"""Funders, grants, subawards, and the money in (disbursements) and out (subaward payments)
that hangs off them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.db.models import Count, Sum

from opsite.core.money import ZERO, reporting_currency
from opsite.core.services import assign, writes_for

from ..choices import GrantRole, GrantStatus, Recurrence
from ..models import (
    Disbursement,
    Expense,
    Funder,
    Grant,
    GrantBudgetLine,
    StaffAllocation,
    Subaward,
    SubawardPayment,
)
from ._base import (
    Errors,
    add_error,
    check_cap,
    create_checked,
    fmt_money,
    lock_row,
    raise_errors,
    related_or_none,
    save_checked,
    total_of,
)

# --- funders ------------------------------------------------------------------------------------

FUNDER_FIELDS = ("slug", "name", "kind")


@transaction.atomic
def funder_create(*, slug: str, name: str, kind: str) -> Funder:
    return create_checked(Funder(slug=slug, name=name, kind=kind))


@transaction.atomic
def funder_update(*, funder: Funder, data: Mapping[str, Any]) -> Funder:
    assign(funder, data, FUNDER_FIELDS)
    return save_checked(funder)


# --- grants -------------------------------------------------------------------------------------

GRANT_FIELDS = (
    "reference",
    "funder",
    "title",
    "category",
    "role",
    "status",
    "probability",
    "amount",
    "currency",
    "awarded_on",
    "start_on",
    "end_on",
    "restricted",
    "purpose",
)


def grant_validate(grant: Grant) -> None:
    """What already hangs off a grant, when it is changed: its role and amount must still hold it.

    The checks of the grant's own fields (dates, probability, award date) are ``Grant.clean()``.
    """
    if grant.pk is None:
        return
    errors: Errors = {}
    subawards = Subaward.objects.filter(grant_id=grant.pk).aggregate(count=Count("pk"), total=Sum("amount"))
    if subawards["count"] and grant.role != GrantRole.PRIME:
        add_error(
            errors,
            "role",
            f"Grant {grant.reference} has {subawards['count']} subaward(s), and only a prime grant "
            f"passes subawards on; its role cannot be '{grant.role}'.",
        )
    if grant.amount is not None:
        for what, total in (
            ("subawards", subawards["total"] or ZERO),
            ("disbursements", total_of(Disbursement.objects.filter(grant_id=grant.pk))),
            ("budget lines", total_of(GrantBudgetLine.objects.filter(grant_id=grant.pk))),
        ):
            if total > grant.amount:
                add_error(
                    errors,
                    "amount",
                    f"Amount {fmt_money(grant.amount, grant.currency)} is below the "
                    f"{fmt_money(total, grant.currency)} of {what} of grant {grant.reference} "
                    f"(by {fmt_money(total - grant.amount, grant.currency)}); lower the {what} first.",
                )
    if isinstance(grant.start_on, date) and isinstance(grant.end_on, date):
        outside = (
            StaffAllocation.objects.filter(grant_id=grant.pk)
            .filter(models.Q(start_on__lt=grant.start_on) | models.Q(end_on__gt=grant.end_on))
            .order_by("start_on")
            .first()
        )
        if outside is not None:
            add_error(
                errors,
                "end_on" if outside.end_on > grant.end_on else "start_on",
                f"Staff allocation {outside} runs from {outside.start_on:%Y-%m-%d} to {outside.end_on:%Y-%m-%d}, "
                f"outside the grant's dates {grant.start_on:%Y-%m-%d} to {grant.end_on:%Y-%m-%d}; change it first.",
            )
        _check_expenses_within(errors, grant)
    raise_errors(errors)


def _check_expenses_within(errors: Errors, grant: Grant) -> None:
    """The expenses charged to ``grant`` stay within its (new) dates."""
    if grant.pk is None:
        return
    ends_after = models.Q(recurrence=Recurrence.ONCE, start_on__gt=grant.end_on) | models.Q(
        ~models.Q(recurrence=Recurrence.ONCE), end_on__gt=grant.end_on
    )
    outside = (
        Expense.objects.filter(grant_id=grant.pk)
        .filter(models.Q(start_on__lt=grant.start_on) | ends_after)
        .order_by("start_on", "pk")
        .first()
    )
    if outside is not None:
        add_error(
            errors,
            "start_on" if outside.start_on < grant.start_on else "end_on",
            f"Expense {outside.name!r} from {outside.start_on:%Y-%m-%d} is charged to this grant and would fall "
            f"outside its dates {grant.start_on:%Y-%m-%d} to {grant.end_on:%Y-%m-%d}; change it first.",
        )


@transaction.atomic
def grant_create(
    *,
    reference: str,
    funder: Funder,
    title: str,
    category: str,
    amount: Decimal,
    start_on: date,
    end_on: date,
    role: str = GrantRole.SOLE,
    status: str = GrantStatus.PROSPECT,
    probability: int = 100,
    currency: str | None = None,
    awarded_on: date | None = None,
    restricted: bool = False,
    purpose: str = "",
) -> Grant:
    return create_checked(
        Grant(
            reference=reference,
            funder=funder,
            title=title,
            category=category,
            role=role,
            status=status,
            probability=probability,
            amount=amount,
            currency=currency or reporting_currency(),
            awarded_on=awarded_on,
            start_on=start_on,
            end_on=end_on,
            restricted=restricted,
            purpose=purpose,
        ),
        grant_validate,
    )


@transaction.atomic
def grant_update(*, grant: Grant, data: Mapping[str, Any]) -> Grant:
    lock_row(Grant, grant.pk)
    assign(grant, data, GRANT_FIELDS)
    return save_checked(grant, grant_validate)


# --- children that never sum past their parent's amount -----------------------------------------
# A grant's subawards and disbursements, a subaward's payments. One row written alone is checked
# against the saved rows beside it (``<entity>_validate``); rows edited together (an admin inline)
# are checked as a set (``children_validate``) and saved by ``children_save``.

CAPPED_CHILDREN: dict[type[models.Model], tuple[str, str]] = {
    # child model: (the parent's field, what the message calls the children)
    Subaward: ("grant", "subawards"),
    Disbursement: ("grant", "disbursements"),
    GrantBudgetLine: ("grant", "budget lines"),
    SubawardPayment: ("subaward", "payments"),
}


def _parent_currency(parent: Grant | Subaward) -> str:
    if isinstance(parent, Grant):
        return parent.currency
    grant = related_or_none(parent, "grant")
    return grant.currency if grant is not None else reporting_currency()


def _check_children_cap(
    errors: Errors,
    *,
    model: type[models.Model],
    parent: Grant | Subaward,
    amount: Decimal | None,
    besides: Iterable[int | None] = (),
) -> None:
    """``amount`` more ``model`` rows under ``parent``, with its saved ones but ``besides``, fit its amount."""
    parent_field, what = CAPPED_CHILDREN[model]
    siblings = None
    if parent.pk is not None:
        left_out = [pk for pk in besides if pk is not None]
        siblings = model.objects.filter(**{f"{parent_field}_id": parent.pk}).exclude(pk__in=left_out)
    check_cap(
        errors,
        what=what,
        parent=f"{parent._meta.verbose_name} {parent.reference}",
        siblings=siblings,
        amount=amount,
        cap=parent.amount,
        currency=_parent_currency(parent),
    )


def children_validate(
    *,
    parent: Grant | Subaward,
    model: type[models.Model],
    amounts: Iterable[Decimal | None],
    edited: Iterable[int | None] = (),
) -> None:
    """The children of ``parent`` edited together never sum past its amount, taken as a set.

    ``amounts`` are those of every child the edit keeps or adds; ``edited`` are the saved
    children it changes or deletes (the others count as saved). Checked as a set, money can move
    between two saved rows in one edit, and two new rows cannot each pass on their own.
    """
    errors: Errors = {}
    total = sum((amount or ZERO for amount in amounts), ZERO)
    _check_children_cap(errors, model=model, parent=parent, amount=total, besides=edited)
    raise_errors(errors)


@transaction.atomic
def children_save(
    *,
    parent: Grant | Subaward,
    model: type[models.Model],
    deleted: Sequence[models.Model] = (),
    changed: Sequence[tuple[models.Model, Mapping[str, Any]]] = (),
    added: Sequence[Mapping[str, Any]] = (),
) -> list[models.Model]:
    """Delete, change and add children of ``parent`` as one set; return the new rows.

    The set is checked first (``children_validate``). Each row is then written through its own
    services, in an order where the running total only grows towards the final one: deletions,
    the rows whose amount goes down, the other changes, then new rows. So no row's own check
    refuses a step towards a set that fits.
    """
    lock_row(type(parent), parent.pk)
    writes = writes_for(model)
    changed = list(changed)
    saved = dict(model.objects.filter(pk__in=[row.pk for row, _ in changed]).values_list("pk", "amount"))

    def new_amount(row: models.Model, data: Mapping[str, Any]) -> Decimal:
        return data.get("amount", row.amount) or ZERO

    children_validate(
        parent=parent,
        model=model,
        amounts=[*(new_amount(row, data) for row, data in changed), *(data.get("amount") for data in added)],
        edited=[*(row.pk for row in deleted), *(row.pk for row, _ in changed)],
    )
    for row in deleted:
        writes.delete_one(row)
    changed.sort(key=lambda item: new_amount(*item) - saved.get(item[0].pk, ZERO))
    for row, data in changed:
        writes.update_from(row, data)
    return [writes.create_from(data) for data in added]


# --- subawards ----------------------------------------------------------------------------------

SUBAWARD_FIELDS = ("reference", "grant", "recipient", "amount", "start_on", "end_on")


def subaward_validate(subaward: Subaward, *, with_siblings: bool = True) -> None:
    """Only under a prime grant; the grant's subawards, and this one's payments, within amounts.

    ``with_siblings=False`` leaves out the grant's cap on its subawards, for a form whose set of
    subawards is checked together (``children_validate``).
    """
    errors: Errors = {}
    grant: Grant | None = related_or_none(subaward, "grant")
    if grant is not None:
        if grant.role != GrantRole.PRIME:
            add_error(
                errors,
                "grant",
                f"Subawards go only under a prime grant; grant {grant.reference} has role '{grant.role}'.",
            )
        elif with_siblings:
            _check_children_cap(
                errors, model=Subaward, parent=grant, amount=subaward.amount, besides=[subaward.pk]
            )
    if subaward.pk is not None and subaward.amount is not None:
        currency = grant.currency if grant is not None else reporting_currency()
        paid = total_of(SubawardPayment.objects.filter(subaward_id=subaward.pk))
        if paid > subaward.amount:
            add_error(
                errors,
                "amount",
                f"Amount {fmt_money(subaward.amount, currency)} is below the {fmt_money(paid, currency)} of "
                f"payments of subaward {subaward.reference} (by {fmt_money(paid - subaward.amount, currency)}); "
                "lower the payments first.",
            )
    raise_errors(errors)


@transaction.atomic
def subaward_create(
    *, reference: str, grant: Grant, recipient: str, amount: Decimal, start_on: date, end_on: date
) -> Subaward:
    lock_row(Grant, grant.pk)
    return create_checked(
        Subaward(
            reference=reference,
            grant=grant,
            recipient=recipient,
            amount=amount,
            start_on=start_on,
            end_on=end_on,
        ),
        subaward_validate,
    )


@transaction.atomic
def subaward_update(*, subaward: Subaward, data: Mapping[str, Any]) -> Subaward:
    lock_row(Grant, data["grant"].pk if "grant" in data else subaward.grant_id)
    assign(subaward, data, SUBAWARD_FIELDS)
    return save_checked(subaward, subaward_validate)


# --- disbursements (money in) -------------------------------------------------------------------

DISBURSEMENT_FIELDS = ("grant", "expected_on", "amount", "received_on")


def disbursement_validate(disbursement: Disbursement) -> None:
    """A grant's disbursements never sum past its amount."""
    errors: Errors = {}
    grant: Grant | None = related_or_none(disbursement, "grant")
    if grant is not None:
        _check_children_cap(
            errors, model=Disbursement, parent=grant, amount=disbursement.amount, besides=[disbursement.pk]
        )
    raise_errors(errors)


@transaction.atomic
def disbursement_create(
    *, grant: Grant, expected_on: date, amount: Decimal, received_on: date | None = None
) -> Disbursement:
    lock_row(Grant, grant.pk)
    return create_checked(
        Disbursement(grant=grant, expected_on=expected_on, amount=amount, received_on=received_on),
        disbursement_validate,
    )


@transaction.atomic
def disbursement_update(*, disbursement: Disbursement, data: Mapping[str, Any]) -> Disbursement:
    lock_row(Grant, data["grant"].pk if "grant" in data else disbursement.grant_id)
    assign(disbursement, data, DISBURSEMENT_FIELDS)
    return save_checked(disbursement, disbursement_validate)


# --- subaward payments (money out) --------------------------------------------------------------

SUBAWARD_PAYMENT_FIELDS = ("subaward", "due_on", "amount", "paid_on")


def subaward_payment_validate(payment: SubawardPayment) -> None:
    """A subaward's payments never sum past its amount."""
    errors: Errors = {}
    subaward: Subaward | None = related_or_none(payment, "subaward")
    if subaward is not None:
        _check_children_cap(
            errors, model=SubawardPayment, parent=subaward, amount=payment.amount, besides=[payment.pk]
        )
    raise_errors(errors)


@transaction.atomic
def subaward_payment_create(
    *, subaward: Subaward, due_on: date, amount: Decimal, paid_on: date | None = None
) -> SubawardPayment:
    lock_row(Subaward, subaward.pk)
    return create_checked(
        SubawardPayment(subaward=subaward, due_on=due_on, amount=amount, paid_on=paid_on),
        subaward_payment_validate,
    )


@transaction.atomic
def subaward_payment_update(*, subaward_payment: SubawardPayment, data: Mapping[str, Any]) -> SubawardPayment:
    lock_row(Subaward, data["subaward"].pk if "subaward" in data else subaward_payment.subaward_id)
    assign(subaward_payment, data, SUBAWARD_PAYMENT_FIELDS)
    return save_checked(subaward_payment, subaward_payment_validate)
