"""Writes with business rules for service contracts and their payment schedules.

The model ``clean()`` methods call ``contract_validate`` and ``contract_payment_validate``, so the
admin, imports and the API refuse the same things with the same messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum

from communities.models import Community
from opsite.core.money import CENT, ZERO, quantize
from opsite.core.services import by_natural_key

from .choices import BillingPlan, ContractStatus
from .models import ContractPayment, ServiceContract

# Months between two payments of each recurring plan.
PLAN_MONTHS = {BillingPlan.MONTHLY: 1, BillingPlan.QUARTERLY: 3, BillingPlan.ANNUAL: 12}

# Set on a payment whose contract total is checked for the whole set it belongs to (an admin
# inline, an import file): checking each row against the stored rows would refuse a valid set
# that moves money from one payment to another.
CHECKED_AS_A_SET = "_total_checked_as_a_set"


def money(amount: Decimal, currency: str) -> str:
    """``12,000.00 USD``: how amounts are written in messages."""
    return f"{amount:,.2f} {currency}"


def _assign(instance: Any, data: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Set ``data`` on ``instance``; an unknown field is a programming error, not bad input."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise TypeError(f"{type(instance).__name__} cannot be updated with {', '.join(unknown)}")
    for name, value in data.items():
        setattr(instance, name, value)


def _community_by_slug(value: Community | str) -> Community:
    return by_natural_key(Community, value, key="slug", field="community")


def _contract_by_reference(value: ServiceContract | str) -> ServiceContract:
    return by_natural_key(ServiceContract, value, key="reference", field="contract", noun="contract")


def payments_total(contract: ServiceContract, *, excluding: Iterable[int] = ()) -> Decimal:
    """The sum of a contract's stored payments, leaving out the ids in ``excluding``."""
    if contract.pk is None:
        return ZERO
    payments = ContractPayment.objects.filter(contract_id=contract.pk)
    excluding = [pk for pk in excluding if pk is not None]
    if excluding:
        payments = payments.exclude(pk__in=excluding)
    # Quantized: SQLite sums decimals as floats, which may leave a hair past the cent.
    return quantize(payments.aggregate(total=Sum("amount"))["total"] or ZERO)


def _lock(contract: ServiceContract) -> None:
    """Take the contract's row lock until the end of the transaction (PostgreSQL).

    Writes that change a contract's payments or its total value take turns on the contract row,
    so two payments added at once cannot both fit under the total. Outside a transaction there
    is nothing to hold a lock for (the rules then run unlocked, as on SQLite, which serializes
    writes anyway).
    """
    if contract.pk is None or not transaction.get_connection().in_atomic_block:
        return
    list(ServiceContract.objects.select_for_update().filter(pk=contract.pk).values_list("pk", flat=True))


# --- contracts -------------------------------------------------------------------------------


def contract_validate(contract: ServiceContract) -> None:
    """Dates in order, signed contracts dated, probability a percentage, value covering payments."""
    errors: dict[str, str] = {}
    if contract.status == ContractStatus.SIGNED and contract.signed_on is None:
        errors["signed_on"] = "A signed contract needs the date it was signed."
    if contract.start_on and contract.end_on and contract.end_on < contract.start_on:
        errors["end_on"] = f"The contract ends on {contract.end_on} before it starts on {contract.start_on}."
    if contract.probability is not None and not 0 <= contract.probability <= 100:
        errors["probability"] = f"The probability is a percentage from 0 to 100, not {contract.probability}."
    if contract.total_value is not None and contract.pk is not None:
        _lock(contract)
        paid_in = payments_total(contract)
        if paid_in > contract.total_value:
            errors["total_value"] = (
                f"The payments of contract {contract.reference} already sum to "
                f"{money(paid_in, contract.currency)}: the total value cannot be "
                f"{money(contract.total_value, contract.currency)}, "
                f"{money(paid_in - contract.total_value, contract.currency)} less than that."
            )
    if errors:
        raise ValidationError(errors)


CONTRACT_FIELDS = frozenset(
    {
        "reference",
        "community",
        "category",
        "status",
        "probability",
        "signed_on",
        "start_on",
        "end_on",
        "total_value",
        "currency",
    }
)
CONTRACT_PAYMENT_FIELDS = frozenset({"contract", "due_on", "amount", "paid_on"})


@transaction.atomic
def contract_create(
    *,
    reference: str,
    community: Community | str,
    category: str,
    start_on: date,
    end_on: date,
    total_value: Decimal,
    status: str = ContractStatus.PROPOSED,
    probability: int = 100,
    signed_on: date | None = None,
    currency: str | None = None,
) -> ServiceContract:
    """Create a contract; ``community`` is one or its slug, ``currency`` defaults to reporting."""
    contract = ServiceContract(
        reference=reference,
        community=_community_by_slug(community),
        category=category,
        status=status,
        probability=probability,
        signed_on=signed_on,
        start_on=start_on,
        end_on=end_on,
        total_value=total_value,
    )
    if currency:
        contract.currency = currency
    contract.full_clean()
    contract.save()
    return contract


@transaction.atomic
def contract_update(*, contract: ServiceContract, data: Mapping[str, Any]) -> ServiceContract:
    """Change the fields named in ``data`` (any of :data:`CONTRACT_FIELDS`)."""
    data = dict(data)
    if "community" in data:
        data["community"] = _community_by_slug(data["community"])
    # contract_validate locks the contract row before it sums the payments.
    _assign(contract, data, CONTRACT_FIELDS)
    contract.full_clean()
    contract.save()
    return contract


