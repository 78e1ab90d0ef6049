"""Funders, grants, subawards, and the money in (disbursements) and out (subaward payments)
that hangs off them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Sum

from opsite.core.money import ZERO, reporting_currency

from ..choices import AWARDED_STATUSES, GrantRole, GrantStatus
from ..models import Disbursement, Funder, Grant, Subaward, SubawardPayment
from ._base import (
    Errors,
    add_error,
    assign_fields,
    check_cap,
    check_dates,
    create_validated,
    fmt_money,
    lock_row,
    raise_errors,
    related_or_none,
    save_changes,
    total_of,
)

# --- funders ------------------------------------------------------------------------------------

FUNDER_FIELDS = ("slug", "name", "kind")


@transaction.atomic
def funder_create(*, slug: str, name: str, kind: str) -> Funder:
    return create_validated(Funder(slug=slug, name=name, kind=kind))


@transaction.atomic
def funder_update(*, funder: Funder, data: Mapping[str, Any]) -> Funder:
    save_changes(funder, assign_fields(funder, data, FUNDER_FIELDS))
    return funder


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
)


def grant_validate(grant: Grant) -> None:
    """The rules of one grant, including what already hangs off it when it is changed."""
    errors: Errors = {}
    check_dates(grant, errors)
    if grant.probability is not None and not 0 <= grant.probability <= 100:
        add_error(
            errors, "probability", f"Probability is a percentage from 0 to 100; got {grant.probability}."
        )
    if grant.status in AWARDED_STATUSES and grant.awarded_on is None:
        add_error(
            errors, "awarded_on", f"A grant with status '{grant.status}' needs the date it was awarded."
        )
    if grant.pk is not None:
        subawards = Subaward.objects.filter(grant_id=grant.pk).aggregate(
            count=Count("pk"), total=Sum("amount")
        )
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
            ):
                if total > grant.amount:
                    add_error(
                        errors,
                        "amount",
                        f"Amount {fmt_money(grant.amount, grant.currency)} is below the "
                        f"{fmt_money(total, grant.currency)} of {what} of grant {grant.reference} "
                        f"(by {fmt_money(total - grant.amount, grant.currency)}); lower the {what} first.",
                    )
    raise_errors(errors)


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
) -> Grant:
    return create_validated(
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
        )
    )


@transaction.atomic
def grant_update(*, grant: Grant, data: Mapping[str, Any]) -> Grant:
    lock_row(Grant, grant.pk)
    save_changes(grant, assign_fields(grant, data, GRANT_FIELDS))
    return grant


# --- subawards ----------------------------------------------------------------------------------

SUBAWARD_FIELDS = ("reference", "grant", "recipient", "amount", "start_on", "end_on")


def subaward_validate(subaward: Subaward) -> None:
    """Only under a prime grant; the grant's subawards, and this one's payments, within amounts."""
    errors: Errors = {}
    check_dates(subaward, errors)
    grant: Grant | None = related_or_none(subaward, "grant")
    if grant is not None:
        if grant.role != GrantRole.PRIME:
            add_error(
                errors,
                "grant",
                f"Subawards go only under a prime grant; grant {grant.reference} has role '{grant.role}'.",
            )
        else:
            siblings = (
                Subaward.objects.filter(grant_id=grant.pk).exclude(pk=subaward.pk) if grant.pk else None
            )
            check_cap(
                errors,
                what="subawards",
                parent=f"grant {grant.reference}",
                siblings=siblings,
                amount=subaward.amount,
                cap=grant.amount,
                currency=grant.currency,
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
    return create_validated(
        Subaward(
            reference=reference,
            grant=grant,
            recipient=recipient,
            amount=amount,
            start_on=start_on,
            end_on=end_on,
        )
    )


@transaction.atomic
def subaward_update(*, subaward: Subaward, data: Mapping[str, Any]) -> Subaward:
    lock_row(Grant, data["grant"].pk if "grant" in data else subaward.grant_id)
    save_changes(subaward, assign_fields(subaward, data, SUBAWARD_FIELDS))
    return subaward


# --- disbursements (money in) -------------------------------------------------------------------

DISBURSEMENT_FIELDS = ("grant", "expected_on", "amount", "received_on")


def disbursement_validate(disbursement: Disbursement) -> None:
    """A grant's disbursements never sum past its amount."""
    errors: Errors = {}
    grant: Grant | None = related_or_none(disbursement, "grant")
    if grant is not None:
        check_cap(
            errors,
            what="disbursements",
            parent=f"grant {grant.reference}",
            siblings=(
                Disbursement.objects.filter(grant_id=grant.pk).exclude(pk=disbursement.pk)
                if grant.pk
                else None
            ),
            amount=disbursement.amount,
            cap=grant.amount,
            currency=grant.currency,
        )
    raise_errors(errors)


@transaction.atomic
def disbursement_create(
    *, grant: Grant, expected_on: date, amount: Decimal, received_on: date | None = None
) -> Disbursement:
    lock_row(Grant, grant.pk)
    return create_validated(
        Disbursement(grant=grant, expected_on=expected_on, amount=amount, received_on=received_on)
    )


@transaction.atomic
def disbursement_update(*, disbursement: Disbursement, data: Mapping[str, Any]) -> Disbursement:
    lock_row(Grant, data["grant"].pk if "grant" in data else disbursement.grant_id)
    save_changes(disbursement, assign_fields(disbursement, data, DISBURSEMENT_FIELDS))
    return disbursement


# --- subaward payments (money out) --------------------------------------------------------------

SUBAWARD_PAYMENT_FIELDS = ("subaward", "due_on", "amount", "paid_on")


def subaward_payment_validate(payment: SubawardPayment) -> None:
    """A subaward's payments never sum past its amount."""
    errors: Errors = {}
    subaward: Subaward | None = related_or_none(payment, "subaward")
    if subaward is not None:
        grant = related_or_none(subaward, "grant")
        check_cap(
            errors,
            what="payments",
            parent=f"subaward {subaward.reference}",
            siblings=(
                SubawardPayment.objects.filter(subaward_id=subaward.pk).exclude(pk=payment.pk)
                if subaward.pk
                else None
            ),
            amount=payment.amount,
            cap=subaward.amount,
            currency=grant.currency if grant is not None else reporting_currency(),
        )
    raise_errors(errors)


@transaction.atomic
def subaward_payment_create(
    *, subaward: Subaward, due_on: date, amount: Decimal, paid_on: date | None = None
) -> SubawardPayment:
    lock_row(Subaward, subaward.pk)
    return create_validated(SubawardPayment(subaward=subaward, due_on=due_on, amount=amount, paid_on=paid_on))


@transaction.atomic
def subaward_payment_update(*, subaward_payment: SubawardPayment, data: Mapping[str, Any]) -> SubawardPayment:
    lock_row(Subaward, data["subaward"].pk if "subaward" in data else subaward_payment.subaward_id)
    save_changes(subaward_payment, assign_fields(subaward_payment, data, SUBAWARD_PAYMENT_FIELDS))
    return subaward_payment