# --- payments --------------------------------------------------------------------------------


def _over_total_error(contract: ServiceContract, total: Decimal) -> str:
    return (
        f"The payments of contract {contract.reference} would sum to "
        f"{money(total, contract.currency)}, {money(total - contract.total_value, contract.currency)} "
        f"over its total value of {money(contract.total_value, contract.currency)}."
    )


def contract_payments_validate(
    *, contract: ServiceContract, amounts: Iterable[Decimal], replacing: Iterable[int] = ()
) -> None:
    """Refuse a set of payments that would take the contract past its ``total_value``.

    ``amounts`` are the new values of a set edited together; ``replacing`` are the ids of the
    stored payments that set replaces (edited or deleted), which are left out of the stored sum.
    """
    if contract.total_value is None:
        return
    _lock(contract)
    total = payments_total(contract, excluding=replacing) + sum(
        (amount for amount in amounts if amount is not None), ZERO
    )
    if total > contract.total_value:
        raise ValidationError({"amount": _over_total_error(contract, total)})


def contract_payment_validate(payment: ContractPayment) -> None:
    """A positive amount, and a contract's payments never summing past its total value."""
    if payment.amount is not None and payment.amount <= ZERO:
        raise ValidationError({"amount": f"A payment must be more than 0.00, not {payment.amount}."})
    if payment.contract_id is None or payment.amount is None or getattr(payment, CHECKED_AS_A_SET, False):
        return
    contract_payments_validate(contract=payment.contract, amounts=[payment.amount], replacing=[payment.pk])


@transaction.atomic
def contract_payment_create(
    *, contract: ServiceContract | str, due_on: date, amount: Decimal, paid_on: date | None = None
) -> ContractPayment:
    """Add one payment to a contract (one or its reference), within the contract's total value."""
    contract = _contract_by_reference(contract)
    # contract_payment_validate locks the contract row before it sums the payments.
    payment = ContractPayment(contract=contract, due_on=due_on, amount=amount, paid_on=paid_on)
    payment.full_clean()
    payment.save()
    return payment


@transaction.atomic
def contract_payment_update(*, contract_payment: ContractPayment, data: Mapping[str, Any]) -> ContractPayment:
    """Change the fields named in ``data`` (any of :data:`CONTRACT_PAYMENT_FIELDS`)."""
    data = dict(data)
    if "contract" in data:
        data["contract"] = _contract_by_reference(data["contract"])
    _assign(contract_payment, data, CONTRACT_PAYMENT_FIELDS)
    contract_payment.full_clean()
    contract_payment.save()
    return contract_payment


# --- schedules -------------------------------------------------------------------------------


def schedule_dates(
    *, start_on: date, end_on: date, plan: str, first_due_on: date | None = None
) -> list[date]:
    """The due dates of a plan: one per period that starts before ``end_on``, at least one.

    Each date is computed from the first one (not from the previous), so a schedule that starts
    on the 31st comes back to the 31st after a short month.
    """
    first = first_due_on or start_on
    if plan == BillingPlan.UPFRONT:
        return [first]
    months = PLAN_MONTHS[BillingPlan(plan)]
    count = 0
    # A period starting on the last day is not counted: with calendar clipping, 31 January to
    # 30 April would otherwise hold a fourth "month" of one day.
    while start_on + relativedelta(months=months * count) < end_on:
        count += 1
    return [first + relativedelta(months=months * k) for k in range(max(count, 1))]


def split_amount(total: Decimal, count: int) -> list[Decimal]:
    """``count`` amounts summing exactly to ``total``: equal cents, the rounding cent last."""
    share = (total / count).quantize(CENT, rounding=ROUND_DOWN)
    return [share] * (count - 1) + [total - share * (count - 1)]


@transaction.atomic
def contract_schedule_create(
    *, contract: ServiceContract, plan: BillingPlan | str, first_due_on: date | None = None
) -> list[ContractPayment]:
    """Create the payments of ``contract`` under a billing plan, summing exactly to its value.

    Upfront is one payment; monthly, quarterly and annual are one payment per period starting
    within the contract's term, the first due on ``first_due_on`` (default: the start date).
    Refused when the contract already has payments.
    """
    try:
        plan = BillingPlan(plan)
    except ValueError:
        raise ValidationError(
            {"plan": f"{plan!r} is not a billing plan; choose one of {', '.join(BillingPlan.values)}."}
        ) from None
    _lock(contract)
    existing = ContractPayment.objects.filter(contract_id=contract.pk).count()
    if existing:
        raise ValidationError(
            {
                "payments": f"Contract {contract.reference} already has {existing} "
                f"payment{'s' if existing != 1 else ''}; delete them before creating a schedule."
            }
        )
    dates = schedule_dates(
        start_on=contract.start_on, end_on=contract.end_on, plan=plan, first_due_on=first_due_on
    )
    amounts = split_amount(contract.total_value, len(dates))
    if amounts[0] <= ZERO:
        raise ValidationError(
            {
                "total_value": f"The total value of contract {contract.reference}, "
                f"{money(contract.total_value, contract.currency)}, is too small for "
                f"{len(dates)} {plan.label.lower()} payments of at least 0.01."
            }
        )
    payments = []
    for due_on, amount in zip(dates, amounts, strict=True):
        payment = ContractPayment(contract=contract, due_on=due_on, amount=amount)
        # Each payment is checked against those saved before it, so the set never exceeds.
        payment.full_clean()
        payment.save()
        payments.append(payment)
    return payments
